// The README's C++ example, compiled and run here; a test checks the README copy is identical.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"

namespace {

// example-begin readme
// An activation and its derivative in one pass over host memory.
void example() {
  const actgrad::Activation act = actgrad::Activation::parse("leaky_relu:negative_slope=0.2");
  const float x[4] = {-2.0f, -0.5f, 0.0f, 3.0f};
  float y[4], dydx[4];
  actgrad::forward_with_derivative(act, actgrad::view(x, 4), actgrad::view(y, 4),
                                   actgrad::view(dydx, 4));
  // y = {-0.4, -0.1, 0, 3}, dydx = {0.2, 0.2, 0.2, 1}: leaky_relu'(0) = slope, as in PyTorch.

  // Buffers own memory; Device::automatic() is a GPU when one is usable, else the CPU.
  actgrad::Buffer xs(actgrad::DType::f32, 1 << 20), grad(actgrad::DType::f32, 1 << 20);
  actgrad::Buffer g(actgrad::DType::f32, 1 << 20);
  for (int i = 0; i < (1 << 20); ++i) {
    xs.as<float>()[i] = float(i % 200 - 100) / 25.0f;
    g.as<float>()[i] = 1.0f;
  }
  actgrad::backward(actgrad::Activation::parse("gelu"), xs.view(), g.view(), grad.view());
}
// example-end readme

std::string between(const std::string& text, const std::string& begin, const std::string& end) {
  const std::size_t b = text.find(begin);
  const std::size_t e = text.find(end, b == std::string::npos ? 0 : b);
  if (b == std::string::npos || e == std::string::npos) return "";
  const std::size_t start = text.find('\n', b) + 1;
  return text.substr(start, text.rfind('\n', e) + 1 - start);
}

TEST(Examples, ReadmeExampleRunsAndMatchesThisFile) {
  example();
  std::ifstream readme(ACTGRAD_README), self(__FILE__);
  ASSERT_TRUE(readme && self) << "cannot open " << ACTGRAD_README << " or " << __FILE__;
  std::stringstream r, s;
  r << readme.rdbuf();
  s << self.rdbuf();
  const std::string code = between(s.str(), "// example-begin readme", "// example-end readme");
  ASSERT_FALSE(code.empty());
  EXPECT_NE(r.str().find(code), std::string::npos)
      << "README.md must contain the example exactly as in tests/test_examples.cpp:\n"
      << code;
}

} // namespace
