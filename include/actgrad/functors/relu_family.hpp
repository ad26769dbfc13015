// ReLU family functors: piecewise-linear rectifiers and shrinkers (SPEC §2, PyTorch conventions).
#pragma once

#include "actgrad/functors/base.hpp"

namespace actgrad {

// identity: f(x) = x, f'(x) = 1.
template <class T>
struct IdentityOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"x", "1", "PyTorch torch.nn.Identity", "", 0, {},
            {1, 1, 1, Saturation::none, Saturation::none, true, true}};
  }
  explicit IdentityOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return x; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const { return {x, T(1)}; }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T) const { return T(1); }
};

// relu: f(x) = max(0, x); f'(x) = 1 if x > 0 else 0, so relu'(0) = 0 as in PyTorch autograd.
// NaN propagates to f and f'. Nair & Hinton 2010.
template <class T>
struct ReluOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"max(0, x)", "1 if x > 0 else 0 (relu'(0) = 0, PyTorch)",
            "Nair & Hinton 2010; PyTorch torch.nn.functional.relu", "", 0, {},
            {0, 1, 0, Saturation::hard, Saturation::none, true, false}};
  }
  explicit ReluOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return x > T(0) ? x : (math::isnan(x) ? x : T(0)); }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (math::isnan(x)) return {x, x};
    return x > T(0) ? Fused<T>{x, T(1)} : Fused<T>{T(0), T(0)};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return math::isnan(y) ? y : (y > T(0) ? T(1) : T(0));
  }
};

} // namespace actgrad
