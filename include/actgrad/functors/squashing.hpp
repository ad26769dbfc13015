// Squashing functors: bounded S-shaped activations (sigmoid, tanh and relatives).
#pragma once

#include "actgrad/functors/base.hpp"

namespace actgrad {

// sigmoid: f(x) = 1 / (1 + exp(-x)); f'(x) = f(x) (1 - f(x)) = sigmoid(x) sigmoid(-x), in (0, 1/4].
// Both factors are computed without cancellation: 1 - sigmoid(x) is taken as sigmoid(-x).
template <class T>
struct SigmoidOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"1 / (1 + exp(-x))", "f (1 - f)", "PyTorch torch.sigmoid", "", 0, {},
            {0, 0.25, 0.25, Saturation::soft, Saturation::soft, true, false}};
  }
  explicit SigmoidOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return math::sigmoid(x); }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    const T e = math::exp(-math::fabs(x));
    const T r = T(1) / (T(1) + e);
    const T big = r, small = e * r; // sigmoid(|x|), sigmoid(-|x|)
    return {x >= T(0) ? big : (math::isnan(x) ? x : small), big * small};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return y * (T(1) - y); }
};

// tanh: f'(x) = 1 - tanh(x)^2.
template <class T>
struct TanhOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"tanh(x)", "1 - tanh(x)^2", "PyTorch torch.tanh", "", 0, {},
            {0, 1, 1, Saturation::soft, Saturation::soft, true, true}};
  }
  explicit TanhOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return math::tanh(x); }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    const T t = math::tanh(x);
    return {t, (T(1) - t) * (T(1) + t)};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return (T(1) - y) * (T(1) + y); }
};

} // namespace actgrad
