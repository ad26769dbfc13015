// Elementary functors as in oneDNN eltwise: linear, square, abs, sqrt, exp, log, pow.
//
// Definitions follow oneDNN's eltwise algorithms (linear: alpha x + beta, pow: alpha x^beta);
// derivatives at the special points follow PyTorch autograd where PyTorch has the function.
// Measured max error: see docs/accuracy.md.
#pragma once

#include <cmath>
#include <limits>

#include "actgrad/float_math.hpp"
#include "actgrad/functors/base.hpp"
#include "actgrad/functors/squashing.hpp"

namespace actgrad {
namespace detail {
namespace elementary {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- pow in float (f32, f16 and bf16 compute) ---------------------------------------------
// scale |x|^e = exp(e log|x| + log|scale|): an error d in the exponent z is a relative error d in
// the result, and |z| reaches 104 before the result leaves float's range, so log|x| is carried
// as a double-word (about 2^-30 relative) and z too. Folding log|scale| into z keeps
// scale |x|^e finite wherever it is representable, even where |x|^e alone is not.
namespace sq = squashing;

// log(ax) as hi + lo for positive finite ax (subnormals too): ax = 2^e m, m in [sqrt(1/2), sqrt2),
// log m = 2s + s R(s^2) with s = (m - 1)/(m + 1) a double-word quotient (R: float_math's log_r,
// at most 1% of log m), and e log 2 from the three-part ln 2 (e ln2_1 and e ln2_2 exact).
ACTGRAD_HOST_DEVICE sq::Pair<float> log_dw(float ax) {
  const bool sub = ax < 0x1p-126f;
  const float u = sub ? ax * 0x1p23f : ax;
  float e;
  const float f = math::fl::split_log(u, &e); // m = 1 + f exactly
  e = sub ? e - 23.0f : e;
  const sq::Pair<float> s = sq::div(f, sq::divisor(sq::two_sum(2.0f, f))); // 2 + f in [1.7, 2.5]
  sq::Pair<float> l = sq::two_sum(e * math::fl::kLn2A, 2.0f * s.hi);
  l.lo += e * math::fl::kLn2B +
          (2.0f * s.lo + (s.hi * math::fl::log_r(s.hi * s.hi) + e * math::fl::kLn2C));
  return sq::fast_two_sum(l.hi, l.lo);
}

// exp(z.hi + z.lo): 0 below -104, inf above 89; 2^k applied in two exact steps, so a subnormal
// result is rounded once.
ACTGRAD_HOST_DEVICE float exp_dw(sq::Pair<float> z) {
  const math::fl::ExpCore c = math::fl::exp_core(math::fl::clamp_keep_nan(z.hi, -110.0f, 90.0f));
  return math::fl::scale2k(c.hi + (c.lo + (c.hi + c.lo) * z.lo), c.k); // k in [-159, 130]
}

// scale x^e for x not NaN, scale != 0, finite e; the caller handles x < 0 with non-integer e.
// ln_scale = log|scale| as a pair, sign = sign of scale, odd = 1 for an odd integer e, else 0.
// 0^e = 0 (e > 0) or inf (e < 0), inf^e the reverse (C pow), with the signs of x^e and scale.
ACTGRAD_HOST_DEVICE float pow_scaled(float x, float e, float e_lo, sq::Pair<float> ln_scale,
                                     float sign, float odd) {
  const float ax = math::fabs(x);
  const float a0 = ax > 0.0f ? ax : 1.0f; // 0 and inf take their values by the selects below
  const float a1 = a0 < math::inf<float>() ? a0 : 1.0f;
  const sq::Pair<float> l = log_dw(a1);
  sq::Pair<float> z = sq::two_prod(e, l.hi);
  z.lo += e * l.lo + e_lo * l.hi; // e + e_lo is the exact exponent (beta - 1 split exactly)
  const float mag0 = exp_dw(sq::add(z, ln_scale));
  const float mag1 = ax == 0.0f ? (e > 0.0f ? 0.0f : math::inf<float>()) : mag0;
  const float mag = ax == math::inf<float>() ? (e > 0.0f ? math::inf<float>() : 0.0f) : mag1;
  return (sign * (1.0f + odd * (math::copysign(1.0f, x) - 1.0f))) * mag;
}

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
    // alpha = 0: beta for every x but NaN. Keyed by |x| >= w per element, w = 0 or NaN per call
    // (as pow): GCC 12 did not vectorise the f16 loop with a select keyed by alpha == 0.
    const T w = alpha == T(0) ? T(0) : std::numeric_limits<T>::quiet_NaN();
    return math::fabs(x) >= w ? beta : alpha * x + beta;
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
// f32, f16 and bf16 are computed in float without libm: pow_scaled above, with the same special
// cases. Measured max error: see docs/accuracy.md.
template <class T>
struct PowOp : ActBase {
  T alpha, beta, alpha_beta, bm1, bm1_lo;
  bool beta_integer; // x^beta is real for x < 0
  // The float kernel's constants: log|alpha| and log|alpha beta| as pairs, their signs, 1 for an
  // odd integer beta (beta - 1), -inf or 0 (x below it gives NaN: x < 0 for non-integer beta).
  float ln_alpha_hi = 0, ln_alpha_lo = 0, ln_ab_hi = 0, ln_ab_lo = 0;
  float sign_alpha = 1, sign_ab = 1, odd_beta = 0, odd_bm1 = 0, nan_below = 0;
  // 0 where the case holds, NaN where not (see fused()).
  float when_alpha0 = 0, when_beta0 = 0, when_beta1 = 0;
  explicit PowOp(const Params& p)
      : alpha(T(p[0])), beta(T(p[1])), alpha_beta(T(p[0] * p[1])), bm1(beta - T(1)),
        beta_integer(std::floor(beta) == beta) {
    // TwoSum (Knuth): beta + (-1) = bm1 + bm1_lo exactly, without assuming |beta| >= 1.
    const T b_part = bm1 - beta;
    const T a_part = bm1 - b_part;
    bm1_lo = (beta - a_part) + (T(-1) - b_part);
    // 0 where alpha or alpha beta is 0: those cases are exact selects in fused().
    const double la = alpha == T(0) ? 0.0 : std::log(std::fabs(double(alpha)));
    const double lab = p[0] * p[1] == 0 ? 0.0 : std::log(std::fabs(p[0] * p[1]));
    ln_alpha_hi = float(la);
    ln_alpha_lo = float(la - double(ln_alpha_hi));
    ln_ab_hi = float(lab);
    ln_ab_lo = float(lab - double(ln_ab_hi));
    sign_alpha = alpha < T(0) ? -1.0f : 1.0f;
    sign_ab = p[0] * p[1] < 0 ? -1.0f : 1.0f;
    odd_beta = beta_integer && std::fmod(std::fabs(double(beta)), 2.0) == 1.0 ? 1.0f : 0.0f;
    odd_bm1 = beta_integer && std::fmod(std::fabs(double(bm1)), 2.0) == 1.0 ? 1.0f : 0.0f;
    nan_below = beta_integer ? -std::numeric_limits<float>::infinity() : 0.0f;
    const float no = std::numeric_limits<float>::quiet_NaN();
    when_alpha0 = alpha == T(0) ? 0.0f : no;
    when_beta0 = beta == T(0) ? 0.0f : no;
    when_beta1 = beta == T(1) ? 0.0f : no;
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
  // scale * x^e without an intermediate overflow or underflow: where x^e overflows but
  // scale * x^e may not (|scale| < 1), or x^e is subnormal or 0 and scale * x^e may be larger
  // (|scale| > 1 would multiply the subnormal's absolute rounding error), it is
  // (scale * |x|^(e/2)) * |x|^(e/2) with the sign of x^e, rounded once at the end.
  ACTGRAD_HOST_DEVICE static T scaled_pow(T x, T e, T scale) {
    const T p = math::pow(x, e);
    const T ax = math::fabs(x);
    const bool out_of_range =
        math::fabs(p) == math::inf<T>() || !(math::fabs(p) >= std::numeric_limits<T>::min());
    if (out_of_range && ax > T(0) && ax < math::inf<T>()) {
      const T h = math::pow(ax, T(0.5) * e);
      const T v = (scale * h) * h;
      return math::copysign(T(1), p) < T(0) ? -v : v; // p may be -0
    }
    return scale * p;
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const {
    if constexpr (sizeof(T) == sizeof(float)) {
      return fused(x).y;
    } else {
      if (math::isnan(x)) return x;
      if (x < T(0) && !beta_integer) return math::quiet_nan<T>(); // also at -inf, unlike C pow
      if (alpha == T(0)) return T(0);
      return beta == T(0) ? alpha : scaled_pow(x, beta, alpha);
    }
  }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if constexpr (sizeof(T) == sizeof(float)) {
      namespace el = detail::elementary;
      // Selects only, also for the per-call cases alpha = 0, beta = 0 and beta = 1 (a branch
      // would stop the loop from vectorising); the general value is computed and discarded there.
      // GCC 12 vectorises selects keyed by per-element comparisons but not by a per-call bool, so
      // each flag is the comparison |x| >= w with w = 0 (true for every x but NaN) or NaN (true
      // for none); NaN x is overridden last.
      const float y =
          el::pow_scaled(x, beta, 0.0f, {ln_alpha_hi, ln_alpha_lo}, sign_alpha, odd_beta);
      const float d = el::pow_scaled(x, bm1, bm1_lo, {ln_ab_hi, ln_ab_lo}, sign_ab, odd_bm1);
      const float ax = math::fabs(x);
      const float y1 = ax >= when_beta1 ? alpha * x : y;
      const float d1 = ax >= when_beta1 ? alpha : d;
      const float y2 = ax >= when_beta0 ? alpha : y1;
      const float d2 = ax >= when_beta0 ? 0.0f : d1;
      const float y3 = ax >= when_alpha0 ? 0.0f : y2;
      const float d3 = ax >= when_alpha0 ? 0.0f : d2;
      const float bad = x < nan_below ? math::quiet_nan<float>() : x; // NaN where undefined
      return {bad != bad ? bad : y3, bad != bad ? bad : d3};
    } else {
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
  }
};

} // namespace actgrad
