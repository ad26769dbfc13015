// ReLU family functors: piecewise-linear rectifiers and shrinkers (SPEC §2, PyTorch conventions).
//
// Conventions shared by this file: every comparison is written so that a NaN input falls through
// to an explicit NaN return for both f and f' (PyTorch's backward kernels return the incoming
// gradient for NaN inputs of clamp-like functions; SPEC §3 asks for NaN out instead). All values
// here are exact or one correctly rounded operation (x * slope, x -/+ lambd, x * x, 2 x), so f and
// f' are within 0.5 ulp. Measured max error: see docs/accuracy.md.
#pragma once

#include <limits>

#include "actgrad/functors/base.hpp"

namespace actgrad {
namespace detail {
namespace relu_family {

constexpr double kInf = std::numeric_limits<double>::infinity();

// clamp(x, lo, hi) with PyTorch's hardtanh_backward derivative: 1 strictly inside (lo, hi), 0 at
// and beyond both bounds. NaN gives NaN for both.
template <class T>
ACTGRAD_HOST_DEVICE Fused<T> clamp_fused(T x, T lo, T hi) {
  if (x > lo && x < hi) return {x, T(1)};
  if (x <= lo) return {lo, T(0)};
  if (x >= hi) return {hi, T(0)};
  return {x, x}; // NaN
}

// f' of clamp from its output: y strictly inside (lo, hi) came from x = y (f' = 1); y at a bound
// came from x at or beyond it (f' = 0).
template <class T>
ACTGRAD_HOST_DEVICE T clamp_derivative_from_output(T y, T lo, T hi) {
  return math::isnan(y) ? y : (y > lo && y < hi ? T(1) : T(0));
}

} // namespace relu_family
} // namespace detail

// identity: f(x) = x, f'(x) = 1.
template <class T>
struct IdentityOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"x",
            "1",
            "PyTorch torch.nn.Identity",
            "",
            0,
            {},
            {1, 1, 1, Saturation::none, Saturation::none, true, true}};
  }
  explicit IdentityOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return x; }
  // NaN in gives NaN out for the derivative too (SPEC §3).
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const { return {x, math::isnan(x) ? x : T(1)}; }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return math::isnan(y) ? y : T(1); }
};

// relu: f(x) = max(0, x); f'(x) = 1 if x > 0 else 0, so relu'(0) = 0 as in PyTorch autograd.
// NaN propagates to f and f'. Nair & Hinton 2010.
template <class T>
struct ReluOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"max(0, x)",
            "1 if x > 0 else 0 (relu'(0) = 0, PyTorch)",
            "Nair & Hinton 2010; PyTorch torch.nn.functional.relu",
            "",
            0,
            {},
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

// leaky_relu(negative_slope = 0.01): f(x) = x if x > 0 else negative_slope * x.
// f'(x) = 1 if x > 0 else negative_slope, so leaky_relu'(0) = negative_slope (PyTorch autograd).
// Valid for every finite slope; f(-inf) is the limit 0 (not 0 * inf) when the slope is 0.
// From y: 1 if y > 0 else slope, defined when slope >= 0 (a negative slope maps x < 0 to y > 0).
// Maas et al. 2013, "Rectifier Nonlinearities Improve Neural Network Acoustic Models";
// PyTorch torch.nn.functional.leaky_relu. Measured max error: see docs/accuracy.md.
template <class T>
struct LeakyReluOp : ActBase {
  static constexpr bool kFromOutput = true;
  T slope;
  explicit LeakyReluOp(const Params& p) : slope(T(p[0])) {}
  static ActMeta meta() {
    using detail::relu_family::kInf;
    return {"x if x > 0 else negative_slope * x",
            "1 if x > 0 else negative_slope (f'(0) = negative_slope, PyTorch)",
            "Maas et al. 2013; PyTorch torch.nn.functional.leaky_relu",
            "",
            1,
            {{"negative_slope", 0.01, -kInf, kInf, true, true, "slope for x <= 0"}},
            {0.01, 1, 0.01, Saturation::none, Saturation::none, true, true}};
  }
  static bool from_output_ok(const Params& p) { return p[0] >= 0; }
  ACTGRAD_HOST_DEVICE T negative_part(T x) const { return slope == T(0) ? T(0) : slope * x; }
  ACTGRAD_HOST_DEVICE T forward(T x) const {
    return x > T(0) ? x : (math::isnan(x) ? x : negative_part(x));
  }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x > T(0)) return {x, T(1)};
    if (math::isnan(x)) return {x, x};
    return {negative_part(x), slope};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return math::isnan(y) ? y : (y > T(0) ? T(1) : slope);
  }
};

// relu6: f(x) = min(max(x, 0), 6) = hardtanh(x, 0, 6).
// f'(x) = 1 strictly inside (0, 6) and 0 at both bounds and beyond (PyTorch hardtanh_backward),
// so relu6'(0) = relu6'(6) = 0. From y: 1 if 0 < y < 6 else 0.
// Krizhevsky 2010, "Convolutional Deep Belief Networks on CIFAR-10"; PyTorch F.relu6.
// Measured max error: see docs/accuracy.md.
template <class T>
struct Relu6Op : ActBase {
  static constexpr bool kFromOutput = true;
  static constexpr double kCap = 6; // the upper bound in the name
  explicit Relu6Op(const Params&) {}
  static ActMeta meta() {
    return {"min(max(x, 0), 6)",
            "1 if 0 < x < 6 else 0 (0 at both bounds, PyTorch)",
            "Krizhevsky 2010; PyTorch torch.nn.functional.relu6",
            "",
            0,
            {},
            {0, 1, 0, Saturation::hard, Saturation::hard, true, false}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    return detail::relu_family::clamp_fused(x, T(0), T(kCap));
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return detail::relu_family::clamp_derivative_from_output(y, T(0), T(kCap));
  }
};

// hardtanh(min_val = -1, max_val = 1), alias clip: f(x) = min(max(x, min_val), max_val).
// f'(x) = 1 strictly inside (min_val, max_val), 0 at both bounds and beyond (PyTorch
// hardtanh_backward). Requires min_val < max_val. From y: 1 if min_val < y < max_val else 0.
// Collobert 2004 (thesis, "HardTanh"); PyTorch torch.nn.functional.hardtanh.
// Measured max error: see docs/accuracy.md.
template <class T>
struct HardtanhOp : ActBase {
  static constexpr bool kFromOutput = true;
  T lo, hi;
  explicit HardtanhOp(const Params& p) : lo(T(p[0])), hi(T(p[1])) {}
  static ActMeta meta() {
    using detail::relu_family::kInf;
    return {"min(max(x, min_val), max_val)",
            "1 if min_val < x < max_val else 0 (0 at both bounds, PyTorch)",
            "Collobert 2004; PyTorch torch.nn.functional.hardtanh",
            "clip",
            2,
            {{"min_val", -1, -kInf, kInf, true, true, "lower bound"},
             {"max_val", 1, -kInf, kInf, true, true, "upper bound (> min_val)"}},
            {0, 1, 1, Saturation::hard, Saturation::hard, true, true}};
  }
  static const char* validate(const Params& p) {
    return p[0] < p[1] ? nullptr : "min_val must be less than max_val";
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    return detail::relu_family::clamp_fused(x, lo, hi);
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return detail::relu_family::clamp_derivative_from_output(y, lo, hi);
  }
};

// threshold(threshold = 0, value = 0): f(x) = x if x > threshold else value.
// f'(x) = 1 if x > threshold else 0 (PyTorch threshold_backward: 0 at x = threshold).
// From y: 1 if y > threshold else 0, defined when value <= threshold (otherwise y = value is
// reached from both branches). PyTorch torch.nn.functional.threshold.
// Measured max error: see docs/accuracy.md.
template <class T>
struct ThresholdOp : ActBase {
  static constexpr bool kFromOutput = true;
  T th, value;
  explicit ThresholdOp(const Params& p) : th(T(p[0])), value(T(p[1])) {}
  static ActMeta meta() {
    using detail::relu_family::kInf;
    return {"x if x > threshold else value",
            "1 if x > threshold else 0 (0 at x = threshold, PyTorch)",
            "PyTorch torch.nn.functional.threshold",
            "",
            2,
            {{"threshold", 0, -kInf, kInf, true, true, "x must exceed it to pass"},
             {"value", 0, -kInf, kInf, true, true, "output for x <= threshold"}},
            {0, 1, 0, Saturation::hard, Saturation::none, true, false}};
  }
  static bool from_output_ok(const Params& p) { return p[1] <= p[0]; }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x > th) return {x, T(1)};
    if (math::isnan(x)) return {x, x};
    return {value, T(0)};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return math::isnan(y) ? y : (y > th ? T(1) : T(0));
  }
};

// hardshrink(lambd = 0.5): f(x) = x if |x| > lambd else 0.
// f'(x) = 1 if |x| > lambd else 0, so f' = 0 at x = +-lambd (PyTorch hardshrink_backward).
// lambd >= 0. From y: 0 if y == 0 else 1 (y = 0 only from [-lambd, lambd]).
// PyTorch torch.nn.functional.hardshrink. Measured max error: see docs/accuracy.md.
template <class T>
struct HardshrinkOp : ActBase {
  static constexpr bool kFromOutput = true;
  T lambd;
  explicit HardshrinkOp(const Params& p) : lambd(T(p[0])) {}
  static ActMeta meta() {
    using detail::relu_family::kInf;
    return {"x if |x| > lambd else 0",
            "1 if |x| > lambd else 0 (0 at x = +-lambd, PyTorch)",
            "PyTorch torch.nn.functional.hardshrink",
            "",
            1,
            {{"lambd", 0.5, 0, kInf, false, true, "half-width of the zeroed band"}},
            {0, 1, 0, Saturation::none, Saturation::none, true, true}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x >= -lambd && x <= lambd) return {T(0), T(0)};
    return {x, math::isnan(x) ? x : T(1)};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return math::isnan(y) ? y : (y == T(0) ? T(0) : T(1));
  }
};

// softshrink(lambd = 0.5): f(x) = x - lambd if x > lambd, x + lambd if x < -lambd, else 0.
// f'(x) = 1 if |x| > lambd else 0, so f' = 0 at x = +-lambd (PyTorch softshrink_backward).
// lambd >= 0. From y: 0 if y == 0 else 1 (x -+ lambd is exactly 0 only at x = +-lambd).
// Donoho 1995 (soft thresholding); PyTorch torch.nn.functional.softshrink.
// Measured max error: see docs/accuracy.md.
template <class T>
struct SoftshrinkOp : ActBase {
  static constexpr bool kFromOutput = true;
  T lambd;
  explicit SoftshrinkOp(const Params& p) : lambd(T(p[0])) {}
  static ActMeta meta() {
    using detail::relu_family::kInf;
    return {"x - lambd if x > lambd, x + lambd if x < -lambd, else 0",
            "1 if |x| > lambd else 0 (0 at x = +-lambd, PyTorch)",
            "Donoho 1995; PyTorch torch.nn.functional.softshrink",
            "",
            1,
            {{"lambd", 0.5, 0, kInf, false, true, "shrinkage towards 0"}},
            {0, 1, 0, Saturation::none, Saturation::none, true, true}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x > lambd) return {x - lambd, T(1)};
    if (x < -lambd) return {x + lambd, T(1)};
    if (math::isnan(x)) return {x, x};
    return {T(0), T(0)};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return math::isnan(y) ? y : (y == T(0) ? T(0) : T(1));
  }
};

// rrelu(lower = 1/8, upper = 1/3) in evaluation mode: leaky_relu with the fixed slope
// (lower + upper) / 2 (11/48 at the defaults), as PyTorch's F.rrelu(training=False).
// f'(x) = 1 if x > 0 else the slope (f'(0) = slope, as leaky_relu). Requires lower <= upper;
// from y defined when the slope is >= 0. Xu et al. 2015, "Empirical Evaluation of Rectified
// Activations in Convolutional Network". Measured max error: see docs/accuracy.md.
template <class T>
struct RreluOp : LeakyReluOp<T> {
  static constexpr double kLower = 1.0 / 8, kUpper = 1.0 / 3; // PyTorch defaults
  static constexpr double kSlope = (kLower + kUpper) / 2;     // 11/48
  static double slope_of(const Params& p) { return (p[0] + p[1]) / 2; }
  explicit RreluOp(const Params& p) : LeakyReluOp<T>(Params{{slope_of(p)}}) {}
  static ActMeta meta() {
    using detail::relu_family::kInf;
    return {"x if x > 0 else (lower + upper) / 2 * x (evaluation mode)",
            "1 if x > 0 else (lower + upper) / 2 (f'(0) = slope, PyTorch)",
            "Xu et al. 2015; PyTorch torch.nn.functional.rrelu(training=False)",
            "",
            2,
            {{"lower", kLower, -kInf, kInf, true, true, "lower bound of the slope (<= upper)"},
             {"upper", kUpper, -kInf, kInf, true, true, "upper bound of the slope"}},
            {kSlope, 1, kSlope, Saturation::none, Saturation::none, true, true}};
  }
  static const char* validate(const Params& p) {
    return p[0] <= p[1] ? nullptr : "lower must not exceed upper";
  }
  static bool from_output_ok(const Params& p) { return slope_of(p) >= 0; }
};

// squared_relu: f(x) = max(0, x)^2; f'(x) = 2 max(0, x), so f'(0) = 0 (f is C^1 at 0).
// Overflows to inf only where the true value exceeds the largest finite number (|x| > ~1.8e19
// in f32). From y: 2 sqrt(y); it loses accuracy where y underflows (x < ~1e-19 in f32) and
// gives inf where y overflowed. So et al. 2021, "Primer: Searching for Efficient Transformers
// for Language Modeling" (also Transformer Engine "srelu"). Measured max error: see
// docs/accuracy.md. Used as the gate of the sreglu unit.
template <class T>
struct SquaredReluOp : ActBase {
  static constexpr bool kFromOutput = true;
  explicit SquaredReluOp(const Params&) {}
  static ActMeta meta() {
    using detail::relu_family::kInf;
    return {"max(0, x)^2",
            "2 max(0, x) (f'(0) = 0)",
            "So et al. 2021 (Primer); Transformer Engine srelu",
            "",
            0,
            {},
            {0, kInf, 0, Saturation::hard, Saturation::none, true, false}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x > T(0)) return {x * x, T(2) * x};
    if (math::isnan(x)) return {x, x};
    return {T(0), T(0)};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return T(2) * math::sqrt(y); }
};

} // namespace actgrad
