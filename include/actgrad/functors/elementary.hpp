// Elementary functors as in oneDNN eltwise: linear, square, abs, sqrt, exp, log, pow.
//
// Definitions follow oneDNN's eltwise algorithms (linear: alpha x + beta, pow: alpha x^beta);
// derivatives at the special points follow PyTorch autograd where PyTorch has the function.
// Measured max error: see docs/accuracy.md.
#pragma once

#include <cmath>
#include <limits>

#include "actgrad/functors/base.hpp"

namespace actgrad {
namespace detail {
namespace elementary {

constexpr double kInf = std::numeric_limits<double>::infinity();

} // namespace elementary
} // namespace detail

// linear(alpha = 1, beta = 0): f(x) = alpha x + beta; f'(x) = alpha (oneDNN eltwise_linear).
// Two roundings (as oneDNN; no FMA, so the CPU loop stays vectorisable), so near the zero
// x = -beta / alpha the error is bounded absolutely, by 1 ulp of |alpha x| + |beta| (SPEC §3),
// not relatively; alpha x may overflow when f itself is just below the largest finite value.
// alpha = 0 gives beta for every non-NaN x (no 0 * inf). f' from y is alpha.
// oneDNN dnnl_eltwise_linear.
// Measured max error: see docs/accuracy.md.
template <class T>
struct LinearOp : ActBase {
  static constexpr bool kFromOutput = true;
  T alpha, beta;
  explicit LinearOp(const Params& p) : alpha(T(p[0])), beta(T(p[1])) {}
  static ActMeta meta() {
    using detail::elementary::kInf;
    return {"alpha * x + beta",
            "alpha",
            "oneDNN eltwise_linear",
            "",
            2,
            {{"alpha", 1, -kInf, kInf, true, true, "slope"},
             {"beta", 0, -kInf, kInf, true, true, "offset"}},
            {1, 1, 1, Saturation::none, Saturation::none, true, true}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const {
    return alpha == T(0) ? (math::isnan(x) ? x : beta) : alpha * x + beta;
  }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const { return {forward(x), math::isnan(x) ? x : alpha}; }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return math::isnan(y) ? y : alpha; }
};

// square: f(x) = x^2; f'(x) = 2x (oneDNN eltwise_square). One rounding each; overflow only where
// the true value overflows. No derivative from y (the sign of x is lost).
// Measured max error: see docs/accuracy.md.
template <class T>
struct SquareOp : ActBase {
  explicit SquareOp(const Params&) {}
  static ActMeta meta() {
    using detail::elementary::kInf;
    return {"x^2",
            "2 x",
            "oneDNN eltwise_square",
            "",
            0,
            {},
            {-kInf, kInf, 0, Saturation::none, Saturation::none, false, false}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return x * x; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const { return {x * x, T(2) * x}; }
};

// abs: f(x) = |x|; f'(x) = sign(x) with f'(+-0) = 0, as PyTorch's abs backward (grad * sgn(x)).
// f'(NaN) = NaN (PyTorch's sgn returns 0 for NaN, pytorch/pytorch#41245, which SPEC §3 does not
// follow). No derivative from y (the sign of x is lost). oneDNN eltwise_abs; PyTorch torch.abs.
// Exact. Measured max error: see docs/accuracy.md.
template <class T>
struct AbsOp : ActBase {
  explicit AbsOp(const Params&) {}
  static ActMeta meta() {
    return {"|x|",
            "sign(x) (f'(0) = 0, PyTorch)",
            "oneDNN eltwise_abs; PyTorch torch.abs",
            "",
            0,
            {},
            {-1, 1, 0, Saturation::none, Saturation::none, false, false}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return math::fabs(x); }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    const T d = x > T(0) ? T(1) : (x < T(0) ? T(-1) : (math::isnan(x) ? x : T(0)));
    return {math::fabs(x), d};
  }
};

// sqrt: f(x) = sqrt(x), NaN for x < 0 (as PyTorch); f'(x) = 1 / (2 sqrt(x)) with f'(+-0) = +inf
// and f'(+inf) = 0; NaN for x < 0. From y: 1 / (2|y|) (so y = -0 from x = -0 also gives +inf).
// Within 1 ulp: sqrt is correctly rounded, f' adds one division. oneDNN eltwise_sqrt.
// Measured max error: see docs/accuracy.md.
template <class T>
struct SqrtOp : ActBase {
  static constexpr bool kFromOutput = true;
  explicit SqrtOp(const Params&) {}
  static ActMeta meta() {
    using detail::elementary::kInf;
    return {"sqrt(x) (NaN for x < 0)",
            "1 / (2 sqrt(x)) (f'(0) = +inf)",
            "oneDNN eltwise_sqrt; PyTorch torch.sqrt",
            "",
            0,
            {},
            {0, kInf, kInf, Saturation::none, Saturation::soft, true, false}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return math::sqrt(x); }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    const T y = math::sqrt(x);
    return {y, derivative_from_output(y)};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return T(0.5) / math::fabs(y); }
};

// exp: f(x) = exp(x); f'(x) = exp(x); from y: y. Overflows to inf only where the true value does
// (x > ~88.7 in f32). oneDNN eltwise_exp. Measured max error: see docs/accuracy.md.
template <class T>
struct ExpOp : ActBase {
  static constexpr bool kFromOutput = true;
  explicit ExpOp(const Params&) {}
  static ActMeta meta() {
    using detail::elementary::kInf;
    return {"exp(x)",
            "exp(x)",
            "oneDNN eltwise_exp; PyTorch torch.exp",
            "",
            0,
            {},
            {0, kInf, 1, Saturation::soft, Saturation::none, true, false}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return math::exp(x); }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    const T e = math::exp(x);
    return {e, e};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return y; }
};

// log: f(x) = log(x), log(+-0) = -inf, NaN for x < 0 (as PyTorch). f'(x) = 1/x with
// f'(+-0) = +inf and f'(+inf) = 0; NaN for x < 0 (PyTorch's backward returns 1/x there; outside
// the domain we return NaN like f). 1/x overflows only for subnormal x, where the true value does.
// From y: exp(-y); that amplifies the rounding of y by |y| (about 70 ulp of f' at x = 1e30 in
// f32), which is inherent in knowing y only. oneDNN eltwise_log.
// Measured max error: see docs/accuracy.md.
template <class T>
struct LogOp : ActBase {
  static constexpr bool kFromOutput = true;
  explicit LogOp(const Params&) {}
  static ActMeta meta() {
    using detail::elementary::kInf;
    return {"log(x) (NaN for x < 0)",
            "1 / x (f'(0) = +inf)",
            "oneDNN eltwise_log; PyTorch torch.log",
            "",
            0,
            {},
            {0, kInf, kInf, Saturation::none, Saturation::soft, true, false}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return math::log(x); }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    return {math::log(x), x >= T(0) ? T(1) / math::fabs(x) : math::quiet_nan<T>()};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return math::exp(-y); }
};

// pow(alpha = 1, beta = 1): f(x) = alpha x^beta; f'(x) = alpha beta x^(beta - 1) (oneDNN
// eltwise_pow). f and f' are NaN for x < 0 (including -inf) when beta is not an integer;
// x^beta = +inf at x = +-0 for beta < 0 (C pow). Exact special cases (no 0 * inf, no
// pow(NaN, 0) = 1): beta = 0 gives {alpha, 0}, beta = 1 gives {alpha x, alpha}, alpha = 0 gives
// {0, 0}; NaN x always gives NaN.
// beta - 1 is split exactly (TwoSum) into bm1 + bm1_lo, and x^(beta-1) = x^bm1 (1 + bm1_lo
// log|x|) to first order, since the rounding of beta - 1 is amplified by |log x| in pow. Where
// x^e overflows but the scaled result may not (|alpha| or |alpha beta| < 1), it is computed as
// (scale |x|^(e/2)) |x|^(e/2). Not from y (x cannot be recovered for even beta).
// Measured max error: see docs/accuracy.md.
template <class T>
struct PowOp : ActBase {
  T alpha, beta, alpha_beta, bm1, bm1_lo;
  bool beta_integer; // x^beta is real for x < 0
  explicit PowOp(const Params& p)
      : alpha(T(p[0])), beta(T(p[1])), alpha_beta(T(p[0] * p[1])), bm1(beta - T(1)),
        beta_integer(std::floor(beta) == beta) {
    // TwoSum (Knuth): beta + (-1) = bm1 + bm1_lo exactly, without assuming |beta| >= 1.
    const T b_part = bm1 - beta;
    const T a_part = bm1 - b_part;
    bm1_lo = (beta - a_part) + (T(-1) - b_part);
  }
  static ActMeta meta() {
    using detail::elementary::kInf;
    return {"alpha * x^beta",
            "alpha * beta * x^(beta - 1) (exact for beta = 0 and 1)",
            "oneDNN eltwise_pow",
            "",
            2,
            {{"alpha", 1, -kInf, kInf, true, true, "scale"},
             {"beta", 1, -kInf, kInf, true, true, "exponent"}},
            {1, 1, 1, Saturation::none, Saturation::none, true, true}};
  }
  // scale * x^e without an intermediate overflow: where x^e overflows but scale * x^e may not
  // (|scale| < 1), it is (scale * |x|^(e/2)) * |x|^(e/2) with the sign of x^e.
  ACTGRAD_HOST_DEVICE static T scaled_pow(T x, T e, T scale) {
    const T p = math::pow(x, e);
    const T ax = math::fabs(x);
    if (math::fabs(p) == math::inf<T>() && ax > T(0) && ax < math::inf<T>()) {
      const T h = math::pow(ax, T(0.5) * e);
      const T v = (scale * h) * h;
      return p < T(0) ? -v : v;
    }
    return scale * p;
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const {
    if (math::isnan(x)) return x;
    if (x < T(0) && !beta_integer) return math::quiet_nan<T>(); // also at -inf, unlike C pow
    if (alpha == T(0)) return T(0);
    return beta == T(0) ? alpha : scaled_pow(x, beta, alpha);
  }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (math::isnan(x)) return {x, x};
    if (x < T(0) && !beta_integer) return {math::quiet_nan<T>(), math::quiet_nan<T>()};
    if (alpha == T(0)) return {T(0), T(0)};
    if (beta == T(0)) return {alpha, T(0)};
    if (beta == T(1)) return {alpha * x, alpha};
    const T y = scaled_pow(x, beta, alpha);
    T d = scaled_pow(x, bm1, alpha_beta);
    const T ax = math::fabs(x);
    if (bm1_lo != T(0) && ax > T(0) && ax < math::inf<T>() && math::fabs(d) < math::inf<T>())
      d += d * (bm1_lo * math::log(ax));
    return {y, d};
  }
};

} // namespace actgrad
