// Consumer check: links the installed actgrad and computes sigmoid and its derivative at 0.
#include <cstdio>

#include <actgrad/actgrad.hpp>

int main() {
  const actgrad::Activation act = actgrad::Activation::parse("sigmoid");
  const float x = 0.0f;
  float y = 0, dydx = 0;
  actgrad::forward_with_derivative(act, actgrad::view(&x, 1), actgrad::view(&y, 1),
                                   actgrad::view(&dydx, 1));
  if (y != 0.5f || dydx != 0.25f) {
    std::fprintf(stderr, "consumer: sigmoid(0) = %g, sigmoid'(0) = %g; expected 0.5, 0.25\n", y,
                 dydx);
    return 1;
  }
  std::printf("consumer: find_package(actgrad) works: sigmoid(0) = %g, sigmoid'(0) = %g\n", y,
              dydx);
  return 0;
}
