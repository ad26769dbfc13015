// Squashing functors: bounded S-shaped activations (sigmoid, tanh and relatives), plus the
// double-word arithmetic and sigmoid/tanh kernels that sigmoid_gated.hpp and gated_units.hpp share.
//
// Accuracy (SPEC §3: f <= 2 ulp, f' <= 4 ulp in the compute type): a plain composition of exp and
// three or four roundings can reach 3 ulp, so the kernels below carry the few intermediates that
// matter as unevaluated sums hi + lo ("double-word", Dekker 1971; Joldes, Muller & Popescu 2017)
// and round once at the end. What is left is exp's own error (libm in double; 0.68 ulp for
// float_math.hpp's) scaled by at most 1. Measured max error: see docs/accuracy.md.
#pragma once

#include "actgrad/functors/base.hpp"

namespace actgrad {
namespace detail {
namespace squashing {

// x = hi + lo exactly, |lo| about ulp(hi) or less. Not normalised: value() rounds it once.
template <class T>
struct Pair {
  T hi;
  T lo;
};
template <class T>
ACTGRAD_HOST_DEVICE T value(Pair<T> p) {
  return p.hi + p.lo;
}

// Error-free products need a fused multiply-add, or else Veltkamp splitting (Dekker 1971). Where
// the compiler may emit FMA instructions (GPUs, x86-64 with -mfma, AArch64) fma is one inline
// instruction, and splitting would be unsafe there because contraction of a*b - c into an fma
// changes the split. Elsewhere (plain x86-64) libm's fma is an out-of-line call, and the
// compiler cannot contract without FMA instructions, so the split is both faster and exact.
constexpr bool kHardwareFma = math::fl::kHardwareFma;
ACTGRAD_HOST_DEVICE float fma(float a, float b, float c) { return ::fmaf(a, b, c); }
ACTGRAD_HOST_DEVICE double fma(double a, double b, double c) { return ::fma(a, b, c); }
// Veltkamp's split a = hi + lo, hi with the upper half of the significand: the constant is
// 2^ceil(p/2) + 1 (p = 24 or 53). Below kSplitMax the product kSplit * a cannot overflow.
template <class T>
constexpr T kSplit = sizeof(T) == sizeof(float) ? T(4097) : T(134217729);
template <class T>
constexpr T kSplitMax = sizeof(T) == sizeof(float) ? T(0x1p115) : T(0x1p995);
// Power of two for rescaling a huge operand before splitting: 2^64 brings any finite float or
// double below kSplitMax and keeps it far above the subnormals.
template <class T>
constexpr T kSplitRescale = T(0x1p64);

// a + b = s + e exactly (Knuth's TwoSum, any magnitudes). Finite inputs only.
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> two_sum(T a, T b) {
  const T s = a + b;
  const T bb = s - a;
  const T e = (a - (s - bb)) + (b - bb);
  return {s, e};
}
// a + b = s + e exactly when |a| >= |b| (Dekker's FastTwoSum).
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> fast_two_sum(T a, T b) {
  const T s = a + b;
  return {s, b - (s - a)};
}
// a * b = p + e exactly unless a * b over- or underflows. Without hardware FMA, operands beyond
// kSplitMax (never reached by the kernels' clamped arguments) give e = 0.
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> two_prod(T a, T b) {
  const T p = a * b;
  if constexpr (kHardwareFma) {
    return {p, fma(a, b, -p)};
  } else if constexpr (sizeof(T) == sizeof(float)) {
    // Dekker's product with a split by truncation: hi keeps the top 12 bits of the significand
    // (a bit mask, which cannot overflow and has no branch, so loops over it vectorise), lo the
    // other 12, and every partial product is exact. Where p overflows the error term is 0.
    const T ah = math::fl::from_bits(math::fl::bits(a) & std::int32_t(0xfffff000));
    const T bh = math::fl::from_bits(math::fl::bits(b) & std::int32_t(0xfffff000));
    const T al = a - ah, bl = b - bh;
    const T err = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    return {p, math::fabs(p) < math::inf<T>() ? err : T(0)};
  } else {
    if (!(math::fabs(a) < kSplitMax<T> && math::fabs(b) < kSplitMax<T>)) {
      // One huge operand (a gate times b ~ 2^996): split a copy scaled by 2^-64, which is
      // exact and keeps both operands normal, then scale the error term back.
      const T down = T(1) / kSplitRescale<T>;
      const bool big_a = !(math::fabs(a) < kSplitMax<T>);
      const T as = big_a ? a * down : a, bs = big_a ? b : b * down;
      if (!(math::fabs(as) < kSplitMax<T> && math::fabs(bs) < kSplitMax<T>)) return {p, T(0)};
      const Pair<T> q = two_prod(as, bs);
      return {p, q.lo * kSplitRescale<T>};
    }
    const T ca = kSplit<T> * a, cb = kSplit<T> * b;
    const T ah = ca - (ca - a), bh = cb - (cb - b);
    const T al = a - ah, bl = b - bh;
    return {p, ((ah * bh - p) + ah * bl + al * bh) + al * bl};
  }
}
// a * b + c with one rounding where FMA hardware is available, else within about 1 ulp.
template <class T>
ACTGRAD_HOST_DEVICE T mul_add(T a, T b, T c) {
  if constexpr (kHardwareFma) {
    return fma(a, b, c);
  } else {
    const Pair<T> p = two_prod(a, b);
    return (p.hi + c) + p.lo;
  }
}
// (a.hi + a.lo) * b, relative error about 2 u^2.
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> mul(Pair<T> a, T b) {
  Pair<T> p = two_prod(a.hi, b);
  p.lo += a.lo * b;
  return p;
}
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> mul(Pair<T> a, Pair<T> b) {
  Pair<T> p = two_prod(a.hi, b.hi);
  p.lo += a.hi * b.lo + a.lo * b.hi;
  return p;
}
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> add(Pair<T> a, Pair<T> b) {
  Pair<T> s = two_sum(a.hi, b.hi);
  s.lo += a.lo + b.lo;
  return s;
}
// n - q d for a quotient q within a few ulp of n / d: exact but for at most one rounding of its
// own size (with FMA: the fused operation's; without: n - RN(q d) is exact by Sterbenz, then the
// product's exact error is subtracted).
template <class T>
ACTGRAD_HOST_DEVICE T remainder(T n, T q, T d) {
  if constexpr (kHardwareFma) {
    return fma(-q, d, n);
  } else {
    const Pair<T> qd = two_prod(q, d);
    return (n - qd.hi) - qd.lo;
  }
}
// n / (d.hi + d.lo) for d.hi != 0: one correction step on the rounded quotient, using the exact
// remainder n - q d.hi. Relative error about u^2 plus that of the inputs.
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> div(Pair<T> n, Pair<T> d) {
  const T q = n.hi / d.hi;
  return {q, (remainder(n.hi, q, d.hi) + (n.lo - q * d.lo)) / d.hi};
}
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> div(T n, Pair<T> d) {
  return div(Pair<T>{n, T(0)}, d);
}
// A double-word divisor with its reciprocal: one division, after which each quotient by it costs
// multiplications only (divisions are the slowest vector instruction, 5-10x a multiply). For
// 0.8 <= d.hi <= 17, where the kernels use it: q = n.hi * rcp is within 2 ulp of n.hi / d.hi, so
// q d.hi is within a factor 2 of n.hi and n.hi - RN(q d.hi) is exact (Sterbenz); the remainder
// r = n.hi - q d.hi is then exact but for one rounding at 2^-24 (2^-53) of its own size, and the
// correction (r + n.lo - q d.lo) / d.hi, itself only needed to about 2^-20 relative, is a
// multiplication by rcp. The quotient's relative error stays about u^2, as for div above.
template <class T>
struct Divisor {
  Pair<T> d;
  T rcp;
};
template <class T>
ACTGRAD_HOST_DEVICE Divisor<T> divisor(Pair<T> d) {
  return {d, math::recip(d.hi)}; // d.hi is in [0.8, 17] at every call: recip's range
}
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> div(Pair<T> n, const Divisor<T>& d) {
  const T q = n.hi * d.rcp;
  return {q, (remainder(n.hi, q, d.d.hi) + (n.lo - q * d.d.lo)) * d.rcp};
}
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> div(T n, const Divisor<T>& d) {
  return div(Pair<T>{n, T(0)}, d);
}

// exp and log1p of the kernels: math::exp/log1p, which for float are actgrad's own
// (float_math.hpp, 0.68 and 0.80 ulp measured) and for double libm.
template <class T>
ACTGRAD_HOST_DEVICE T exp_k(T x) {
  return math::exp(x);
}
template <class T>
ACTGRAD_HOST_DEVICE T log1p_k(T x) {
  return math::log1p(x);
}

// f and f' of a gate kernel as double-words, each times 1/unscale (1, 2^-64 or 2^-128): gated
// units multiply by b before the one rounding (see sigmoid_gated.hpp on subnormal gates).
template <class T>
struct Parts {
  Pair<T> y;
  T y_unscale;
  Pair<T> dy;
  T dy_unscale;
};
template <class T>
ACTGRAD_HOST_DEVICE Fused<T> round_parts(const Parts<T>& p) {
  // hi alone where lo = 0 keeps the sign of a zero f (-0 + 0 would give +0).
  const T y = p.y.lo == T(0) ? p.y.hi : value(p.y);
  return {y * p.y_unscale, value(p.dy) * p.dy_unscale};
}
// f and f' of parts whose low words are 0 (kernels that round before the last product): adding
// the zero lo, which the compiler must keep (-0 + 0 = +0), is left out.
template <class T>
ACTGRAD_HOST_DEVICE Fused<T> rounded_parts(const Parts<T>& p) {
  return {p.y.hi * p.y_unscale, p.dy.hi * p.dy_unscale};
}
// Parts of an exactly known f and f' (saturated regions, specials).
template <class T>
ACTGRAD_HOST_DEVICE Parts<T> exact_parts(T y, T dy) {
  return {{y, T(0)}, T(1), {dy, T(0)}, T(1)};
}

// Inputs that dd arithmetic must not see (inf - inf, inf * 0 in the error terms) are clamped
// here: min/max that keep NaN.
template <class T>
ACTGRAD_HOST_DEVICE T clamp_keep_nan(T x, T lo, T hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

// A constant as hi + lo in T: hi is the T nearest the value, lo the rest. The double pairs used
// with it are (RN(c), RN(c - RN(c))) from 40-digit evaluations (mpmath), shown next to each.
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> split(double hi, double lo) {
  const T h = T(hi);
  return {h, T((hi - double(h)) + lo)};
}

// Left tails. Where a gate such as sigma(z) or exp(x) is subnormal, x times it can still be a
// normal number (or a larger subnormal), and |x| (up to 1500) would multiply the gate's absolute
// rounding error. So below exp(-kTailScaleFrom) the gate is computed times 2^64 and the caller
// rounds once more after multiplying by 2^-64. kTailScaleFrom > 64 log(2) = 44.36 keeps the
// scaled value below 1, so x times it cannot overflow.
constexpr double kTailScaleFrom = 45;
constexpr double kTailUnscale = 1.0 / 18446744073709551616.0; // 2^-64, exact
// 64 log(2) as hi + lo: 64 * RN(log 2) and 64 * RN(log 2 - RN(log 2)), exact scalings of
// log(2) = 0.6931471805599453094172321214581765680755.
constexpr double kTailScaleLogHi = 64 * 0.6931471805599453;
constexpr double kTailScaleLogLo = 64 * 2.3190468138462996e-17;
// Beyond this exp(-a) is 0 even times 2^64; clamping keeps inf out of the double-word sums.
constexpr double kExpArgMax = 2000;

template <class T>
struct ScaledExp {
  Pair<T> scaled; // exp(-a) / unscale
  T plain;        // exp(-a), possibly subnormal or 0
  T unscale;      // 1 or 2^-64
};
// exp(-a) for a >= 0 (NaN passes through), scaled by 2^64 when may_scale and a > kTailScaleFrom.
// The scaled exponent -a + 64 log 2 is a double-word: exp(hi + lo) = exp(hi) (1 + lo).
// Float: exp_core's unrounded 2^k (hi + lo) (2^-25.9 relative) gives the double-word directly,
// and the scaling by 2^64 is an exponent offset: no argument sum and no second exp. Up to
// a = kExpNegClamp, k >= -251 (-187 scaled) splits into two normal powers of two; beyond it
// even the scaled value is below 2^-150 and rounds to 0, as it does from there on.
constexpr float kExpNegClamp = 174;
ACTGRAD_HOST_DEVICE ScaledExp<float> exp_neg(float a, float scale_from) {
  const float ac = a > kExpNegClamp ? kExpNegClamp : a; // NaN stays NaN
  const math::fl::ExpCore c = math::fl::exp_core(-ac);  // k in [-251, 0]
  const bool scale = ac > scale_from;
  const float unscale = scale ? float(kTailUnscale) : 1.0f;
  // 2^k as 2^k1 2^k2 with both factors normal: hi 2^k1 is exact and the product rounds once,
  // also where it is subnormal (unscaled a > 87).
  const std::int32_t k = scale ? c.k + 64 : c.k;
  const std::int32_t k1 = k >> 1, k2 = k - k1; // arithmetic shift: k1 = floor(k/2)
  const float p1 = math::fl::pow2i(k1), p2 = math::fl::pow2i(k2);
  const float hi = c.hi + c.lo; // |lo| < 0.06 < hi: the rest is exact (FastTwoSum)
  const float lo = c.lo - (hi - c.hi);
  const float es = (hi * p1) * p2;
  return {{es, (lo * p1) * p2}, es * unscale, unscale};
}
template <class T>
ACTGRAD_HOST_DEVICE ScaledExp<T> exp_neg(T a, T scale_from) {
  const T ac = a > T(kExpArgMax) ? T(kExpArgMax) : a;
  // One exp either way, selected without a branch (loops over it vectorise).
  const bool scale = ac > scale_from;
  const Pair<T> k = split<T>(kTailScaleLogHi, kTailScaleLogLo);
  Pair<T> arg = two_sum(-ac, scale ? k.hi : T(0));
  arg.lo += scale ? k.lo : T(0);
  const T e0 = exp_k(arg.hi);
  const T unscale = scale ? T(kTailUnscale) : T(1);
  return {{e0, scale ? e0 * arg.lo : T(0)}, scale ? e0 * unscale : e0, unscale};
}

// sigma(z) and sigma(-z) = 1 - sigma(z), each as hi + lo. Only exp(-|z|) <= 1 is taken, so
// nothing overflows, and 1 - sigma is never formed by subtraction. NaN gives NaN in both.
// For z < -kTailScaleFrom, pos is sigma(z) * 2^64 and unscale = 2^-64 (else 1); with
// scale_neg, likewise neg and neg_unscale for z > kTailScaleFrom.
template <class T>
struct SigmoidParts {
  Pair<T> pos; // sigma(z) / unscale
  Pair<T> neg; // sigma(-z) / neg_unscale
  T unscale;
  T neg_unscale;
  T neg_rough; // sigma(-z) / neg_unscale within about 2 ulp (no correction step): for terms
               // that scale a correction
};
template <class T>
ACTGRAD_HOST_DEVICE SigmoidParts<T> sigmoid_parts(T z, bool scale_neg = false) {
  // A threshold, not bool logic: GCC (12) vectorises selects keyed by one comparison.
  const T from = scale_neg || z < T(0) ? T(kTailScaleFrom) : math::inf<T>();
  const ScaledExp<T> e = exp_neg(math::fabs(z), from);
  const Divisor<T> d = divisor(fast_two_sum(T(1), e.plain)); // 1 + e exactly, in [1, 2]
  // sigma(|z|) = 1 / d and sigma(-|z|) = e / d: the numerators are selected before the division
  // (componentwise selects, not a branch: loops over it vectorise), so a kernel that uses one
  // side only (a forward op) computes one corrected quotient.
  const bool pos = z >= T(0);
  const Pair<T> np{pos ? T(1) : e.scaled.hi, pos ? T(0) : e.scaled.lo};
  const Pair<T> nn{pos ? e.scaled.hi : T(1), pos ? e.scaled.lo : T(0)};
  return {div(np, d), div(nn, d), pos ? T(1) : e.unscale, pos ? e.unscale : T(1), nn.hi * d.rcp};
}

// sigma(z) and sigma'(z) = sigma(z) sigma(-z) in float, for sigmoid's fused op: the same
// scheme as sigmoid_parts (1/(1 + e) and e/(1 + e), e = exp(-|z|) <= 1, each a Divisor
// quotient with one correction step) with its selects cut to what sigmoid needs; f within
// 1 ulp and f' within 2 (measured: docs/accuracy-exhaustive.md). Beyond |z| = kTailScaleFrom
// e is formed times 2^64 and sigma(-|z|) rounded once after scaling back; beyond 104 it is
// below 2^-150 and rounds to 0. NaN gives NaN in both.
ACTGRAD_HOST_DEVICE Fused<float> sigmoid_f32(float z) {
  const float a = clamp_keep_nan(math::fabs(z), 0.0f, 104.0f);
  const math::fl::ExpCore c = math::fl::exp_core(-a); // k in [-151, 0]
  const float m = c.hi + c.lo;                        // |lo| < 0.06 < hi: FastTwoSum
  const float ml = c.lo - (m - c.hi);
  const bool tail = a > float(kTailScaleFrom);
  const float p2 = math::fl::pow2i(tail ? c.k + 64 : c.k); // normal: k + 64 >= -87
  const float un = tail ? float(kTailUnscale) : 1.0f;
  const float e = m * p2, el = ml * p2; // exp(-a) (times 2^64 in the tail) as e + el
  const float ep = e * un;
  // 1 + exp(-a) = d exactly but for el's own error.
  Pair<float> d = fast_two_sum(1.0f, ep);
  d.lo += el * un;
  const Divisor<float> dv = divisor(d);
  const float big = value(div(1.0f, dv));                 // sigma(a)
  const float small = value(div(Pair<float>{e, el}, dv)); // sigma(-a) (x 2^64)
  return {z >= 0.0f ? big : small * un, (big * small) * un};
}

// Lambert's continued fraction tanh(a) = a / (1 + a^2/(3 + a^2/(5 + ...))) gives, with
// D = 3 + a^2/(5 + a^2/(7 + ...)), the cancellation-free identity
//   a - tanh(a) = a^3 / (a^2 + D).
// Every term is positive, so evaluating from the tail loses nothing. kTanhCfMax is the largest
// a it is used for; the depth is the smallest that keeps the truncation below 2^-62 relative at
// a = kTanhCfMax (checked with mpmath; the error grows with a). The f64 path's: float's tanh and
// tanhshrink kernels (tanh_f32, tanhshrink_f32) do without it.
constexpr double kTanhCfMax = 1.5;
template <class T>
constexpr int kTanhCfDepth = 11;
// a - tanh(a) as hi + lo for 0 <= a <= kTanhCfMax.
template <class T>
ACTGRAD_HOST_DEVICE Pair<T> tanhshrink_cf(T a) {
  const Pair<T> s = two_prod(a, a);
  T tail = T(2 * kTanhCfDepth<T> + 1);
  for (int k = kTanhCfDepth<T> - 1; k >= 2; --k) tail = T(2 * k + 1) + s.hi / tail;
  // a^2 + D = (3 + a^2) + a^2/tail, summed as a double-word (div needs |lo| ~ ulp(hi)).
  const Pair<T> den = add(fast_two_sum(T(3), s.hi), Pair<T>{s.hi / tail, s.lo}); // in [3, 6]
  return div(mul(s, a), divisor(den));
}

// tanh(|x|) for |x| >= kTanhExpMin from e = exp(-2|x|) <= 1/2: t = (1 - e)/(1 + e), with
// 1 - t = 2e/(1 + e) and 1 + t = 2/(1 + e), none formed by subtraction.
constexpr double kLn2 = 0.693147180559945309417232121458176568; // log(2)
constexpr double kTanhExpMin = kLn2 / 2;                        // where exp(-2a) = 1/2
template <class T>
struct TanhParts {
  Pair<T> t;         // tanh(a)
  Pair<T> one_minus; // 1 - tanh(a)
};
template <class T>
ACTGRAD_HOST_DEVICE TanhParts<T> tanh_exp(T a) {
  const T e = exp_k(T(-2) * a); // the f64 path's (float runs tanh_f32 and tanhshrink_f32)
  const Divisor<T> den = divisor(fast_two_sum(T(1), e)); // in [1, 1.5]
  const Pair<T> om = div(T(2) * e, den);
  return {div(fast_two_sum(T(1), -e), den), om};
}

// tanh(x) and 1 - tanh(x)^2 in float, for tanh's fused op, without branches. With a = |x|,
// e = exp(-2a) and u = e - 1 = expm1(-2a), both from one exp_core (u by an exact TwoSum, so it
// keeps its relative accuracy as a -> 0):
//   tanh(a) = -u / (1 + e),   1 - tanh(a)^2 = (2e / (1 + e)) (2 / (1 + e)),
// each quotient with one correction step from its exact remainder. Nothing cancels: f' is a
// product of positive factors, so it keeps its relative accuracy in the tail. Beyond 2a = 45, e
// is formed times 2^64 for f' and rounded once after scaling back; beyond 2a = 106, 4e < 2^-150
// and f' rounds to 0. f within 1 ulp, f' within 2 (measured: docs/accuracy-exhaustive.md).
ACTGRAD_HOST_DEVICE Fused<float> tanh_f32(float x) {
  const float b = clamp_keep_nan(2.0f * math::fabs(x), 0.0f, 106.0f); // NaN stays NaN
  const math::fl::ExpCore c = math::fl::exp_core(-b);                 // k in [-153, 0]
  // u = 2^k (hi + lo) - 1 = uh + ul, in (-1, 0]. Below k = -60, u rounds to -1 + e at any
  // precision that matters, so k is capped there.
  const math::fl::CoreMinusOne u = math::fl::core_minus_one(c, c.k < -60 ? -60 : c.k);
  const float uh = u.hi, ul = u.lo;
  // e = exp(-b) (times 2^64 in the tail) as eh + el.
  const float m = c.hi + c.lo; // |lo| < 0.06 < hi: FastTwoSum
  const float ml = c.lo - (m - c.hi);
  const bool tail = b > float(kTailScaleFrom);
  const float p2 = math::fl::pow2i(tail ? c.k + 64 : c.k); // normal: k + 64 >= -89
  const float un = tail ? float(kTailUnscale) : 1.0f;
  const float eh = m * p2, el = ml * p2;
  const float ep = eh * un;
  Pair<float> d = fast_two_sum(1.0f, ep); // 1 + e, in [1, 2]
  d.lo += el * un;
  const Divisor<float> dv = divisor(d);
  const float t = value(div(Pair<float>{-uh, -ul}, dv));             // tanh(a) = -u / (1 + e)
  const float q = value(div(Pair<float>{2.0f * eh, 2.0f * el}, dv)); // 2e / (1 + e) (x 2^64)
  const float w = value(div(2.0f, dv));                              // 2 / (1 + e)
  return {math::copysign(t, x), (q * w) * un};
}

// x - tanh(x) and tanh(x)^2 in float, for tanhshrink's fused op, without branches; a = |x|:
// - a < kTanhshrinkNear: f = a^3 (1/3 + s P(s)), s = a^2, where 1/3 + s P is (a - tanh a)/a^3:
//   P of degree 6 fitted in float (scripts/fit-tanhshrink; 1/3 + s P within 2^-25.4 relative
//   in float evaluation), a^3 and 1/3 + s P double-words, so f is rounded once; tanh(a) = a - f;
// - beyond: f = (a - 1) + q with q = 2e / (1 + e), e = exp(-2a) (2a capped at 80, where q has
//   left f), a - 1 by TwoSum and q a double-word (exp_core's 2^-25.9 and one correction step):
//   the sum cancels by at most 1.6 at a = 0.9; tanh(a) = 1 - q.
// f' = tanh(a)^2 from tanh rounded once. f(+-inf) = +-inf, f'(+-inf) = 1; NaN gives NaN.
constexpr float kTanhshrinkNear = 0.9f;
ACTGRAD_HOST_DEVICE Fused<float> tanhshrink_f32(float x) {
  const float a = math::fabs(x);
  // Near: 1/3 = kThirdHi + kThirdLo.
  constexpr float kThirdHi = 0x1.555556p-2f, kThirdLo = -0x1.555556p-27f;
  const Pair<float> s = two_prod(a, a);
  Pair<float> a3 = two_prod(a, s.hi);
  a3.lo += a * s.lo;
  const float p =
      s.hi * math::fl::poly(s.hi, -0x1.11110ap-3f, 0x1.ba1848p-5f, -0x1.660846p-6f, 0x1.1f913cp-7f,
                            -0x1.b61ef2p-9f, 0x1.10ce3ap-10f, -0x1.7ebb08p-13f);
  Pair<float> c = fast_two_sum(kThirdHi, p);
  c.lo += kThirdLo;
  const float fn = value(mul(a3, c));
  const float tn = (a - fn);
  // Far.
  const float b = 2.0f * a > 80.0f ? 80.0f : 2.0f * a; // NaN stays NaN
  const math::fl::ExpCore ec = math::fl::exp_core(-b); // k in [-116, 0]
  const float m = ec.hi + ec.lo;                       // |lo| < 0.06 < hi: FastTwoSum
  const float ml = ec.lo - (m - ec.hi);
  const float p2 = math::fl::pow2i(ec.k);
  const float eh = m * p2, el = ml * p2;
  Pair<float> d = fast_two_sum(1.0f, eh); // 1 + e, in [1, 1.17]
  d.lo += el;
  const Pair<float> q = div(Pair<float>{2.0f * eh, 2.0f * el}, divisor(d));
  const float ff = value(add(two_sum(a, -1.0f), q));
  const float tf = (1.0f - q.hi) - q.lo;
  const bool near = a < kTanhshrinkNear;
  const float f = near ? fn : ff;
  const float t = near ? tn : tf;
  return {math::copysign(a == math::inf<float>() ? a : f, x), t * t};
}

// ---- Narrow (16-bit storage) kernels ---------------------------------------------------------
// f16 and bf16 keep 11 and 8 bits, so these are the float formulas above without the
// double-word corrections: each quotient and product rounded once, a few ulps of float, which
// is 2^-8 or less of a 16-bit ulp (detail/element_ops.hpp). What stays: nothing is formed by a
// cancelling subtraction, and values below float's normal range are formed times 2^64 (un =
// 2^-64), so that a gated unit's product with b is rounded once.
// Beyond |z| = kNarrowSat, exp(-|z|) 2^64 < 2^-120: the kernels select saturated values there.
constexpr float kNarrowSat = 128;
// sigma(|z|) = big and sigma(-|z|) = small * un from e = exp(-|z|), big = 1/(1 + e) and
// small = e big. |z| is clamped to kNarrowSat (k + 64 >= -121 keeps 2^(k+64) normal).
struct SigmoidNarrow {
  float big, small, un;
};
ACTGRAD_HOST_DEVICE SigmoidNarrow sigmoid_narrow(float z) {
  const float a = clamp_keep_nan(math::fabs(z), 0.0f, kNarrowSat); // NaN stays NaN
  const math::fl::ExpLean c = math::fl::exp_lean(-a);
  const bool tail = a > float(kTailScaleFrom);
  const float e = (1.0f + c.w) * math::fl::pow2i(tail ? c.k + 64 : c.k);
  const float un = tail ? float(kTailUnscale) : 1.0f;
  const float big = math::fl::recip(1.0f + e * un);
  return {big, e * big, un};
}

// tanh(x) and 1 - tanh(x)^2 = 4e / (1 + e)^2, e = exp(-2|x|), for 16-bit storage: tanh(|x|) =
// -u / (2 + u) with u = e - 1 = 2^k (1 + w) - 1 = (2^k - 1) + 2^k w from exp_lean (for k = 0,
// as |x| -> 0, u = w keeps its relative accuracy; 2^k - 1 is exact). f' is formed times 2^64
// beyond 2|x| = 45.
ACTGRAD_HOST_DEVICE Narrow<float> tanh_narrow(float x) {
  const float b = clamp_keep_nan(2.0f * math::fabs(x), 0.0f, kNarrowSat);
  const math::fl::ExpLean c = math::fl::exp_lean(-b);
  const float p = math::fl::pow2i(c.k < -60 ? -60 : c.k);
  const float u = math::fl::madd(p, c.w, p - 1.0f); // in (-1, 0]
  const bool tail = b > float(kTailScaleFrom);
  const float e = (1.0f + c.w) * math::fl::pow2i(tail ? c.k + 64 : c.k);
  const float un = tail ? float(kTailUnscale) : 1.0f;
  const float r = math::fl::recip(2.0f + u);
  return {math::copysign(-u * r, x), 1.0f, (4.0f * e) * (r * r), un};
}

} // namespace squashing
} // namespace detail

// sigmoid: f(x) = 1 / (1 + exp(-x)); f'(x) = f(x) f(-x), in (0, 1/4]. Smooth: no kinks.
// Both f(x) and f(-x) = 1 - f(x) come from exp(-|x|) <= 1 with one correction step each, so
// nothing overflows or cancels; f(-inf) = 0, f(+inf) = 1, f' = 0 at both. Where f or f' is
// subnormal it is formed times 2^64 and rounded once after scaling back (see Parts). From y:
// f' = y - y^2 (within 1 ulp). Float's fused op is sigmoid_f32 above (parts() stays the
// double-word form gated units need). Verhulst 1838; PyTorch torch.sigmoid.
// Measured max error: see docs/accuracy.md.
template <class T>
struct SigmoidOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"1 / (1 + exp(-x))",
            "f(x) f(-x) = f (1 - f)",
            "PyTorch torch.sigmoid",
            "",
            0,
            {},
            {0, 0.25, 0.25, Saturation::soft, Saturation::soft, true, false}};
  }
  explicit SigmoidOp(const Params&) {}
  ACTGRAD_HOST_DEVICE detail::squashing::Parts<T> parts(T x) const {
    namespace sq = detail::squashing;
    const sq::SigmoidParts<T> s = sq::sigmoid_parts(x, true);
    // Float: f' = f(x) f(-x) from the two rounded factors, about 1.5 ulp (4 allowed) for a
    // quarter of a double-word product's cost (one factor is in [1/2, 1], never scaled).
    // f64 keeps the double-word product.
    const sq::Pair<T> dy = sizeof(T) == sizeof(float)
                               ? sq::Pair<T>{sq::value(s.pos) * sq::value(s.neg), T(0)}
                               : sq::mul(s.pos, s.neg);
    return {s.pos, s.unscale, dy, s.unscale * s.neg_unscale};
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if constexpr (sizeof(T) == sizeof(float)) {
      return detail::squashing::sigmoid_f32(x);
    } else {
      return detail::squashing::round_parts(parts(x));
    }
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    const detail::squashing::SigmoidNarrow s = detail::squashing::sigmoid_narrow(x);
    const bool pos = x >= 0.0f;
    return {pos ? s.big : s.small, pos ? 1.0f : s.un, s.big * s.small, s.un};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return detail::squashing::mul_add(-y, y, y);
  }
};

// tanh: f(x) = tanh(x); f'(x) = 1 - tanh(x)^2 = sech(x)^2, in (0, 1]. Odd, smooth.
// |x| < log(2)/2: tanh = |x| - (|x| - tanh|x|) with the small difference from Lambert's continued
// fraction, and f' = 1 - t^2 with t^2 <= 1/9 (no cancellation). Beyond: e = exp(-2|x|),
// t = (1 - e)/(1 + e) and f' = (1 - t)(1 + t) with 1 - t = 2e/(1 + e) taken directly, so f'
// keeps full relative accuracy for large |x| where 1 - t^2 would cancel. f(+-inf) = +-1,
// f'(+-inf) = 0; f(-0) = -0. From y: f' = 1 - y^2 (within 1 ulp, no cancellation: y^2 is
// formed exactly).
// That is the f64 path; float (f32, f16, bf16) runs tanh_f32 above, one formula for all x.
// PyTorch torch.tanh. Measured max error: see docs/accuracy.md.
template <class T>
struct TanhOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"tanh(x)",
            "1 - tanh(x)^2",
            "PyTorch torch.tanh",
            "",
            0,
            {},
            {0, 1, 1, Saturation::soft, Saturation::soft, true, true}};
  }
  explicit TanhOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sq = detail::squashing;
    if constexpr (sizeof(T) == sizeof(float)) {
      return sq::tanh_f32(x);
    } else {
      const T a = math::fabs(x);
      if (a < T(sq::kTanhExpMin)) {
        const sq::Pair<T> ts = sq::tanhshrink_cf(a);
        sq::Pair<T> t = sq::fast_two_sum(a, -ts.hi);
        t.lo -= ts.lo;
        const sq::Pair<T> t2 = sq::mul(t, t);
        return {math::copysign(sq::value(t), x), (T(1) - t2.hi) - t2.lo};
      }
      const sq::TanhParts<T> p = sq::tanh_exp(a); // NaN lands here and propagates
      // 1 + t = 2 - (1 - t)
      const sq::Pair<T> one_plus = sq::fast_two_sum(T(2), -p.one_minus.hi);
      const T dy =
          sq::value(sq::mul(p.one_minus, sq::Pair<T>{one_plus.hi, one_plus.lo - p.one_minus.lo}));
      return {math::copysign(sq::value(p.t), x), dy};
    }
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    return detail::squashing::tanh_narrow(x);
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    return detail::squashing::mul_add(-y, y, T(1));
  }
};

// hardsigmoid: f(x) = relu6(x + 3) / 6 = clamp(x/6 + 1/2, 0, 1). f'(x) = 1/6 strictly inside
// (-3, 3), 0 at and beyond both kinks (PyTorch autograd). Exact up to the roundings of x + 3 and
// /6 (<= 1 ulp). f(-inf) = 0, f(+inf) = 1. From y: f' = 1/6 for 0 < y < 1, else 0.
// Courbariaux et al. 2015; PyTorch torch.nn.functional.hardsigmoid.
// Measured max error: see docs/accuracy.md.
template <class T>
struct HardsigmoidOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"relu6(x + 3) / 6",
            "1/6 for -3 < x < 3, else 0 (0 at both kinks, PyTorch)",
            "Courbariaux et al. 2015; PyTorch torch.nn.functional.hardsigmoid",
            "",
            0,
            {},
            {0, 1.0 / 6, 1.0 / 6, Saturation::hard, Saturation::hard, true, false}};
  }
  explicit HardsigmoidOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x > T(-3) && x < T(3)) return {(x + T(3)) / T(6), T(1) / T(6)};
    if (x <= T(-3)) return {T(0), T(0)};
    if (x >= T(3)) return {T(1), T(0)};
    return {x, x}; // NaN
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    if (math::isnan(y)) return y;
    return y > T(0) && y < T(1) ? T(1) / T(6) : T(0);
  }
};

// sparse_sigmoid: f(x) = clip(x + 1, 0, 2) / 2 (JAX jax.nn.sparse_sigmoid; Martins & Astudillo
// 2016, sparsemax). f'(x) = 1/2 strictly inside (-1, 1) and 0 at and beyond both kinks: the
// PyTorch clamp/hardtanh convention used across actgrad (JAX's autodiff of clip would split the
// gradient at a tie instead). Within 0.5 ulp (the rounding of x + 1; /2 is exact).
// From y: f' = 1/2 for 0 < y < 1, else 0. Measured max error: see docs/accuracy.md.
template <class T>
struct SparseSigmoidOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"clip(x + 1, 0, 2) / 2",
            "1/2 for -1 < x < 1, else 0 (0 at both kinks)",
            "Martins & Astudillo 2016; JAX jax.nn.sparse_sigmoid",
            "",
            0,
            {},
            {0, 0.5, 0.5, Saturation::hard, Saturation::hard, true, false}};
  }
  explicit SparseSigmoidOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    if (x > T(-1) && x < T(1)) return {(x + T(1)) * T(0.5), T(0.5)};
    if (x <= T(-1)) return {T(0), T(0)};
    if (x >= T(1)) return {T(1), T(0)};
    return {x, x}; // NaN
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    if (math::isnan(y)) return y;
    return y > T(0) && y < T(1) ? T(0.5) : T(0);
  }
};

// logsigmoid: f(x) = log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)), both terms
// of the same sign (no cancellation, no overflow). f'(x) = sigmoid(-x) in (0, 1), from the
// shared exp(-|x|). f(-inf) = -inf, f(+inf) = -0, f'(-inf) = 1, f'(+inf) = 0.
// From y: f' = 1 - exp(y) = -expm1(y). PyTorch torch.nn.functional.logsigmoid.
// Measured max error: see docs/accuracy.md.
template <class T>
struct LogsigmoidOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"log(sigmoid(x)) = -softplus(-x)",
            "sigmoid(-x)",
            "PyTorch torch.nn.functional.logsigmoid",
            "",
            0,
            {},
            {0, 1, 0.5, Saturation::none, Saturation::soft, true, false}};
  }
  explicit LogsigmoidOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sq = detail::squashing;
    const T e = sq::exp_k(-math::fabs(x));
    const sq::Divisor<T> d = sq::divisor(sq::fast_two_sum(T(1), e)); // in [1, 2]
    T l;
    if constexpr (sizeof(T) == sizeof(float)) {
      l = math::fl::log1p_unit(e, d.rcp); // log1p's division shared with f''s
    } else {
      l = sq::log1p_k(e);
    }
    const T y = (x < T(0) ? x : T(0)) - l;
    return {y, sq::value(sq::div(x < T(0) ? T(1) : e, d))};
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    const float e = math::fl::exp_lean_value(-math::fabs(x)); // in (0, 1]
    const float big = math::fl::recip(1.0f + e);              // sigmoid(|x|)
    const float l = math::fl::log1p_unit_lean(e);
    return {(x < 0.0f ? x : 0.0f) - l, 1.0f, x < 0.0f ? big : e * big, 1.0f};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const { return -math::expm1(y); }
};

// softsign: f(x) = x / (1 + |x|); f'(x) = 1 / (1 + |x|)^2, in (0, 1]. Odd, smooth.
// f' is formed as r*r with r = 1/(1 + |x|), so (1 + |x|)^2 never overflows; f(+-inf) = +-1,
// f'(+-inf) = 0. From y: f' = (1 - |y|)^2. Turian et al. 2009; PyTorch
// torch.nn.functional.softsign. Measured max error: see docs/accuracy.md.
template <class T>
struct SoftsignOp : ActBase {
  static constexpr bool kFromOutput = true;
  static ActMeta meta() {
    return {"x / (1 + |x|)",
            "1 / (1 + |x|)^2",
            "Turian et al. 2009; PyTorch softsign",
            "",
            0,
            {},
            {0, 1, 1, Saturation::soft, Saturation::soft, true, true}};
  }
  explicit SoftsignOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sq = detail::squashing;
    const T a = math::fabs(x);
    if (a == math::inf<T>()) return {math::copysign(T(1), x), T(0)};
    const sq::Pair<T> d = sq::two_sum(T(1), a); // 1 + |x| exactly
    const sq::Pair<T> r = sq::div(T(1), d);
    return {sq::value(sq::div(x, d)), sq::value(sq::mul(r, r))};
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    // |x| capped at 2^100 (infinities too), where f = +-1 and f' = 0 in float already, so the
    // reciprocal's argument stays in math::fl::recip's range.
    const float a = detail::squashing::clamp_keep_nan(math::fabs(x), 0.0f, 0x1p100f);
    const float r = math::fl::recip(1.0f + a);
    return {math::copysign(a * r, x), 1.0f, r * r, 1.0f};
  }
  ACTGRAD_HOST_DEVICE T derivative_from_output(T y) const {
    const T m = T(1) - math::fabs(y);
    return m * m;
  }
};

// tanhshrink: f(x) = x - tanh(x); f'(x) = tanh(x)^2, in [0, 1). Odd, monotonic.
// |x| < 1.5: f = x^3 / (x^2 + D) from Lambert's continued fraction for tanh (all terms positive,
// so no cancellation where x and tanh(x) agree to many digits). Beyond: f = (|x| - 1) +
// 2 sigmoid(-2|x|), a sum of non-negative terms with |x| - 1 exact up to |x| = 2. f' = t^2 from
// the same double-word tanh. That is the f64 path; float runs tanhshrink_f32 above (a polynomial
// below |x| = 0.9, one division). f(+-inf) = +-inf, f'(+-inf) = 1. Not offered from y (f' as a
// function of y needs tanh^{-1} of y, which is ill-conditioned). PyTorch
// torch.nn.functional.tanhshrink. Measured max error: see docs/accuracy.md.
template <class T>
struct TanhshrinkOp : ActBase {
  static ActMeta meta() {
    return {"x - tanh(x)",
            "tanh(x)^2",
            "PyTorch torch.nn.functional.tanhshrink",
            "",
            0,
            {},
            {0, 1, 0, Saturation::none, Saturation::none, true, true}};
  }
  explicit TanhshrinkOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sq = detail::squashing;
    if constexpr (sizeof(T) == sizeof(float)) {
      return sq::tanhshrink_f32(x);
    } else {
      const T a = math::fabs(x);
      sq::Pair<T> f, t;
      if (a < T(sq::kTanhCfMax)) {
        f = sq::tanhshrink_cf(a);
        t = sq::fast_two_sum(a, -f.hi);
        t.lo -= f.lo;
      } else if (a == math::inf<T>()) {
        return {x, T(1)};
      } else {
        const sq::TanhParts<T> p = sq::tanh_exp(a); // NaN lands here and propagates
        f = sq::add(sq::two_sum(a, T(-1)), p.one_minus);
        t = p.t;
      }
      return {math::copysign(sq::value(f), x), sq::value(sq::mul(t, t))};
    }
  }
  // 16-bit storage, one formula with a selected term: with a = |x|, q = 2e / (1 + e) and
  // e = exp(-2a), f = (a - 1) + q and tanh(a) = 1 - q for a >= 1/2 (the sum cancels by at most
  // 2^4.6 there, leaving 19 bits), and for a < 1/2 f = a^3 P(a^2), P the Taylor polynomial of
  // (a - tanh a) / a^3 to degree 5 (truncation below 2^-18 relative), tanh(a) = a - f.
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    const float a = math::fabs(x);
    const float e = math::fl::exp_lean_value(-2.0f * a);
    const float q = (2.0f * e) * math::fl::recip(1.0f + e);
    const float s = a * a;
    const float p = math::fl::poly(s, 1.0f / 3, -2.0f / 15, 17.0f / 315, -62.0f / 2835,
                                   1382.0f / 155925, -21844.0f / 6081075);
    const bool near = a < 0.5f;
    const float f = near ? (a * s) * p : (a - 1.0f) + q;
    const float t = near ? a - f : 1.0f - q;
    return {math::copysign(f, x), 1.0f, t * t, 1.0f};
  }
};

} // namespace actgrad
