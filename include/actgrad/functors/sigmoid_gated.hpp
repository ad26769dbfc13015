// Functors gated by a sigmoid or Gaussian: gelu, gelu_tanh, quick_gelu, silu, swish, mish,
// hardswish.
//
// All but hardswish are x * gate(x) with a smooth gate -> 0 as x -> -inf, so f -> -0, f' -> 0 on
// the left and f ~ x, f' -> 1 on the right. Numerics shared by the kernels below:
// - Saturation. Each kernel clamps x (or the gate's argument) where the gate has saturated in
//   double, so +-inf, +-1e30 and +-FLT_MAX never form inf * 0 or inf - inf, and x^3 never
//   overflows.
// - Conditioning in the left tail. f ~ x exp(g(x)): an error of 1 ulp in the gate's argument g
//   becomes |g| ulps in f (up to 745 in f64). g is carried as a double-word hi + lo (see
//   squashing.hpp) and the gate corrected to first order: sigma(g + d) = sigma(g)(1 + d sigma(-g)).
// - Subnormal gates and inputs. Where the gate (or x itself) is subnormal, f = x * gate may not
//   be, and rounding the gate first would multiply its absolute error by |x|. The kernels then
//   return f and f' times 2^64 (Parts::*_unscale = 2^-64), and the caller rounds once more after
//   the exact power-of-two scaling; gated units do the same after multiplying by b.
// - Zeros of f'. Each gate but hardswish has f'(x0) = 0 near x0 = -0.75 to -1.3, where f' is a
//   difference of two terms of size ~0.2: there only an absolute error of a few ulps of those
//   terms is meaningful (SPEC §3). Each functor names its zero.
#pragma once

#include <cmath>
#include <limits>

#include "actgrad/functors/base.hpp"
#include "actgrad/functors/squashing.hpp"

namespace actgrad {
namespace detail {
namespace sigmoid_gated {

namespace sq = squashing;
using sq::exact_parts;
using sq::Parts;
using sq::round_parts;
using sq::rounded_parts;
using sq::split;

// Constants as (RN(c), RN(c - RN(c))) pairs for split(), with their 40-digit values (mpmath).
// 1/sqrt(2)      = 0.7071067811865475244008443621048490392848
constexpr double kInvSqrt2Hi = 0.7071067811865476, kInvSqrt2Lo = -4.833646656726457e-17;
// 1/sqrt(2 pi)   = 0.3989422804014326779399460599343818684759
constexpr double kInvSqrt2PiHi = 0.3989422804014327, kInvSqrt2PiLo = -2.49232720227773e-17;
// 2/sqrt(pi)     = 1.128379167095512573896158903121545171688
constexpr double kTwoOverSqrtPiHi = 1.1283791670955126, kTwoOverSqrtPiLo = 1.533545961316588e-17;
// sqrt(2)        = 1.414213562373095048801688724209698078570 (only in correction terms)
constexpr double kSqrt2 = 1.4142135623730951;
// sqrt(8/pi)     = 2 sqrt(2/pi) = 1.595769121605730711759784239737527473903
constexpr double kSqrt8OverPiHi = 1.5957691216057308, kSqrt8OverPiLo = -9.96930880911092e-17;
// gelu_tanh's cubic coefficient 0.044715 (Hendrycks & Gimpel) times sqrt(8/pi)
//                = 0.07135481627260024877633875227986354099559
constexpr double kGeluTanhCubicHi = 0.07135481627260025, kGeluTanhCubicLo = -6.175149918155315e-19;
// quick_gelu's 1.702 (the decimal): RN(1.702) and 1.702 - RN(1.702)
constexpr double kQuickGeluHi = 1.702, kQuickGeluLo = 4.263256414560601e-17;

// Below |x| = 2^-60 (far above the subnormal range of f32 and f64, harmless for normal x), x is
// scaled by 2^64 before it multiplies the gate, so a subnormal f is rounded only once.
constexpr double kTinyInput = 1.0 / 1152921504606846976.0; // 2^-60, exact
constexpr double kTinyScale = 18446744073709551616.0;      // 2^64, exact

// ---- swish family: f = x sigma(z), z = beta x; f' = sigma(z) (1 + z sigma(-z)) -------------
// Beyond |z| = 1500, sigma(-|z|) < e^-1500 and even DBL_MAX e^-1500 underflows in double: f has
// reached x or 0, and f' 1 or 0.
constexpr double kSwishSat = 1500;

// Saturated (|z0| >= kSwishSat, inf or NaN; swish_run is false): f and f' are selected at the
// end from swish_saturated, and the kernel runs on x = 0 there. Selects, not branches, so loops
// over it vectorise. (One helper returning the flag and x as well kept GCC 12 from vectorising
// silu's loop.)
template <class T>
ACTGRAD_HOST_DEVICE bool swish_run(T z0) {
  return math::fabs(z0) < T(kSwishSat);
}
template <class T>
ACTGRAD_HOST_DEVICE Fused<T> swish_saturated(T x, T z0) {
  // One select per statement: nested ones merge into a many-way join that GCC 12 cannot
  // if-convert.
  T sat_y = x * T(0.5); // beta = 0, or NaN
  sat_y = z0 < T(0) ? T(0) * math::copysign(T(1), x) : sat_y;
  sat_y = z0 > T(0) ? x : sat_y;
  T sat_dy = math::isnan(x) ? x : T(0.5);
  sat_dy = z0 < T(0) ? T(0) : sat_dy;
  sat_dy = z0 > T(0) ? T(1) : sat_dy;
  return {sat_y, sat_dy};
}

// The swish family's f and f' as double-words (f64, and the gated units in every compute type,
// which multiply them by b before rounding). kUnitBeta: beta = 1 (silu, swiglu), so beta x = x
// exactly and there is no z_lo to carry; the compiler cannot drop 1 x - x and 0 x itself (inf and
// NaN), so the kernel says so.
template <class T, bool kUnitBeta = false>
ACTGRAD_HOST_DEVICE Parts<T> swish_parts(T x, sq::Pair<T> beta) {
  const T z0 = beta.hi * x;
  const bool run = swish_run(z0);
  const Fused<T> sat = swish_saturated(x, z0);
  x = run ? x : T(0); // beta = 0 and x = +-inf: f = x/2 above; NaN: NaN
  const T z = beta.hi * x;
  T z_lo = T(0); // beta x = z + z_lo
  if constexpr (!kUnitBeta) z_lo = sq::two_prod(beta.hi, x).lo + beta.lo * x;
  const sq::SigmoidParts<T> s = sq::sigmoid_parts(z);
  sq::Pair<T> sig = s.pos; // sigma(z + z_lo) = sigma(z) (1 + z_lo sigma(-z)) to first order
  if constexpr (!kUnitBeta) sig.lo += s.pos.hi * (z_lo * s.neg_rough);
  const bool tiny = math::fabs(x) < T(kTinyInput);
  const T xs = tiny ? x * T(kTinyScale) : x;
  const sq::Pair<T> y = sq::mul(sig, xs);
  const sq::Pair<T> zn = kUnitBeta ? sq::mul(s.neg, z) : sq::mul(s.neg, sq::Pair<T>{z, z_lo});
  const sq::Pair<T> dy = sq::mul(sig, sq::add(sq::Pair<T>{T(1), T(0)}, zn));
  return {{run ? y.hi : sat.y, run ? y.lo : T(0)},
          run ? (tiny ? s.unscale * T(1 / kTinyScale) : s.unscale) : T(1),
          {run ? dy.hi : sat.dy, run ? dy.lo : T(0)},
          run ? s.unscale : T(1)};
}

// The unary swish family's f and f' (fused, forward, backward). f64 rounds swish_parts. Float
// multiplies rounded factors, s = sigma(z) and n = sigma(-z), each rounded once from
// sigmoid_parts' double-words (about 2^-40 relative before that rounding), which is within the
// bounds and 15-20 instructions shorter per element on the GPU (per 16 elements with AVX-512):
// - f = x s: s is within 2^-24 (1 + 2^-15) of sigma(z), relative, and the product adds one
//   rounding of 2^-24, so f is within 2^-23 (1 + 2^-15) |f| of x sigma(z): under 2 ulp (f <= 2
//   allowed). In the left tail s is times 2^64 and the product is rounded once more after the
//   exact scaling back, which only adds to a subnormal f's absolute error of 2^-150.
// - f' = s (1 + z n), about 2 ulp (4 allowed): 1 + z n is in [1, 1.28] for z >= 0 and below 1
//   for z < 0, where it crosses 0 at f''s zero and the error is absolute (SPEC §3). (The gated
//   units keep double-words: an extra rounding before the product with b took qgeglu's d/da to
//   5 ulp, 3 of 2^32 inputs, exhaustive run 2026-12-07.)
template <class T, bool kUnitBeta = false>
ACTGRAD_HOST_DEVICE Fused<T> swish_fused(T x, sq::Pair<T> beta) {
  if constexpr (sizeof(T) != sizeof(float)) {
    return round_parts(swish_parts<T, kUnitBeta>(x, beta));
  } else {
    const T z0 = beta.hi * x;
    const bool run = swish_run(z0);
    const Fused<T> sat = swish_saturated(x, z0);
    x = run ? x : T(0);
    const T z = beta.hi * x;
    T z_lo = T(0);
    if constexpr (!kUnitBeta) z_lo = sq::two_prod(beta.hi, x).lo + beta.lo * x;
    const sq::SigmoidParts<T> s = sq::sigmoid_parts(z);
    T sig_lo = s.pos.lo;
    if constexpr (!kUnitBeta) sig_lo += s.pos.hi * (z_lo * s.neg_rough);
    const T sig = s.pos.hi + sig_lo; // sigma(z) / unscale
    const T neg = sq::value(s.neg);
    T bracket = sq::mul_add(z, neg, T(1));
    if constexpr (!kUnitBeta) bracket += z_lo * neg;
    const T y = (x * sig) * s.unscale, dy = (sig * bracket) * s.unscale;
    return {run ? y : sat.y, run ? dy : sat.dy};
  }
}

// x sigma(z) and sigma(z) (1 + c sigma(-z)) for 16-bit storage, both times 1/un (un = 2^-64 for
// z < -45): the narrow swish family (c = z) and gelu_tanh (c = x w').
ACTGRAD_HOST_DEVICE Narrow<float> x_sigma_narrow(float x, float z, float c) {
  const sq::SigmoidNarrow s = sq::sigmoid_narrow(z);
  const bool pos = z >= 0.0f;
  const float sig = pos ? s.big : s.small;        // sigma(z) / un (z < 0)
  const float neg = pos ? s.small * s.un : s.big; // sigma(-z)
  const float un = pos ? 1.0f : s.un;
  return {x * sig, un, sig * math::fl::madd(c, neg, 1.0f), un};
}

// The swish family for 16-bit storage (see squashing.hpp's narrow kernels): f = x sigma(z),
// f' = sigma(z) (1 + z sigma(-z)), z = beta x rounded once, sigma from sigmoid_narrow. The
// bracket crosses 0 at f''s zero (z = -1.2785), where its error is absolute: about 2 ulps of
// z sigma(-z) ~ 1, times sigma(z) ~ 0.22, below f16's smallest subnormal (2^-24). Saturated for
// |z| >= kNarrowSat (inf, NaN and beta = 0 as in swish_parts).
ACTGRAD_HOST_DEVICE Narrow<float> swish_narrow(float x, float beta) {
  const float z0 = beta * x;
  const bool run = math::fabs(z0) < sq::kNarrowSat;
  float sat_y = x * 0.5f; // beta = 0, or NaN
  sat_y = z0 < 0.0f ? 0.0f * math::copysign(1.0f, x) : sat_y;
  sat_y = z0 > 0.0f ? x : sat_y;
  float sat_dy = math::isnan(x) ? x : 0.5f;
  sat_dy = z0 < 0.0f ? 0.0f : sat_dy;
  sat_dy = z0 > 0.0f ? 1.0f : sat_dy;
  const float xr = run ? x : 0.0f;
  const float z = beta * xr;
  const Narrow<float> g = x_sigma_narrow(xr, z, z);
  return {run ? g.y : sat_y, run ? g.y_unscale : 1.0f, run ? g.dy : sat_dy,
          run ? g.dy_unscale : 1.0f};
}

// ---- gelu (erf): f = x Phi(x), f' = Phi(x) + x phi(x), phi(x) = exp(-x^2/2)/sqrt(2 pi) ----------
// Beyond |x| = 40, phi(x) < e^-800 and Phi(-|x|) < phi(x)/|x| underflow in double (the smallest
// subnormal is about e^-744.4).
constexpr double kGeluClamp = 40;
// Phi(x) = 1/2 + erf(x/sqrt2)/2 for x >= kGeluErfMin, where Phi >= 0.3 and erf's error (< 1 ulp
// in glibc) is not amplified by more than 1.
constexpr double kGeluErfMin = -0.5;
// Left of that, libm erfc is 2-3 ulp in f64 (glibc, measured), so f64 uses its own:
// - -kGeluCfFrom < x < kGeluErfMin: erf(z) = 2/sqrt(pi) sum_n (-z^2)^n / (n! (2n + 1)) with
//   z = |x|/sqrt2, summed in double-word arithmetic (the terms cancel by at most 2^8 here) until
//   the next term is below 2^-62 of the sum;
// - x <= -kGeluCfFrom: the Mills ratio Phi(x)/phi(x) = 1/(t + 1/(t + 2/(t + 3/(t + ...)))),
//   t = |x|, evaluated from depth 500/t^2 + 10, which keeps the truncation below 2^-60 for
//   t >= 2.8 (checked with mpmath: 73 terms at t = 2.8, 41 at 4, 17 at 8). phi is formed times
//   2^64 there, because f ~ x phi and f' ~ x phi are subnormal in double beyond |x| = 37.5.
// The switch at t = 2^1.5 balances the two costs (35 series terms or 72 fraction levels).
constexpr double kGeluCfFrom = 2.8284271247461903; // 2 sqrt(2), where z = 2
constexpr int kGeluSeriesMax = 48;                 // enough for z <= 2 (35 terms needed)
constexpr double kGeluSeriesTol = 0x1p-62;         // stop once a term is below 2^-62 of the sum
constexpr double kMillsDepthScale = 500, kMillsDepthMin = 10; // depth = 500/t^2 + 10

// gelu in double with its own erfc for x < kGeluErfMin (see above).
ACTGRAD_HOST_DEVICE Parts<double> gelu_parts_f64(double x) {
  using P = sq::Pair<double>;
  const double xc = sq::clamp_keep_nan(x, -kGeluClamp, kGeluClamp);
  const P c = split<double>(kInvSqrt2PiHi, kInvSqrt2PiLo);
  const P s = sq::two_prod(xc, xc); // x^2 exactly
  if (xc <= -kGeluCfFrom) {
    const P k = split<double>(sq::kTailScaleLogHi, sq::kTailScaleLogLo);
    P arg = sq::two_sum(-0.5 * s.hi, k.hi); // -x^2/2 + 64 log 2
    arg.lo += k.lo - 0.5 * s.lo;
    const double g = math::exp(arg.hi);
    const P phi = sq::mul(c, P{g, g * arg.lo}); // phi(x) 2^64
    const double t = -xc;
    const int depth = int(kMillsDepthScale / s.hi + kMillsDepthMin);
    double d = t; // the tail t + 2/(t + 3/(...)), then its last level in double-word
    for (int j = depth; j >= 2; --j) d = t + j / d;
    const P q = sq::div(1.0, P{d, 0});
    P d0 = sq::fast_two_sum(t, q.hi);
    d0.lo += q.lo;
    const P r = sq::div(1.0, d0);  // Mills ratio Phi(x)/phi(x)
    const P cdf = sq::mul(phi, r); // Phi(x) 2^64
    const double u = sq::kTailUnscale;
    return {sq::mul(cdf, xc), u, sq::mul(phi, sq::add(r, P{xc, 0})), u};
  }
  const double g = math::exp(-0.5 * s.hi);
  const P phi = sq::mul(c, P{g, -0.5 * s.lo * g}); // exp(-(s.hi + s.lo)/2) to first order
  const P z = sq::mul(split<double>(kInvSqrt2Hi, kInvSqrt2Lo), xc);
  P cdf;
  if (!(xc < kGeluErfMin)) { // also NaN
    // z.lo enters to first order through dPhi/dz = sqrt2 phi(x).
    cdf = sq::fast_two_sum(0.5, 0.5 * math::erf(z.hi));
    cdf.lo += kSqrt2 * phi.hi * z.lo;
  } else {
    const P mz2 = sq::mul(z, P{-z.hi, -z.lo});
    P term{1, 0}, sum{1, 0};
    for (int n = 1; n <= kGeluSeriesMax; ++n) {
      term = sq::div(sq::mul(term, mz2), P{double(n), 0});
      const P next = sq::div(term, P{double(2 * n + 1), 0});
      sum = sq::add(sum, next);
      if (math::fabs(next.hi) < kGeluSeriesTol * sum.hi) break;
    }
    const P erf = sq::mul(sq::mul(split<double>(kTwoOverSqrtPiHi, kTwoOverSqrtPiLo), z), sum);
    cdf = sq::add(P{0.5, 0}, P{0.5 * erf.hi, 0.5 * erf.lo}); // cancels by up to 2^8: exact here
  }
  const bool tiny = math::fabs(xc) < kTinyInput;
  const P y = x > kGeluClamp ? P{x, 0} : sq::mul(cdf, tiny ? xc * kTinyScale : xc);
  return {y, tiny ? 1 / kTinyScale : 1.0, sq::add(cdf, sq::mul(phi, xc)), 1.0};
}

// ---- gelu in float (f32, f16 and bf16 compute) ---------------------------------------------
// One formula for every x, through the Mills ratio M(t) = Phi(-t) / phi(t), t = |x|:
//   Phi(-t) = q = phi(t) M(t), M = 1 / (t + g(t)), g = 1/M - t in [0.06, 0.80];
//   x < 0: f = x q, f' = Phi(x) + x phi(x) = q - t phi;
//   x > 0: f = x (1 - q), f' = 1 - q + t phi.
// phi = e0 exp(-s/2) with e0 = 1/sqrt(2 pi) and s = x^2 an exact double-word, from exp_core's
// unrounded hi + lo (2^-25.9), times 2^64 for x < 0 where s/2 > 45 (f and f' below 2^-60; see
// the notes at the top). g's error reaches M reduced by g/(t + g) (at most 1, at t = 0), so g is
// a double-word from two fitted pieces (gelu_mills_g). q - t phi cancels near f' = 0
// (x = -0.7518), where SPEC §3's absolute rule applies (|f'| <= (q + t phi)/2), and by less than
// a factor of 2 outside that region; q and t phi are double-words, so the difference is exact
// and f' keeps q's error times that factor. One quotient (1/(t + g)) and no series branch: every
// lane runs the same operations. t > 16: f = x or -0 and f' = 1 or -0 (phi(16) = e^-128 / sqrt(2
// pi) underflows in float). Measured max error: see docs/accuracy.md and
// docs/accuracy-exhaustive.md.
constexpr float kGeluFloatClamp = 16;
// g(t) = 1/M(t) - t as hi + lo, for t in [0, 16] (w = 1/t): on [0, 2) a polynomial of degree 8
// in t; on [2, 16] t g (in [0.74, 1)) as one of degree 8 in w - 0.28125. Each piece ends with
// c0 + v p formed exactly (|v p| < |c0| on both), c0 itself a double-word. Fits: the error in g
// times 1/(t + g), which is how it reaches M, is below 2^-26 on [0, 2) and 2^-27.6 on [2, 16]
// (float evaluation; numpy least squares on Chebyshev nodes against mpmath, coefficients rounded
// to float one at a time, the rest refitted).
// The fit's pieces: g = (c0 + c0_lo + v p) m.
struct GeluMillsFit {
  float v, p, c0, c0_lo, m;
};
ACTGRAD_HOST_DEVICE GeluMillsFit gelu_mills_fit(float t, float w) {
  const bool near = t < 2.0f; // selects keyed by one comparison each
  const float v = near ? t : w - 0.28125f;
  // p = c1 + c2 v + ... + c8 v^7 (math::fl::poly).
  const float p = math::fl::poly(
      v, near ? -0x1.7419eep-2f : -0x1.4642e4p-1f, near ? 0x1.be7cd8p-4f : -0x1.4152p-3f,
      near ? -0x1.3947c2p-6f : 0x1.8210ep+0f, near ? -0x1.bb56cap-13f : -0x1.64b61ap+1f,
      near ? 0x1.5bff18p-10f : 0x1.144836p+1f, near ? -0x1.c9f976p-12f : 0x1.f9845cp+1f,
      near ? 0x1.2e6926p-14f : -0x1.1befa2p+4f, near ? -0x1.5e71d8p-18f : 0x1.75409p+4f);
  return {v, p, near ? 0x1.988454p-1f : 0x1.c3f38p-1f, near ? -0x1.f72358p-26f : 0x1.00a0acp-26f,
          near ? 1.0f : w}; // [2, 16]: the polynomial is t g
}
ACTGRAD_HOST_DEVICE sq::Pair<float> gelu_mills_g(float t, float w) {
  const GeluMillsFit f = gelu_mills_fit(t, w);
  const sq::Pair<float> vp = sq::two_prod(f.v, f.p);
  sq::Pair<float> g = sq::fast_two_sum(f.c0, vp.hi);
  g.lo += vp.lo + f.c0_lo;
  return {g.hi * f.m, g.lo * f.m};
}

// c ? a : b, componentwise (selects of scalars vectorise; a select of a struct may branch).
ACTGRAD_HOST_DEVICE sq::Pair<float> gelu_sel(bool c, sq::Pair<float> a, sq::Pair<float> b) {
  return {c ? a.hi : b.hi, c ? a.lo : b.lo};
}

// kRounded (the unary ops): f = x Phi(x) from Phi(x) rounded once (within 2 ulp, as
// swish_fused's f) and f' rounded, for rounded_parts; the gated units keep the double-words.
template <bool kRounded = false>
ACTGRAD_HOST_DEVICE Parts<float> gelu_parts_f32(float x) {
  using P = sq::Pair<float>;
  const float xc = sq::clamp_keep_nan(x, -kGeluFloatClamp, kGeluFloatClamp);
  const float t = math::fabs(xc);
  const bool neg = xc < 0.0f;
  const P s = sq::two_prod(t, t);
  const P e0 = split<float>(kInvSqrt2PiHi, kInvSqrt2PiLo);
  // phi = e0 exp(-(ah + al)), scaled by 2^64 for x < 0 beyond s/2 = 45; for x >= 0 s/2 is
  // capped at 80, where phi M < 2^-115 no longer moves 1 - phi M, so 2^k stays normal.
  const float from = neg ? float(sq::kTailScaleFrom) : math::inf<float>();
  const float ah0 = 0.5f * s.hi, al = 0.5f * s.lo;
  const bool scale = ah0 > from;
  const float cap = neg ? 128.0f : 80.0f; // x < 0: s/2 <= 128 already (t <= 16)
  const float ah = ah0 < cap ? ah0 : cap;
  const math::fl::ExpCore c = math::fl::exp_core(-ah);
  const float p2 = math::fl::pow2i(c.k + (scale ? 64 : 0));
  // exp(-ah - al) = 2^k (hi + lo) (1 - al) to first order (|al| <= 2^-17); lo is up to 0.06.
  const P phi = sq::mul(P{c.hi * p2, (c.lo - (c.hi + c.lo) * al) * p2}, e0);
  const float unscale = scale ? float(sq::kTailUnscale) : 1.0f;
  const P g = gelu_mills_g(t, math::fl::recip(t)); // t < 2: w (inf or NaN at 0) not selected
  const P q = sq::mul(phi, sq::div(1.0f, sq::divisor(sq::add(P{t, 0.0f}, g)))); // Phi(-t)
  P tp = sq::two_prod(t, phi.hi);
  tp.lo += t * phi.lo;
  const P r = sq::add(tp, P{-q.hi, -q.lo}); // t phi - q = -f'(-t)
  const P cdf = gelu_sel(neg, q, sq::add(P{1.0f, 0.0f}, P{-q.hi, -q.lo}));
  const P dy = gelu_sel(neg, P{-r.hi, -r.lo}, sq::add(P{1.0f, 0.0f}, r));
  // f = x, f' = 1 beyond the clamp.
  const bool big = x > kGeluFloatClamp;
  if constexpr (kRounded) {
    const float y = xc * sq::value(cdf);
    return {{big ? x : y, 0.0f}, unscale, {big ? 1.0f : sq::value(dy), 0.0f}, unscale};
  }
  // Below 2^-60, x is scaled by 2^64 so that f = x/2 is not rounded twice as a subnormal.
  const bool tiny = t < float(kTinyInput);
  const P y = sq::mul(cdf, tiny ? xc * float(kTinyScale) : xc);
  return {gelu_sel(big, P{x, 0.0f}, y), tiny ? float(1 / kTinyScale) : unscale,
          gelu_sel(big, P{1.0f, 0.0f}, dy), unscale};
}

// gelu for 16-bit storage (see squashing.hpp's narrow kernels): the same Mills-ratio formula
// with every step rounded once. With T = t + g (g rounded once from the fit) and q = phi / T:
//   f'(-t) = q - t phi = q (1 - t T), 1 - t T by one fused multiply-add,
// so near f''s zero (x = -0.7518, where t T = 1) the error is that of 1 - t T (a few 2^-25),
// times q ~ 0.23: below f16's smallest subnormal. phi is formed times 2^64 for x < 0 beyond
// x^2/2 = 45; for x >= 0, x^2/2 is capped at 80 (phi M < 2^-115 no longer moves 1 - q).
ACTGRAD_HOST_DEVICE Narrow<float> gelu_narrow(float x) {
  const float xc = sq::clamp_keep_nan(x, -kGeluFloatClamp, kGeluFloatClamp);
  const float t = math::fabs(xc);
  const bool neg = xc < 0.0f;
  const float h0 = 0.5f * (t * t);
  // Thresholds selected by sign, so that each select is keyed by one comparison (GCC 12 does
  // not vectorise selects keyed by && or || of two).
  const bool scale = h0 > (neg ? float(sq::kTailScaleFrom) : math::inf<float>());
  const float cap = neg ? 128.0f : 80.0f;
  const float h = h0 < cap ? h0 : cap;
  const math::fl::ExpLean c = math::fl::exp_lean(-h);
  const float phi = ((1.0f + c.w) * math::fl::pow2i(c.k + (scale ? 64 : 0))) * float(kInvSqrt2PiHi);
  const float un = scale ? float(sq::kTailUnscale) : 1.0f;
  const GeluMillsFit fit = gelu_mills_fit(t, math::fl::recip(t));    // t < 2: w not selected
  const float tt = t + math::fl::madd(fit.v, fit.p, fit.c0) * fit.m; // t + g
  const float q = phi * math::fl::recip(tt);                         // Phi(-t) (x 2^64)
  const float d = q * math::fl::madd(-t, tt, 1.0f);                  // f'(-t) (x 2^64)
  const bool big = x > kGeluFloatClamp;
  return {big ? x : (neg ? xc * q : xc * (1.0f - q)), un, big ? 1.0f : (neg ? d : 1.0f - d), un};
}

// ---- gelu_tanh: f = x sigma(w), w = 2 sqrt(2/pi) (x + 0.044715 x^3) = x (A + B x^2) -------------
// f' = sigma(w) + x w' sigma(w) sigma(-w), w' = A + 3 B x^2. At |x| = 30, |w| > 1900 and
// sigma(-|w|) < e^-1900 underflows in double: f and f' have reached their limits.
constexpr double kGeluTanhClamp = 30;

// kRoundedDy: the unary ops' fused f' in float as sigma(w) rounded times a double-word bracket
// B (below), one product rounded once; gated units keep the all-double-word f' for their
// product with b.
template <class T, bool kRoundedDy = false>
ACTGRAD_HOST_DEVICE Parts<T> gelu_tanh_parts(T x) {
  // Beyond the clamp f = x and f' = 1, selected at the end (no early return: a gated unit's loop
  // over it would not vectorise).
  const bool big = x > T(kGeluTanhClamp);
  const T xc = sq::clamp_keep_nan(x, T(-kGeluTanhClamp), T(kGeluTanhClamp));
  const sq::Pair<T> a = split<T>(kSqrt8OverPiHi, kSqrt8OverPiLo);
  const sq::Pair<T> b = split<T>(kGeluTanhCubicHi, kGeluTanhCubicLo);
  const sq::Pair<T> s = sq::two_prod(xc, xc);
  // w = (A + B x^2) x and x w' = x (A + 3 B x^2) = w + 2 B x^2 x: all terms have x's sign, so
  // the sum does not cancel. In the left tail f' ~ sigma(w) x w', so x w' is a double-word too.
  const sq::Pair<T> bs = sq::mul(b, s);
  const sq::Pair<T> w = sq::mul(sq::add(a, bs), xc);
  const sq::Pair<T> xdw = sq::add(w, sq::mul(sq::Pair<T>{T(2) * bs.hi, T(2) * bs.lo}, xc));
  const sq::SigmoidParts<T> sp = sq::sigmoid_parts(w.hi);
  sq::Pair<T> sig = sp.pos;
  sig.lo += sp.pos.hi * (w.lo * sp.neg_rough);
  sq::Pair<T> dy;
  if constexpr (kRoundedDy && sizeof(T) == sizeof(float)) {
    // Float: f' = sigma(w) B, B = 1 + x w' sigma(-w), with sigma(w) rounded and B a
    // double-word: beyond f''s zero B passes -1 (x near -1.2, where the terms cancel by about 2
    // and a rounded B cost 5 ulps of f'). sigma(-w) is corrected for w's low part as sigma(w) is.
    const T neg_lo = sp.neg.lo - (sp.pos.hi * sp.unscale) * (sp.neg.hi * w.lo);
    const sq::Pair<T> p = sq::two_prod(xdw.hi, sp.neg.hi);
    const sq::Pair<T> b1 = sq::two_sum(T(1), p.hi);
    const T sv = sq::value(sig);
    const T b_lo = b1.lo + (p.lo + (xdw.hi * neg_lo + xdw.lo * sp.neg.hi));
    dy = {sq::mul_add(sv, b1.hi, sv * b_lo), T(0)};
  } else {
    dy = sq::add(sig, sq::mul(sq::mul(sig, sp.neg), xdw));
  }
  if constexpr (kRoundedDy && sizeof(T) == sizeof(float)) {
    // f = x sigma(w) from sigma(w) rounded once: within 2 ulp, as swish_fused's f. For
    // rounded_parts.
    const T y = xc * sq::value(sig);
    return {{big ? x : y, T(0)},
            big ? T(1) : sp.unscale,
            {big ? T(1) : dy.hi, T(0)},
            big ? T(1) : sp.unscale};
  }
  const bool tiny = math::fabs(xc) < T(kTinyInput);
  const sq::Pair<T> y = sq::mul(sig, tiny ? xc * T(kTinyScale) : xc);
  const T yu = tiny ? sp.unscale * T(1 / kTinyScale) : sp.unscale;
  return {{big ? x : y.hi, big ? T(0) : y.lo},
          big ? T(1) : yu,
          {big ? T(1) : dy.hi, big ? T(0) : dy.lo},
          big ? T(1) : sp.unscale};
}

// gelu_tanh for 16-bit storage: f = x sigma(w), f' = sigma(w) (1 + x w' sigma(-w)), each step
// rounded once, as swish_narrow (whose bracket this is, with x w' for z). Beyond |x| = 12,
// |w| > 128: sigma has saturated in float (f = x or -0, f' = 1 or 0).
constexpr float kGeluTanhNarrowClamp = 12;
ACTGRAD_HOST_DEVICE Narrow<float> gelu_tanh_narrow(float x) {
  const float xc = sq::clamp_keep_nan(x, -kGeluTanhNarrowClamp, kGeluTanhNarrowClamp);
  const float s = xc * xc;
  const float a = float(kSqrt8OverPiHi), b = float(kGeluTanhCubicHi);
  const float w = xc * math::fl::madd(b, s, a);
  const float xdw = xc * math::fl::madd(3.0f * b, s, a); // x w'
  const Narrow<float> g = x_sigma_narrow(xc, w, xdw);
  const bool big = x > kGeluTanhNarrowClamp;
  return {big ? x : g.y, g.y_unscale, big ? 1.0f : g.dy, g.dy_unscale};
}

// ---- mish: f = x tanh(softplus(x)) ------------------------------------------------------------
// With E = exp(x), tanh(log(1 + E)) = h / (1 + h), h = E + E^2/2 (x < 0: no overflow, no
// cancellation), and for x >= 0 with e = exp(-x): (1 + 2e) / (1 + 2e + 2e^2).
// f' = tanh(sp) + x sech(sp)^2 sigmoid(x) = T + x E (1 + E) / (1 + h)^2 (x < 0)
//                                        = T + 4 x e^2 (1 + e) / (1 + 2e + 2e^2)^2 (x >= 0).
// Beyond |x| = 1500, exp(-|x|) underflows in double even after scaling by DBL_MAX.
constexpr double kMishClamp = 1500;

// kRounded (mish's fused op in float): f = x tanh(sp) from tanh(sp) rounded once (within 2 ulp,
// as swish_fused's f) and f' rounded, for rounded_parts.
template <class T, bool kRounded = false>
ACTGRAD_HOST_DEVICE Parts<T> mish_parts(T x) {
  if (x > T(kMishClamp)) return exact_parts(x, T(1));
  const T xc = x < T(-kMishClamp) ? T(-kMishClamp) : x;
  const sq::ScaledExp<T> e =
      sq::exp_neg(math::fabs(xc), xc < T(0) ? T(sq::kTailScaleFrom) : math::inf<T>());
  sq::Pair<T> tsp, second; // tanh(softplus(x)) and the second term of f', both / e.unscale
  if constexpr (sizeof(T) == sizeof(float)) {
    // Float: both sides as one formula with selected terms, so the vector loop computes one
    // quotient, not two. With e = exp(-|x|) and the x < 0 side's fraction times 2/2:
    //   x < 0:  tanh(sp) = (2e + e^2) / (2 + 2e + e^2),  second = 4x e (1 + e) / den^2
    //   x >= 0: tanh(sp) = (1 + 2e) / (1 + 2e + 2e^2),   second = 4x e^2 (1 + e) / den^2
    // the same terms as the double path below, scaled by powers of two.
    using P = sq::Pair<T>;
    const bool pos = !(xc < T(0)); // NaN: the x >= 0 side, as below
    const P es2{T(2) * e.scaled.hi, T(2) * e.scaled.lo};
    const P ee = sq::mul(e.scaled, e.plain); // e^2 (times 1/unscale on the x < 0 side)
    // Componentwise selects (a select of a struct may become a branch).
    const P lead{pos ? T(1) : ee.hi, pos ? T(0) : ee.lo};
    const P num = sq::add(es2, lead); // / unscale
    const P tail{pos ? T(2) * ee.hi : T(2), pos ? T(2) * ee.lo : T(0)};
    const sq::Divisor<T> den =
        sq::divisor(sq::add(P{num.hi * e.unscale, num.lo * e.unscale}, tail));
    tsp = sq::div(num, den);
    const P r = sq::div(T(1), den);
    const P g{pos ? ee.hi : e.scaled.hi, pos ? ee.lo : e.scaled.lo};
    second =
        sq::mul(sq::mul(sq::mul(g, T(4) * xc), sq::fast_two_sum(T(1), e.plain)), sq::mul(r, r));
  } else if (xc < T(0)) {
    const sq::Pair<T> e2h = sq::mul(e.scaled, T(0.5) * e.plain);
    sq::Pair<T> h = sq::fast_two_sum(e.scaled.hi, e2h.hi); // h / unscale
    h.lo += e.scaled.lo + e2h.lo;
    const sq::Divisor<T> den = sq::divisor(sq::add(
        sq::Pair<T>{T(1), T(0)}, sq::Pair<T>{h.hi * e.unscale, h.lo * e.unscale})); // [1, 2.5]
    tsp = sq::div(h, den);
    const sq::Pair<T> r = sq::div(T(1), den);
    second =
        sq::mul(sq::mul(sq::mul(e.scaled, xc), sq::fast_two_sum(T(1), e.plain)), sq::mul(r, r));
  } else { // also NaN
    const sq::Pair<T> num = sq::fast_two_sum(T(1), T(2) * e.plain);
    const sq::Pair<T> ee = sq::two_prod(e.plain, e.plain);
    const sq::Divisor<T> den =
        sq::divisor(sq::add(num, sq::Pair<T>{T(2) * ee.hi, T(2) * ee.lo})); // in [1, 5]
    tsp = sq::div(num, den);
    const sq::Pair<T> r = sq::div(T(1), den);
    second = sq::mul(sq::mul(sq::two_prod(T(4) * xc, ee.hi), sq::fast_two_sum(T(1), e.plain)),
                     sq::mul(r, r));
  }
  if constexpr (kRounded && sizeof(T) == sizeof(float)) {
    return {
        {xc * sq::value(tsp), T(0)}, e.unscale, {sq::value(sq::add(tsp, second)), T(0)}, e.unscale};
  }
  const bool tiny = math::fabs(xc) < T(kTinyInput);
  return {sq::mul(tsp, tiny ? xc * T(kTinyScale) : xc),
          tiny ? e.unscale * T(1 / kTinyScale) : e.unscale, sq::add(tsp, second), e.unscale};
}

// mish for 16-bit storage, one formula with selected terms. With e = exp(-|x|) (times 2^64 for
// x < -45, un = 2^-64; E = e un) and f' = C B / den^2:
//   x < 0:  tanh(sp) = e (2 + E) / den, den = 2 + E (2 + E), C = e,
//           B = (4 + 4x) + E ((6 + 4x) + E (4 + E));
//   x >= 0: tanh(sp) = (1 + 2E) / den, den = 1 + 2E (1 + E), C = 1,
//           B = (1 + 2E) den + 4x E^2 (1 + E).
// B is the numerator of tanh(sp) + x sech(sp)^2 sigmoid(x) over den^2 / C: for x < 0 its terms
// cancel at f''s zero (x = -1.1924), where each is near 0.4 and 4 + 4x is exact, so f' keeps an
// absolute error of a few 2^-25 times C / den^2 ~ 0.04. x >= 0 is capped at 80 (e < 2^-115,
// f = x, f' = 1 in float), x < 0 at -128 (f and f' below 2^-170, 0 after unscaling).
ACTGRAD_HOST_DEVICE Narrow<float> mish_narrow(float x) {
  const bool pos = !(x < 0.0f); // NaN: the x >= 0 side
  const float xc = sq::clamp_keep_nan(x, -128.0f, 80.0f);
  const float a = math::fabs(xc);
  const math::fl::ExpLean c = math::fl::exp_lean(-a);
  const bool scale = a > (pos ? math::inf<float>() : float(sq::kTailScaleFrom)); // one compare
  const float es = (1.0f + c.w) * math::fl::pow2i(c.k + (scale ? 64 : 0));
  const float un = scale ? float(sq::kTailUnscale) : 1.0f;
  const float e = es * un;
  const float x4 = 4.0f * xc;
  const float num = pos ? math::fl::madd(2.0f, e, 1.0f) : es * (2.0f + e);
  const float den =
      pos ? math::fl::madd(2.0f * e, 1.0f + e, 1.0f) : math::fl::madd(e, 2.0f + e, 2.0f);
  const float bpos = math::fl::madd(num, den, x4 * (e * e) * (1.0f + e));
  const float bneg =
      (4.0f + x4) + e * ((6.0f + x4) + e * (4.0f + e)); // exact first term for 16-bit x
  const float r = math::fl::recip(den);
  const float cb = pos ? bpos : es * bneg;
  const bool big = x > 80.0f;
  return {big ? x : xc * (num * r), un, big ? 1.0f : cb * (r * r), un};
}

// Extremes of f' for the swish family, f'(x) = g(beta x) with g(z) = sigma(z)(1 + z sigma(-z)):
// g' = sigma(z) sigma(-z) (2 - z tanh(z/2)) vanishes at z* tanh(z*/2) = 2 (Newton from 2.4), and
// g(z) + g(-z) = 1, so f' spans [1 - g(z*), g(z*)] = [-0.0998..., 1.0998...] for beta > 0.
inline double swish_dmax() {
  double z = 2.4;
  for (int i = 0; i < 8; ++i) {
    const double t = std::tanh(z / 2);
    z -= (z * t - 2) / (t + z / 2 * (1 - t * t));
  }
  const double s = 1 / (1 + std::exp(-z));
  return s * (1 + z * (1 - s));
}

} // namespace sigmoid_gated
} // namespace detail

// gelu (erf form): f(x) = x Phi(x) = x/2 erfc(-x/sqrt2); f'(x) = Phi(x) + x phi(x),
// phi(x) = exp(-x^2/2)/sqrt(2 pi). Smooth. f(-inf) = -0, f(+inf) = +inf, f'(-inf) = 0,
// f'(+inf) = 1; no overflow anywhere (x is clamped to +-40 where Phi and phi have saturated).
// f' spans [f'(-sqrt2), f'(sqrt2)] = [-0.1289..., 1.1289...] and is 0 at x = -0.7518: there
// the bound is absolute, a few ulps of Phi(x) ~ 0.23.
// Precision: libm erfcf is 2.6 ulp (glibc) to 4 ulp (CUDA) and erfc is ill-conditioned in its
// argument (relative condition 2 z^2), so neither path calls it: f32, f16 and bf16 compute in
// float through a fitted Mills ratio (gelu_parts_f32), f64 through a double-word series and a
// continued fraction (gelu_parts_f64; libm erfc is 2-3 ulp in double).
// Hendrycks & Gimpel 2016, https://arxiv.org/abs/1606.08415; PyTorch gelu(approximate='none').
// Measured max error: see docs/accuracy.md.
template <class T>
struct GeluOp : ActBase {
  static ActMeta meta() {
    // f'' = phi(x) (2 - x^2): extremes of f' at x = +-sqrt2, f'(-sqrt2) = Phi(-sqrt2) - sqrt2
    // phi(sqrt2) and f'(sqrt2) = 1 - f'(-sqrt2) (as Phi(-x) = 1 - Phi(x)).
    const double phi = std::exp(-1.0) * detail::sigmoid_gated::kInvSqrt2PiHi;
    const double lo = 0.5 * std::erfc(1.0) - detail::sigmoid_gated::kSqrt2 * phi;
    return {"x Phi(x) = x/2 erfc(-x/sqrt2)",
            "Phi(x) + x phi(x)",
            "Hendrycks & Gimpel 2016 (arXiv:1606.08415); PyTorch gelu",
            "",
            0,
            {},
            {lo, 1 - lo, 0.5, Saturation::soft, Saturation::none, false, true}};
  }
  explicit GeluOp(const Params&) {}
  ACTGRAD_HOST_DEVICE detail::sigmoid_gated::Parts<T> parts(T x) const {
    if constexpr (sizeof(T) == sizeof(double)) {
      return detail::sigmoid_gated::gelu_parts_f64(x);
    } else {
      return detail::sigmoid_gated::gelu_parts_f32(x);
    }
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sg = detail::sigmoid_gated;
    if constexpr (sizeof(T) == sizeof(double)) {
      return sg::round_parts(parts(x));
    } else {
      return sg::rounded_parts(sg::gelu_parts_f32<true>(x));
    }
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    return detail::sigmoid_gated::gelu_narrow(x);
  }
};

// gelu_tanh: f(x) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) = x sigmoid(w),
// w = 2 sqrt(2/pi) (x + 0.044715 x^3); f'(x) = sigmoid(w) + x w' sigmoid(w) sigmoid(-w),
// w' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2). Smooth. x is clamped to +-30 (|w| > 1900) before
// x^3 is formed, so f' is never NaN (x^3 would overflow at |x| = 1e20 in f32). Limits as gelu.
// f' spans [-0.1290, 1.1290] (extremes at x = -+1.4185) and is 0 at x = -0.7525: there the
// bound is absolute, a few ulps of sigmoid(w) ~ 0.23. w and x w' are double-words (f ~ x exp(w)
// in the left tail). Hendrycks & Gimpel 2016, https://arxiv.org/abs/1606.08415;
// PyTorch gelu(approximate='tanh'). Measured max error: see docs/accuracy.md.
template <class T>
struct GeluTanhOp : ActBase {
  static ActMeta meta() {
    // Extremes of f' where f'' = 0, at x = -+1.4185040087908283555 (mpmath findroot); w is odd,
    // so f(x) - f(-x) = x and f'(-x) = 1 - f'(x).
    constexpr double kDmin = -0.12899306865877176546;
    return {"x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
            "sigmoid(w) + x w' sigmoid(w) sigmoid(-w), w = 2 sqrt(2/pi) (x + 0.044715 x^3)",
            "Hendrycks & Gimpel 2016 (arXiv:1606.08415); PyTorch gelu(approximate='tanh')",
            "",
            0,
            {},
            {kDmin, 1 - kDmin, 0.5, Saturation::soft, Saturation::none, false, true}};
  }
  explicit GeluTanhOp(const Params&) {}
  ACTGRAD_HOST_DEVICE detail::sigmoid_gated::Parts<T> parts(T x) const {
    return detail::sigmoid_gated::gelu_tanh_parts(x);
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sg = detail::sigmoid_gated;
    if constexpr (sizeof(T) == sizeof(float)) {
      return sg::rounded_parts(sg::gelu_tanh_parts<T, true>(x));
    } else {
      return sg::round_parts(sg::gelu_tanh_parts<T, true>(x));
    }
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    return detail::sigmoid_gated::gelu_tanh_narrow(x);
  }
};

// swish: f(x) = x sigmoid(beta x); f'(x) = sigmoid(z) (1 + z sigmoid(-z)), z = beta x. Smooth.
// beta x carries its rounding error as a double-word (f ~ x exp(beta x) in the left tail, so
// 1 ulp in beta x would become |beta x| ulps in f); beta is the double it is given. Saturated
// beyond |beta x| = 1500: f = x or -0, f' = 1 or 0; beta = 0 gives x/2. For beta > 0, f' spans
// [-0.0998, 1.0998] (where z tanh(z/2) = 2) and is 0 at beta x = -1.2785: there the bound is
// absolute, a few ulps of sigmoid(beta x). Ramachandran et al. 2017,
// https://arxiv.org/abs/1710.05941; oneDNN eltwise_swish (alpha).
// Measured max error: see docs/accuracy.md.
template <class T>
struct SwishOp : ActBase {
  detail::squashing::Pair<T> beta;
  static ActMeta meta() {
    const double dmax = detail::sigmoid_gated::swish_dmax();
    return {"x sigmoid(beta x)",
            "sigmoid(z) (1 + z sigmoid(-z)), z = beta x",
            "Ramachandran et al. 2017 (arXiv:1710.05941); oneDNN swish",
            "",
            1,
            {{"beta", 1.0, -std::numeric_limits<double>::infinity(),
              std::numeric_limits<double>::infinity(), true, true, "slope of the sigmoid gate"}},
            {1 - dmax, dmax, 0.5, Saturation::soft, Saturation::none, false, true}};
  }
  explicit SwishOp(const Params& p) : beta{T(p[0]), T(p[0] - double(T(p[0])))} {}
  ACTGRAD_HOST_DEVICE detail::sigmoid_gated::Parts<T> parts(T x) const {
    return detail::sigmoid_gated::swish_parts(x, beta);
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sg = detail::sigmoid_gated;
    return sg::swish_fused(x, beta);
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    return detail::sigmoid_gated::swish_narrow(x, float(beta.hi));
  }
};

// silu: f(x) = x sigmoid(x); f'(x) = sigmoid(x) (1 + x sigmoid(-x)). swish with beta = 1
// (see SwishOp for accuracy and limits); f' is 0 at x = -1.2785. Elfwing et al. 2017,
// https://arxiv.org/abs/1702.03118; PyTorch torch.nn.functional.silu.
// Measured max error: see docs/accuracy.md.
template <class T>
struct SiluOp : ActBase {
  static ActMeta meta() {
    const double dmax = detail::sigmoid_gated::swish_dmax();
    return {"x sigmoid(x)",
            "sigmoid(x) (1 + x sigmoid(-x))",
            "Elfwing et al. 2017 (arXiv:1702.03118); PyTorch silu",
            "",
            0,
            {},
            {1 - dmax, dmax, 0.5, Saturation::soft, Saturation::none, false, true}};
  }
  explicit SiluOp(const Params&) {}
  ACTGRAD_HOST_DEVICE detail::sigmoid_gated::Parts<T> parts(T x) const {
    namespace sg = detail::sigmoid_gated;
    return sg::swish_parts<T, true>(x, detail::squashing::Pair<T>{T(1), T(0)});
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sg = detail::sigmoid_gated;
    return sg::swish_fused<T, true>(x, detail::squashing::Pair<T>{T(1), T(0)});
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    return detail::sigmoid_gated::swish_narrow(x, 1.0f);
  }
};

// quick_gelu: f(x) = x sigmoid(1.702 x); f'(x) = sigmoid(z) (1 + z sigmoid(-z)), z = 1.702 x.
// swish with beta = 1.702 exactly (the decimal, carried as a double-word: the f64 rounding of
// 1.702 alone would cost up to 70 ulps in the left tail); f' is 0 at x = -0.7512. Hendrycks &
// Gimpel 2016 (sigmoid approximation of GELU), https://arxiv.org/abs/1606.08415; OpenAI CLIP.
// Measured max error: see docs/accuracy.md.
template <class T>
struct QuickGeluOp : ActBase {
  static ActMeta meta() {
    const double dmax = detail::sigmoid_gated::swish_dmax();
    return {"x sigmoid(1.702 x)",
            "sigmoid(z) (1 + z sigmoid(-z)), z = 1.702 x",
            "Hendrycks & Gimpel 2016 (arXiv:1606.08415); CLIP quick_gelu",
            "",
            0,
            {},
            {1 - dmax, dmax, 0.5, Saturation::soft, Saturation::none, false, true}};
  }
  explicit QuickGeluOp(const Params&) {}
  ACTGRAD_HOST_DEVICE detail::sigmoid_gated::Parts<T> parts(T x) const {
    namespace sg = detail::sigmoid_gated;
    return sg::swish_parts(x, sg::split<T>(sg::kQuickGeluHi, sg::kQuickGeluLo));
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sg = detail::sigmoid_gated;
    return sg::swish_fused(x, sg::split<T>(sg::kQuickGeluHi, sg::kQuickGeluLo));
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    return detail::sigmoid_gated::swish_narrow(x, float(detail::sigmoid_gated::kQuickGeluHi));
  }
};

// mish: f(x) = x tanh(softplus(x)); f'(x) = tanh(sp) + x sech(sp)^2 sigmoid(x), sp = softplus(x).
// Written with exp(-|x|) only (see mish_parts), so +-1e30 and +-FLT_MAX neither overflow nor
// give NaN: f(-inf) = -0, f(+inf) = +inf, f' -> 0 and 1. f'(0) = tanh(log 2) = 3/5.
// f' spans [-0.1125, 1.0885] (extremes at x = -2.2564 and 1.4906) and is 0 at x = -1.1924:
// there the bound is absolute, a few ulps of tanh(sp) ~ 0.19.
// Misra 2019, https://arxiv.org/abs/1908.08681; PyTorch torch.nn.functional.mish.
// Measured max error: see docs/accuracy.md.
template <class T>
struct MishOp : ActBase {
  static ActMeta meta() {
    // Extremes of f' where f'' = 0, at x = -2.25637639636079312 and 1.4905711794854284593
    // (mpmath findroot).
    constexpr double kDmin = -0.11252612238946255641, kDmax = 1.0884981612517278612;
    constexpr double kD0 = 3.0 / 5; // tanh(log 2) = (4 - 1)/(4 + 1)
    return {"x tanh(softplus(x))",
            "tanh(sp) + x sech(sp)^2 sigmoid(x), sp = softplus(x)",
            "Misra 2019 (arXiv:1908.08681); PyTorch mish",
            "",
            0,
            {},
            {kDmin, kDmax, kD0, Saturation::soft, Saturation::none, false, true}};
  }
  explicit MishOp(const Params&) {}
  ACTGRAD_HOST_DEVICE detail::sigmoid_gated::Parts<T> parts(T x) const {
    return detail::sigmoid_gated::mish_parts(x);
  }
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sg = detail::sigmoid_gated;
    if constexpr (sizeof(T) == sizeof(float)) {
      return sg::rounded_parts(sg::mish_parts<T, true>(x));
    } else {
      return sg::round_parts(parts(x));
    }
  }
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    return detail::sigmoid_gated::mish_narrow(x);
  }
};

// hardswish: f(x) = x relu6(x + 3) / 6: 0 for x <= -3, x (x + 3)/6 inside, x for x >= 3.
// f'(x) = 0 for x <= -3, (2x + 3)/6 for -3 < x < 3, 1 for x >= 3 (PyTorch autograd; f' jumps
// from -1/2 to 0 at x = -3 and is continuous at 3). Both rounded once (x + 3 and 2x + 3 are
// carried exactly), so within 0.5 ulp; f'(-1.5) = 0 exactly. Not offered from y (f is not
// monotonic on (-3, 0)). Howard et al. 2019 (MobileNetV3), https://arxiv.org/abs/1905.02244;
// PyTorch torch.nn.functional.hardswish. Measured max error: see docs/accuracy.md.
template <class T>
struct HardswishOp : ActBase {
  static ActMeta meta() {
    return {"x relu6(x + 3) / 6",
            "0 for x <= -3, (2x + 3)/6 inside, 1 for x >= 3 (PyTorch)",
            "Howard et al. 2019 (arXiv:1905.02244); PyTorch hardswish",
            "",
            0,
            {},
            // dmax: the sup of (2x + 3)/6, approached as x -> 3 from the left (f'(3) = 1).
            {-0.5, 1.5, 0.5, Saturation::hard, Saturation::none, false, true}};
  }
  explicit HardswishOp(const Params&) {}
  ACTGRAD_HOST_DEVICE T forward(T x) const { return fused(x).y; }
  ACTGRAD_HOST_DEVICE Fused<T> fused(T x) const {
    namespace sq = detail::squashing;
    if (x > T(-3) && x < T(3)) {
      const sq::Pair<T> six{T(6), T(0)};
      const sq::Pair<T> y = sq::mul(sq::two_sum(x, T(3)), x);
      return {sq::value(sq::div(y, six)), sq::value(sq::div(sq::two_sum(T(2) * x, T(3)), six))};
    }
    if (x <= T(-3)) return {T(0), T(0)};
    if (x >= T(3)) return {x, T(1)};
    return {x, x}; // NaN
  }
  // 16-bit storage: x + 3 and 2x + 3 are exact in float for 16-bit x (or rounded where x is
  // far below 1), so f and f' are products rounded three times; by selects (NaN: inside).
  ACTGRAD_HOST_DEVICE Narrow<float> fused_narrow(float x) const {
    constexpr float kSixth = 1.0f / 6.0f;
    float y = (x * (x + 3.0f)) * kSixth;
    y = x <= -3.0f ? 0.0f : y;
    y = x >= 3.0f ? x : y;
    // f' left of -3 by a factor of 0 on a clamped (finite) x, + 0 for the sign of the zero: the
    // backward loop with a third select here did not vectorise (GCC 12, f16 and bf16).
    const float xc = x < -3.0f ? -3.0f : x;
    const float dy = ((2.0f * xc + 3.0f) * kSixth) * (x <= -3.0f ? 0.0f : 1.0f) + 0.0f;
    return {y, 1.0f, x >= 3.0f ? 1.0f : dy, 1.0f};
  }
};

} // namespace actgrad
