// Smooth rectifier functors: elu, selu, celu, softplus, squareplus, sparse_plus.
//
// Where a parameter scales x before an exponential (celu: x / alpha, softplus: beta * x), the
// rounding of that product is amplified by |x| in exp (relative error |u| * 2^-24 at u = -80 is
// ~40 ulp). These functors recover the exact remainder with an FMA (x = u * alpha + rho,
// beta * x = u + rho) and add the first-order correction, so non-default parameters keep the
// accuracy goal. Measured max error: see docs/accuracy.md.
#pragma once

#include <cstdint>
#include <limits>

#include "actgrad/functors/base.hpp"

namespace actgrad {
namespace detail {
namespace smooth {

constexpr double kInf = std::numeric_limits<double>::infinity();

// a * b + c with one rounding, host and device. TODO(lead): belongs in math.hpp as math::fma.
ACTGRAD_HOST_DEVICE float fma(float a, float b, float c) { return ::fmaf(a, b, c); }
ACTGRAD_HOST_DEVICE double fma(double a, double b, double c) { return ::fma(a, b, c); }

// An unevaluated sum hi + lo, |lo| <= ulp(hi) / 2.
template <class T>
struct Pair {
  T hi, lo;
};

// a + b = hi + lo exactly, with no ordering condition on |a| and |b| (Knuth's TwoSum).
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> two_sum(T a, T b) {
  const T hi = a + b;
  const T b_part = hi - a;
  return {hi, (a - (hi - b_part)) + (b - b_part)};
}

// 2^e for e >= 0 as a constant expression.
template <class T>
constexpr T pow2(int e) {
  T r = 1;
  for (int i = 0; i < e; ++i) r *= 2;
  return r;
}

// e^x - 1 and e^x for x <= 0 (or NaN) for 16-bit storage (squashing.hpp's narrow kernels), from
// one exp_lean: e^x - 1 = (2^k - 1) + 2^k w keeps its relative accuracy as x -> 0 (k = 0) and
// 2^k - 1 is exact (2^k is capped at 2^-60, where e^x - 1 rounds to -1); e^x = 2^k1 2^k2 (1 + w)
// with both powers normal.
struct ExpNarrow {
  float em1, e;
};
ACTGRAD_HOST_DEVICE ExpNarrow exp_narrow(float x) {
  const math::fl::ExpLean c = math::fl::exp_lean(x < -104.0f ? -104.0f : (x > 0.0f ? 0.0f : x));
  const float p = math::fl::pow2i(c.k < -60 ? -60 : c.k);
  return {math::fl::madd(p, c.w, p - 1.0f), math::fl::scale2k(1.0f + c.w, c.k)};
}

} // namespace smooth
} // namespace detail

// elu(alpha = 1): f(x) = x if x > 0 else alpha * expm1(x).
// f'(x) = 1 if x > 0 else alpha * exp(x), so elu'(0) = alpha (PyTorch takes the x <= 0 branch).
// Valid for every finite alpha; f(-inf) = -alpha, f'(-inf) = 0. From y: 1 if y > 0 else
// y + alpha (= alpha exp(x)), defined when alpha >= 0; near y = -alpha that subtraction leaves an
// absolute error of about ulp(alpha), because y has already rounded away exp(x).
// Clevert et al. 2016, "Fast and Accurate Deep Network Learning by Exponential Linear Units",
// https://arxiv.org/abs/1511.07289; PyTorch F.elu. Measured max error: see docs/accuracy.md.
template <class T>
struct EluOp : ActBase {
  static constexpr bool kFromOutput = true;
  T alpha;
  explicit EluOp(const Params& p) : alpha(T(p[0])) {}
  static ActMeta meta() {
    using detail::smooth::kInf;
    return {"x if x > 0 else alpha * (exp(x) - 1)",
            "1 if x > 0 else alpha * exp(x) (f'(0) = alpha, PyTorch)",
            "Clevert et al. 2016, arXiv:1511.07289; PyTorch torch.nn.functional.elu",
            "",
            1,
            {{"alpha", 1, -kInf, kInf, true, true, "value approached as x -> -inf is -alpha"}},
            {0, 1, 1, Saturation::soft, Saturation::none, true, true}};
  }
  static bool from_output_ok(const Params& p) { return p[0] >= 0; }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return x > T(0) ? x : alpha * math::expm1(x); }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x > T(0)) return {x, T(1)};
    return {alpha * math::expm1(x), alpha * math::exp(x)}; // NaN falls through to here
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    const float al = float(alpha); // loaded before the selects: a load under one is masked
    const detail::smooth::ExpNarrow e = detail::smooth::exp_narrow(x);
    const bool pos = x > 0.0f;
    return {pos ? x : al * e.em1, 1.0f, pos ? 1.0f : al * e.e, 1.0f};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return y > T(0) ? T(1) : y + alpha; }
};

// selu: f(x) = scale * (x if x > 0 else alpha * expm1(x)) with PyTorch's constants.
// f'(x) = scale if x > 0 else scale * alpha * exp(x), so selu'(0) = scale * alpha ~ 1.7581.
// From y: scale if y > 0 else y + scale * alpha (absolute error ~ulp(scale * alpha) near the
// floor, as elu). Klambauer et al. 2017, "Self-Normalizing Neural Networks",
// https://arxiv.org/abs/1706.02515; PyTorch F.selu. Measured max error: see docs/accuracy.md.
template <class T>
struct SeluOp : ActBase {
  static constexpr bool kFromOutput = true;
  // The fixed point of the paper's mean/variance map (eq. 14), in PyTorch's digits:
  // alpha = -sqrt(2/pi) / (erfc(1/sqrt(2)) exp(1/2) - 1),
  // scale = (1 - erfc(1/sqrt(2)) sqrt(e)) sqrt(2 pi) (2 erfc(sqrt(2)) e^2
  //         + pi erfc(1/sqrt(2))^2 e - 2 (2 + pi) erfc(1/sqrt(2)) sqrt(e) + pi + 2)^(-1/2).
  static constexpr double kAlpha = 1.6732632423543772848170429916717;
  static constexpr double kScale = 1.0507009873554804934193349852946;
  // scale * alpha, the product of the two decimals above evaluated at 50 digits (not the double
  // product, which would add a rounding to the f64 result).
  static constexpr double kScaleAlpha = 1.7580993408473768599402175208123;
  explicit SeluOp(const Params&) {}
  static ActMeta meta() {
    return {"scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha ~ 1.6733, scale ~ 1.0507",
            "scale if x > 0 else scale * alpha * exp(x) (f'(0) = scale * alpha, PyTorch)",
            "Klambauer et al. 2017, arXiv:1706.02515; PyTorch torch.nn.functional.selu",
            "",
            0,
            {},
            {0, kScaleAlpha, kScaleAlpha, Saturation::soft, Saturation::none, true, true}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const {
    return x > T(0) ? T(kScale) * x : T(kScaleAlpha) * math::expm1(x);
  }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x > T(0)) return {T(kScale) * x, T(kScale)};
    return {T(kScaleAlpha) * math::expm1(x), T(kScaleAlpha) * math::exp(x)};
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    const detail::smooth::ExpNarrow e = detail::smooth::exp_narrow(x);
    const bool pos = x > 0.0f;
    return {pos ? float(kScale) * x : float(kScaleAlpha) * e.em1, 1.0f,
            pos ? float(kScale) : float(kScaleAlpha) * e.e, 1.0f};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return y > T(0) ? T(kScale) : y + T(kScaleAlpha);
  }
};

// celu(alpha = 1): f(x) = x if x > 0 else alpha * expm1(x / alpha); alpha > 0.
// f'(x) = 1 if x > 0 else exp(x / alpha), so celu'(0) = 1 (PyTorch takes the x <= 0 branch).
// x / alpha is rounded; its exact remainder rho = x - u alpha (one FMA) gives
// f = alpha expm1(u) + exp(u) rho and f' = exp(u) (1 + rho / alpha) to first order, which keeps
// f' accurate for large |x / alpha| where exp amplifies the rounding of u.
// From y: 1 if y > 0 else y / alpha + 1 (absolute error ~ulp(1) near the floor y = -alpha).
// Barron 2017, "Continuously Differentiable Exponential Linear Units",
// https://arxiv.org/abs/1704.07483; PyTorch F.celu. Measured max error: see docs/accuracy.md.
template <class T>
struct CeluOp : ActBase {
  static constexpr bool kFromOutput = true;
  // alpha + alpha_lo is the double alpha (alpha_lo = 0 in f64): float's rounding of alpha alone
  // would move x / alpha by 2^-24 relative, which e^(x / alpha) turns into |x / alpha| 2^-24
  // (up to 59 ulp of f' at alpha = 0.3, x / alpha = -86.6). inv_alpha = 1/alpha rounded once.
  T alpha, alpha_lo, inv_alpha;
  explicit CeluOp(const Params& p)
      : alpha(T(p[0])), alpha_lo(T(p[0] - double(T(p[0])))), inv_alpha(T(1 / p[0])) {}
  static ActMeta meta() {
    using detail::smooth::kInf;
    return {"x if x > 0 else alpha * (exp(x / alpha) - 1)",
            "1 if x > 0 else exp(x / alpha) (f'(0) = 1, PyTorch)",
            "Barron 2017, arXiv:1704.07483; PyTorch torch.nn.functional.celu",
            "",
            1,
            {{"alpha", 1, 0, kInf, true, true, "value approached as x -> -inf is -alpha"}},
            {0, 1, 1, Saturation::soft, Saturation::none, true, true}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x > T(0)) return {x, T(1)};
    // u ~ x / alpha (<= 0 or NaN) and the remainder rho = x - u alpha, or 0 where u is -inf
    // (x = -inf or overflow) or NaN; f and f' are corrected to first order in rho / alpha, so u
    // need not be the rounded quotient. Float takes the product x (1/alpha) (within 1.5 ulp),
    // rho against alpha + alpha_lo (the FMA part exact), and rho / alpha as rho (1/alpha): no
    // division. f64: the rounded quotient and its exact remainder.
    if constexpr (sizeof(T) == sizeof(float)) {
      const T u = x * inv_alpha;
      const T rho = u > -math::inf<T>() ? detail::smooth::fma(-u, alpha, x) - u * alpha_lo : T(0);
      const math::Expm1Exp<T> m = math::expm1_exp(u);
      return {alpha * m.em1 + (alpha_lo * m.em1 + m.e * rho), m.e + m.e * (rho * inv_alpha)};
    } else {
      const T u = x / alpha;
      const T rho = u > -math::inf<T>() ? detail::smooth::fma(-u, alpha, x) : T(0);
      const math::Expm1Exp<T> m = math::expm1_exp(u);
      return {alpha * m.em1 + m.e * rho, m.e + m.e * (rho / alpha)};
    }
  }
  // x / alpha as x (1/alpha), a product instead of a division (within 1.5 ulp of x / alpha;
  // exact for alpha a power of 2): exp amplifies that by |x / alpha|, below 2^-16.5 relative
  // where e^(x/alpha) is still a normal bf16 (x / alpha > -88) and 2^-19 where it is a normal f16.
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    const float al = float(alpha);
    const detail::smooth::ExpNarrow e = detail::smooth::exp_narrow(x * float(inv_alpha));
    const bool pos = x > 0.0f;
    return {pos ? x : al * e.em1, 1.0f, pos ? 1.0f : e.e, 1.0f};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return y > T(0) ? T(1) : y / alpha + T(1);
  }
};

// softplus(beta = 1, threshold = 20): f(x) = log1p(exp(beta x)) / beta, and f(x) = x where
// beta x > threshold (PyTorch's linear region). The test is on beta x rounded in the compute type
// (float for f32, as PyTorch's float product). f'(x) = sigmoid(beta x), and 1 in the linear region.
// beta > 0.
// Evaluated as max(u, 0) + log1p(exp(-|u|)) with u = beta x (no overflow, no cancellation), plus
// the first-order correction for the exact remainder rho = beta x - u (one FMA).
// From y: 1 where beta y > threshold, else -expm1(-beta y) (= sigmoid(beta x)). Boundary window:
// for beta x in (threshold - log1p(exp(-threshold)), threshold], i.e. a window of width about
// exp(-threshold) ~ 2e-9 below the threshold, beta y already exceeds the threshold and the
// from-output derivative gives 1 where f' = sigmoid(beta x) differs from 1 by < exp(-threshold).
// It is therefore offered only for threshold >= 24 ln 2 ~ 16.6, where that gap is below half an
// f32 ulp of 1 (2^-24); in f64 the window is ~2e-9 wide, i.e. ~1e7 doubles near beta x = 20.
// f64 with beta != 1: dividing by beta can double the ~1 ulp of log1p(exp(u)) in ulps of the
// result (measured <= 2.6 ulp for f, 2.8 for f'; 1.4 and 2.5 at beta = 1); where exp(beta x) is
// subnormal and beta < 1 the error is absolute, about 2^-1074 / beta.
// Dugas et al. 2001, "Incorporating Second-Order Functional Knowledge for Better Option
// Pricing"; PyTorch F.softplus. Measured max error: see docs/accuracy.md.
template <class T>
struct SoftplusOp : ActBase {
  static constexpr bool kFromOutput = true;
  // f32 is computed in float (detail/dispatch.hpp). Dividing by a non-unit beta can double
  // log1p(exp(u))'s error in ulps of f (measured within 2 ulp at beta = 2, docs/accuracy.md),
  // and for beta < 1 exp(beta x) underflows before f does: not yet measured in f32.
  static constexpr double kLn2 = 0.69314718055994530941723212145818; // ln 2
  // Smallest threshold with exp(-threshold) <= 2^-24 (see the boundary window above).
  static constexpr double kMinFromOutputThreshold = 24 * kLn2;
  T beta, threshold;
  T inv_beta; // RN(1/beta): float divides by beta as a product with one correction step
  explicit SoftplusOp(const Params& p)
      : beta(T(p[0])), threshold(T(p[1])), inv_beta(T(1) / T(p[0])) {}
  static ActMeta meta() {
    using detail::smooth::kInf;
    return {"log(1 + exp(beta x)) / beta, x where beta x > threshold",
            "sigmoid(beta x), 1 where beta x > threshold (PyTorch)",
            "Dugas et al. 2001; PyTorch torch.nn.functional.softplus",
            "",
            2,
            {{"beta", 1, 0, kInf, true, true, "sharpness"},
             {"threshold", 20, -kInf, kInf, true, true, "beta x above it is linear"}},
            {0, 1, 0.5, Saturation::soft, Saturation::none, true, false}};
  }
  static bool from_output_ok(const Params& p) { return p[1] >= kMinFromOutputThreshold; }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    const T u = beta * x;
    // beta x = u + rho exactly; 0 where u is infinite (overflow, x = -inf) or NaN.
    const T rho = math::fabs(u) < math::inf<T>() ? detail::smooth::fma(beta, x, -u) : T(0);
    const T e = math::exp(-math::fabs(u)); // in (0, 1]
    const T big = math::recip(T(1) + e);   // sigmoid(|u|)
    const T small = e * big;               // sigmoid(-|u|)
    T l, y;
    const T sig = u > T(0) ? big : small; // sigmoid(u)
    if constexpr (sizeof(T) == sizeof(float)) {
      // Float: log1p's own division replaced by big = 1/(1 + e), and y / beta by a product
      // with one correction step from the exact remainder (exact for beta = 1): two divisions
      // per element instead of four.
      l = math::fl::log1p_unit(e, big);
      const T a = (u > T(0) ? u + l : l) + sig * rho; // softplus(u) + rho sigmoid(u); NaN: l
      // Where a / beta overflows (tiny beta) q is inf and the correction inf - inf: keep q.
      const T q = a * inv_beta;
      const T c = detail::smooth::fma(-q, beta, a) * inv_beta;
      y = math::fabs(q) < math::inf<T>() ? q + c : q;
    } else {
      l = math::log1p(e);
      y = ((u > T(0) ? u + l : l) + sig * rho) / beta; // softplus(u); NaN falls to l
    }
    // The linear region by selects, not an early return (loops over them vectorise).
    const bool linear = u > threshold;
    return {linear ? x : y, linear ? T(1) : sig + (big * small) * rho};
  }
  // 16-bit storage: softplus(u) = max(u, 0) + log1p(e), e = exp(-|u|), each step rounded once
  // (the remainder of beta x is not carried: 2^-17 relative at |u| = 104).
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    const float u = float(beta) * x;
    const float e = math::fl::exp_lean_value(-math::fabs(u)); // in (0, 1]
    const float big = math::fl::recip(1.0f + e);              // sigmoid(|u|)
    const float l = math::fl::log1p_unit_lean(e);
    const float y = (u > 0.0f ? u + l : l) * float(inv_beta); // NaN: l
    const bool linear = u > float(threshold);
    return {linear ? x : y, 1.0f, linear ? 1.0f : (u > 0.0f ? big : e * big), 1.0f};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    const T v = beta * y;
    return v > threshold ? T(1) : -math::expm1(-v);
  }
};

// squareplus(b = 4): f(x) = (x + sqrt(x^2 + b)) / 2; f'(x) = (1 + x / sqrt(x^2 + b)) / 2 = f / S
// with S = sqrt(x^2 + b); f'(0) = 1/2. b in (0, 1e18]. f(-inf) = 0, f'(-inf) = 0, f'(+inf) = 1.
// S is carried as s + sl to about twice the working precision (FMA square, TwoSum, one Newton
// correction of the square root), because f and f' otherwise collect ~2.7 and ~4.4 ulp from the
// rounding of S where they cross a binade. For x < 0 the sum x + S cancels, so f = (b/4) / H with
// H = (S - x) / 2 and f' = f / S, each division corrected by its exact FMA remainder. Halves are
// added before they can overflow (x = FLT_MAX gives FLT_MAX), and where x^2 could overflow
// (|x| > 2^63 in f32), S = |x| + b / (2|x|), exact to (b/x^2)^2 / 8 < 2^-130. Float computes
// the same with two divisions and selects (fused_f32).
// From y: 4y^2 / (4y^2 + b), evaluated as y / (y + (b/4) / y) without overflow.
// Barron 2021, "Squareplus: A Softplus-Like Algebraic Rectifier",
// https://arxiv.org/abs/2112.11687; JAX jax.nn.squareplus. Measured max error: see
// docs/accuracy.md.
template <class T>
struct SquareplusOp : ActBase {
  static constexpr bool kFromOutput = true;
  // Keeps x^2 + b free of overflow below kScaleAbove and b/x^2 < 2^-66 above it (f32).
  static constexpr double kMaxB = 1e18;
  // 2^(max_exponent/2 - 1): 2^63 in f32, 2^511 in f64; below it x^2 cannot overflow.
  static constexpr T kScaleAbove =
      detail::smooth::pow2<T>(std::numeric_limits<T>::max_exponent / 2 - 1);
  T b, half_b, quarter_b;
  explicit SquareplusOp(const Params& p)
      : b(T(p[0])), half_b(T(p[0] / 2)), quarter_b(T(p[0] / 4)) {}
  static ActMeta meta() {
    return {"(x + sqrt(x^2 + b)) / 2",
            "(1 + x / sqrt(x^2 + b)) / 2 (f'(0) = 1/2)",
            "Barron 2021, arXiv:2112.11687; JAX jax.nn.squareplus",
            "",
            1,
            {{"b", 4, 0, kMaxB, true, false, "curvature near 0; f(0) = sqrt(b)/2"}},
            {0, 1, 0.5, Saturation::soft, Saturation::none, true, false}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if constexpr (sizeof(T) == sizeof(float)) {
      return fused_f32(x);
    } else {
      using detail::smooth::fma;
      using detail::smooth::two_sum;
      const T ax = math::fabs(x);
      if (ax == math::inf<T>()) return x > T(0) ? Fused<T>{x, T(1)} : Fused<T>{T(0), T(0)};
      T s, sl; // S = s + sl
      if (ax > kScaleAbove) {
        s = ax;
        sl = half_b / ax;
      } else {
        const T p = x * x;
        const T pl = fma(x, x, -p);                      // x^2 = p + pl exactly
        const detail::smooth::Pair<T> t = two_sum(p, b); // p + b = t.hi + t.lo exactly
        s = math::sqrt(t.hi);
        sl = (fma(-s, s, t.hi) + (t.lo + pl)) / (T(2) * s); // Newton step on the exact remainder
      }
      if (x >= T(0)) {
        const detail::smooth::Pair<T> u = two_sum(T(0.5) * x, T(0.5) * s);
        const T r = x / s;
        const T rl = (fma(-r, s, x) - r * sl) / s; // x / S = r + rl
        return {u.hi + (u.lo + T(0.5) * sl), T(0.5) + T(0.5) * (r + rl)};
      }
      // x < 0 (NaN also lands here and propagates).
      const detail::smooth::Pair<T> h = two_sum(T(0.5) * s, T(0.5) * ax);
      const T hl = h.lo + T(0.5) * sl; // H = h.hi + hl
      const T y0 = quarter_b / h.hi;
      const T yc = (fma(-y0, h.hi, quarter_b) - y0 * hl) / h.hi; // f = y0 + yc
      const T d0 = y0 / s;
      return {y0 + yc, d0 + (fma(-d0, s, y0) + yc - d0 * sl) / s}; // f' = (y0 + yc) / S
    }
  }
  // Float: the same double-word S and corrected quotients with two divisions, 1/s and 1/h, and
  // selects instead of branches. Every other quotient is a product by one of them, corrected by
  // its remainder (exact by FMA), which leaves the same error as a correctly rounded first
  // quotient would: about u^2. The remainder of S's square root is scaled by 1/(2s) the same way.
  ACTGRAD_HOST_DEVICE Fused<float> fused_f32(float x) const {
    using detail::smooth::fma;
    using detail::smooth::two_sum;
    const float bb = b, hb = half_b, qb = quarter_b; // loaded before the selects
    const float ax = math::fabs(x);
    const bool huge = ax > float(kScaleAbove); // also +-inf
    const float xs = huge ? 0.0f : x;          // x^2 finite
    const float p = xs * xs;
    const float pl = fma(xs, xs, -p);                     // x^2 = p + pl exactly
    const detail::smooth::Pair<float> t = two_sum(p, bb); // p + b = t.hi + t.lo exactly
    const float s = huge ? ax : math::sqrt(t.hi);
    const float rs = 1.0f / s; // 0 for x = +-inf
    // S = s + sl: a Newton step on the exact remainder, or b / (2|x|) beyond kScaleAbove.
    const float sl = huge ? hb * rs : (fma(-s, s, t.hi) + (t.lo + pl)) * (0.5f * rs);
    // x >= 0: f = x/2 + S/2, f' = 1/2 + (x/S)/2 with x/S = r + rl.
    const detail::smooth::Pair<float> u = two_sum(0.5f * x, 0.5f * s);
    const float r = x * rs;
    const float rl = (fma(-r, s, x) - r * sl) * rs;
    const float yp = u.hi + (u.lo + 0.5f * sl), dp = 0.5f + 0.5f * (r + rl);
    // x < 0 (NaN too): f = (b/4) / H, H = h.hi + hl = S/2 + |x|/2, and f' = f / S.
    const detail::smooth::Pair<float> h = two_sum(0.5f * s, 0.5f * ax);
    const float hl = h.lo + 0.5f * sl;
    const float rh = 1.0f / h.hi;
    const float y0 = qb * rh;
    const float yc = (fma(-y0, h.hi, qb) - y0 * hl) * rh; // f = y0 + yc
    const float d0 = y0 * rs;
    const float dn = d0 + (fma(-d0, s, y0) + yc - d0 * sl) * rs;
    const bool pos = x >= 0.0f;
    float y = pos ? yp : y0 + yc, dy = pos ? dp : dn;
    // +-inf: the sums above hold inf - inf.
    y = x == math::inf<float>() ? x : y;
    dy = x == math::inf<float>() ? 1.0f : dy;
    y = x == -math::inf<float>() ? 0.0f : y;
    dy = x == -math::inf<float>() ? 0.0f : dy;
    return {y, dy};
  }
  // 16-bit storage: S = sqrt(x^2 + b) rounded once (|x| beyond kScaleAbove: S = |x|), f = H =
  // S/2 + |x|/2 for x >= 0 and (b/4) / H for x < 0 (no cancellation), f' = 1/2 + x/(2S) or f / S.
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    const float bb = float(b), qb = float(quarter_b); // loaded before the selects
    const float ax = math::fabs(x);
    const float s = ax > float(kScaleAbove) ? ax : math::sqrt(math::fl::madd(x, x, bb)); // NaN
    const float r = 1.0f / s;
    const float h = 0.5f * s + 0.5f * ax;
    const bool pos = x >= 0.0f;
    const float y = pos ? h : qb / h;
    const float dy = pos ? math::fl::madd(0.5f * x, r, 0.5f) : y * r;
    return {y, 1.0f, x == math::inf<float>() ? 1.0f : dy, 1.0f};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return y == math::inf<T>() ? T(1) : y / (y + quarter_b / y);
  }
};

// sparse_plus: f(x) = 0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1 (JAX).
// f'(x) = 0, (x + 1) / 2, 1 on the same pieces; f is C^1, so the joints need no convention
// (f'(-1) = 0, f'(1) = 1). x + 1 is split exactly into s + err (Fast2Sum, |x| < 1) so the square
// carries one rounding. From y: 0 for y = 0, sqrt(y) inside, 1 for y >= 1.
// JAX jax.nn.sparse_plus (Blondel et al. 2020, "Learning with Fenchel-Young Losses",
// https://arxiv.org/abs/1901.02324). Measured max error: see docs/accuracy.md.
template <class T>
struct SparsePlusOp : ActBase {
  static constexpr bool kFromOutput = true;
  explicit SparsePlusOp(const Params&) {}
  static ActMeta meta() {
    return {"0 if x <= -1, (x + 1)^2 / 4 if -1 < x < 1, x if x >= 1",
            "0 if x <= -1, (x + 1) / 2 if -1 < x < 1, 1 if x >= 1 (f'(0) = 1/2)",
            "Blondel et al. 2020, arXiv:1901.02324; JAX jax.nn.sparse_plus",
            "",
            0,
            {},
            {0, 1, 0.5, Saturation::hard, Saturation::none, true, false}};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x >= T(1)) return {x, T(1)};
    if (x <= T(-1)) return {T(0), T(0)};
    const T s = x + T(1);         // |x| < 1, so Fast2Sum recovers the rounding error exactly
    const T err = x - (s - T(1)); // x + 1 = s + err
    const T half_s = T(0.5) * s;  // f' = (x + 1) / 2, correctly rounded
    return {half_s * (T(0.5) * s) + half_s * err, half_s}; // NaN falls through to here
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return y >= T(1) ? T(1) : math::sqrt(y);
  }
};

} // namespace actgrad
