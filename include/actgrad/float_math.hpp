// Float building blocks (exp, expm1, log, log1p, recip, div) in float arithmetic, host and device.
//
// Why our own: f32, f16 and bf16 storage are computed in float (SPEC §3), and the smooth
// activations are built on these functions. CUDA's expf/logf reach 2 ulp and glibc's vector
// versions (libmvec) up to 4 ulp, while the functors' error budgets assume about half an ulp;
// a scalar libm call also stops the CPU loop from vectorising. These are written once, without
// branches (selects only), without FMA calls (no out-of-line fmaf where the CPU has none) and
// without double, so GCC vectorises them and NVCC emits only FP32 and integer instructions.
//
// Method: Cody-Waite reduction x = k ln2 + r with a three-part ln2 whose first two parts have 15
// and 16 significant bits (k ln2_1 and k ln2_2 exact for |k| < 256), r kept as hi + lo; the
// polynomial's leading 1 + r as an exact two-term sum; log by x = 2^e m, m in [sqrt(1/2), sqrt2),
// log(m) = f - s (f - R(s^2)) with f = m - 1 (exact) and s = f / (2 + f), so the rounding of s
// only touches a term below 0.18 f. Coefficients are near-minimax fits in float (how:
// docs/design.md, "Compute precision"). Measured against double libm on every 64th float
// (tests/float_blocks_report.cpp), with FMA: exp 0.64 ulp, expm1 0.84, log 0.78, log1p 0.80;
// without: exp 0.66, expm1 0.95.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "actgrad/config.hpp"

namespace actgrad {
namespace math {
namespace fl {

ACTGRAD_HOST_DEVICE std::int32_t bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_int(x);
#else
  std::int32_t i;
  std::memcpy(&i, &x, sizeof i);
  return i;
#endif
}
ACTGRAD_HOST_DEVICE float from_bits(std::int32_t i) {
#if defined(__CUDA_ARCH__)
  return __int_as_float(i);
#else
  float x;
  std::memcpy(&x, &i, sizeof x);
  return x;
#endif
}
// 2^k for k in [-126, 127], built from its exponent field (unsigned: no shift of a negative).
ACTGRAD_HOST_DEVICE float pow2i(std::int32_t k) {
  return from_bits(std::int32_t(std::uint32_t(k + 127) << 23));
}

// Whether the compiler may emit FMA instructions (GPUs, x86-64 with -mfma, AArch64). Where it
// may, fmaf is one inline instruction; elsewhere (plain x86-64) it is an out-of-line libm call.
#if defined(__CUDA_ARCH__) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
constexpr bool kHardwareFma = true;
#else
constexpr bool kHardwareFma = false;
#endif
// a b + c: fused (one rounding) where FMA is an instruction, else two roundings. For the
// polynomials, whose error budget allows either; the builds then differ by rounding only.
ACTGRAD_HOST_DEVICE float madd(float a, float b, float c) {
  if constexpr (kHardwareFma) {
    return ::fmaf(a, b, c);
  } else {
    return a * b + c;
  }
}

// c0 + c1 x + ... + cn x^n through madd, in the order that suits the target:
// - CPU with FMA: one Horner step over the pairs p_i = c_2i+1 + c_2i+2 x, which are independent
//   of one another, summed by Horner steps in x^2 (second-order Horner). Fewer dependent steps
//   than Horner in x (4 instead of 5 for degree 5, 5 instead of 8 for degree 8) for one more
//   multiplication: the vector loops are bound partly by the latency of their longest chain
//   (docs/design.md, "Shorter dependency chains"). As in Horner, c0 is added by one rounding to
//   a term that carries the rest.
// - GPU: Horner, the fewest instructions; warps hide the latency.
// - CPU without FMA (the baseline build): Horner, whose fewer roundings keep expm1 at 0.95 ulp
//   (the pairs, rounding each product and sum, measured 0.99).
// Both orders are checked over every f32 input (docs/accuracy-exhaustive.md). Defining
// ACTGRAD_POLY_HORNER for a whole build (CMAKE_CXX_FLAGS) selects Horner on the host too, so that
// exhaustive_report can check the GPU's order there.
#if defined(__CUDA_ARCH__) || !(defined(__FMA__) || defined(__ARM_FEATURE_FMA)) ||                 \
    defined(ACTGRAD_POLY_HORNER)
ACTGRAD_HOST_DEVICE float poly(float, float c0) { return c0; }
template <class... C>
ACTGRAD_HOST_DEVICE float poly(float x, float c0, C... c) {
  return madd(x, poly(x, c...), c0);
}
#else
ACTGRAD_HOST_DEVICE float poly_x2(float, float p0) { return p0; }
template <class... P>
ACTGRAD_HOST_DEVICE float poly_x2(float x2, float p0, P... p) {
  return madd(x2, poly_x2(x2, p...), p0);
}
template <std::size_t... I>
ACTGRAD_HOST_DEVICE float poly_pairs(float x, const float* c, std::size_t n,
                                     std::index_sequence<I...>) {
  // Pair I: c[2I] + c[2I + 1] x, or c[2I] alone at the end of an odd count.
  return poly_x2(x * x, (2 * I + 1 < n ? madd(x, c[2 * I + 1], c[2 * I]) : c[2 * I])...);
}
ACTGRAD_HOST_DEVICE float poly(float, float c0) { return c0; }
template <class... C>
ACTGRAD_HOST_DEVICE float poly(float x, float c0, C... c) {
  const float cs[] = {float(c)...};
  constexpr std::size_t n = sizeof...(C);
  return madd(x, poly_pairs(x, cs, n, std::make_index_sequence<(n + 1) / 2>{}), c0);
}
#endif

// 1/b correctly rounded, for |b| in [2^-126, 2^126) and NaN (NaN). The CPU divides. The GPU
// runs the fast path of CUDA's own correctly rounded 1.0f / b, MUFU.RCP and one Newton step
// (e = 1 - b r, r + r e: the values nvcc's SASS for 1.0f / b computes there), without
// the range check and the slow-path call around it: 3 instructions instead of 14 on the main
// loop's straight-line path (docs/sass-budget.md). In that range both give the same bits, so the
// CPU's tests cover the GPU's quotients (tests/test_cuda_exhaustive.cu checks the GPU side over
// every float). Outside it (0, subnormal, |b| >= 2^126, infinite) the GPU's result is NaN or
// flushed where the CPU's is IEEE: callers pass such b only in lanes whose result they discard.
ACTGRAD_HOST_DEVICE float recip(float b) {
#if defined(__CUDA_ARCH__)
  float r;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(b));
  return ::fmaf(r, ::fmaf(-b, r, 1.0f), r);
#else
  return 1.0f / b;
#endif
}

// a / b correctly rounded, for b in recip's range, a = 0 or 2^-100 <= |a| <= 2^100, and a / b
// normal. The CPU divides. The GPU runs the fast path of CUDA's own a / b (recip's reciprocal
// r, q = a r, the exact remainder a - b q by FMA, q + r (a - b q): Markstein's correction, the
// instructions nvcc emits), without the FCHK range check and slow-path call: 6 instructions
// instead of about 14. Same bits on both in that range (tests/test_cuda_exhaustive.cu checks the
// GPU side against __fdiv_rn); outside it the GPU may be off by an ulp or flush to 0.
ACTGRAD_HOST_DEVICE float div(float a, float b) {
#if defined(__CUDA_ARCH__)
  const float r = recip(b);
  const float q = a * r;
  return ::fmaf(r, ::fmaf(-b, q, a), q);
#else
  return a / b;
#endif
}

constexpr float kInf = std::numeric_limits<float>::infinity();
// ln 2 = kLn2A + kLn2B + kLn2C; A and B have at most 16 significant bits.
constexpr float kLn2A = 0x1.62e4p-1f;
constexpr float kLn2B = 0x1.7f7ep-20f;
constexpr float kLn2C = -0x1.c610cap-37f;
constexpr float kLog2e = 0x1.715476p+0f;
// Adding 1.5 * 2^23 rounds a float of magnitude < 2^22 to an integer, readable from the bits.
constexpr float kShifter = 0x1.8p23f;

// q(r) = (exp(r) - 1 - r) / r^2 on [-ln2/2, ln2/2], relative error 1e-8 (fit in float); shared
// by exp_core and exp_lean.
ACTGRAD_HOST_DEVICE float exp_q(float r) {
  return poly(r, 0x1p-1f, 0x1.555556p-3f, 0x1.5554eap-5f, 0x1.11114cp-7f, 0x1.6d42cap-10f,
              0x1.a072b4p-13f);
}

// exp(x) = 2^k (hi + lo) with hi + lo in [0.70, 1.42]: hi = 1 + r rounded, lo the rest (up to
// 0.06, not a rounding error). x finite, |x| < 2^20 (NaN gives NaN in hi). The error of hi + lo
// against exp(x) 2^-k is below 2^-25.9 relative (measured on 2^22 random x in [-104, 88]
// against long double expl, with and without FMA).
struct ExpCore {
  float hi, lo;
  std::int32_t k;
};
ACTGRAD_HOST_DEVICE ExpCore exp_core(float x) {
  const float t = x * kLog2e + kShifter;
  const float kf = t - kShifter;
  const std::int32_t k = bits(t) - bits(kShifter);
  const float r1 = x - kf * kLn2A; // exact (Sterbenz), and kf * kLn2A is exact
  const float kb = kf * kLn2B;     // exact
  const float rh = r1 - kb;
  const float rl = ((r1 - rh) - kb) - kf * kLn2C; // rounding of rh, and the third part of ln2
  const float q = exp_q(rh);
  const float hi = 1.0f + rh;
  const float lo = ((1.0f - hi) + rh) + (rh * rh * q + rl); // 1 + rh = hi + (1 - hi) + rh exactly
  return {hi, lo, k};
}

// m 2^k in two exact steps, 2^k1 2^k2 with k1 = k/2 and both factors normal (|k| <= 252), so a
// subnormal result is rounded once. For exp's and expm1's results from an ExpCore or ExpLean.
ACTGRAD_HOST_DEVICE float scale2k(float m, std::int32_t k) {
  const std::int32_t k1 = k / 2, k2 = k - k1;
  return (m * pow2i(k1)) * pow2i(k2);
}

// 2^k (hi + lo) - 1 as hi + lo of its own, from exp_core's c and k (c.k capped by the caller
// where e^x - 1 has rounded to -1 anyway; 2^(k-1) must be normal): 2 (2^(k-1) hi - 1/2 +
// 2^(k-1) lo), the subtraction carried exactly (TwoSum). expm1, expm1_exp and tanh_f32 use it.
struct CoreMinusOne {
  float hi, lo;
};
ACTGRAD_HOST_DEVICE CoreMinusOne core_minus_one(const ExpCore& c, std::int32_t k) {
  const float s = pow2i(k - 1);
  const float a = s * c.hi;
  const float b = a - 0.5f;
  const float bb = b - a;
  const float err = (a - (b - bb)) + (-0.5f - bb);
  return {2.0f * b, 2.0f * (err + s * c.lo)};
}

// exp(x) = 2^k (1 + w) for the kernels of 16-bit storage (functors/squashing.hpp), about half
// exp_core's instructions: ln 2 in two parts (k kLn2A exact, the rest rounded once into r) and
// w = r (1 + r q(r)), each step rounded once. Measured on every 61st float in [-104, 104] against
// long double expl/expm1l, with and without FMA: 1 + w within 0.93 2^-24 of e^x 2^-k, and where
// k = 0 (|x| < ln2/2) w within 2.02 2^-24 of e^x - 1, relative also as x -> 0. x finite or NaN,
// |x| < 2^20.
constexpr float kLn2BC = kLn2B + kLn2C; // RN(ln 2 - kLn2A)
struct ExpLean {
  float w;
  std::int32_t k;
};
ACTGRAD_HOST_DEVICE ExpLean exp_lean(float x) {
  const float t = x * kLog2e + kShifter;
  const float kf = t - kShifter;
  const std::int32_t k = bits(t) - bits(kShifter);
  const float r = madd(kf, -kLn2BC, x - kf * kLn2A); // x - kf kLn2A is exact (Sterbenz)
  return {r * madd(r, exp_q(r), 1.0f), k};
}

// e^x from exp_lean, for 16-bit storage's kernels: 2^k (1 + w) as 2^k1 2^k2 with both factors
// normal, so a subnormal result is rounded once more (far below a 16-bit ulp).
ACTGRAD_HOST_DEVICE float exp_lean_value(float x) {
  const ExpLean c = exp_lean(x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x)); // NaN stays
  return scale2k(1.0f + c.w, c.k);
}

// Arguments outside [lo, hi] are moved to the bound; NaN stays NaN.
ACTGRAD_HOST_DEVICE float clamp_keep_nan(float x, float lo, float hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

// e^x (0.68 ulp measured; subnormal results are rounded twice).
ACTGRAD_HOST_DEVICE float exp(float x) {
  // exp(-104) < 2^-150 rounds to 0; exp(89) > FLT_MAX overflows to inf.
  const ExpCore c = exp_core(clamp_keep_nan(x, -104.0f, 89.0f)); // k in [-150, 128]
  return scale2k(c.hi + c.lo, c.k);
}

// e^x - 1 (0.95 ulp measured), relative to the result also for tiny x.
ACTGRAD_HOST_DEVICE float expm1(float x) {
  // Below -30, e^x - 1 rounds to -1; k stays in [-44, 128].
  const ExpCore c = exp_core(clamp_keep_nan(x, -30.0f, 89.0f));
  const CoreMinusOne m = core_minus_one(c, c.k); // 2^(k-1) is normal for every k here
  return m.hi + m.lo;
}

// e^x - 1 and e^x from one exp_core, for x <= 0 (or NaN; x > 0 is read as 0): the same values,
// bit for bit, as expm1(x) and exp(x) above, for the ELU family's f and f' at the cost of one
// range reduction. Below -30 e^x - 1 rounds to -1 whatever 2^k is, so k is capped at -60 there
// (2^(k-1) stays normal); e^x keeps exp's two-factor scaling down to -104.
struct Expm1Exp {
  float em1, e;
};
ACTGRAD_HOST_DEVICE Expm1Exp expm1_exp(float x) {
  const ExpCore c = exp_core(clamp_keep_nan(x, -104.0f, 0.0f));
  const CoreMinusOne m = core_minus_one(c, c.k < -60 ? -60 : c.k);
  return {m.hi + m.lo, scale2k(c.hi + c.lo, c.k)};
}

// R(s) = 2 atanh(s)/s - 2 as a polynomial in z = s^2 for |s| <= 0.1716 (m in [sqrt(1/2),
// sqrt2)), relative error 3e-8 (fit in float): log(m) = 2s + s R with s = (m - 1)/(m + 1).
ACTGRAD_HOST_DEVICE float log_r(float z) {
  return z *
         poly(z, 0x1.555556p-1f, 0x1.999998p-2f, 0x1.249324p-2f, 0x1.c67ac2p-3f, 0x1.8c8dbep-3f);
}

// log(m) - f = -s (f - R) for m = 1 + f in [sqrt(1/2), sqrt2): the part after the exact f.
ACTGRAD_HOST_DEVICE float log1p_tail(float f) {
  const float s = div(f, 2.0f + f); // f = 0 or 2^-24 <= |f| < 0.42: div's range
  return -s * (f - log_r(s * s));
}

// e ln2 + f + tail, with e ln2 + f as an exact sum, rounded once. f = m - 1 exact.
ACTGRAD_HOST_DEVICE float log_combine(float e, float f, float tail) {
  const float a = e * kLn2A; // exact: e has at most 9 bits
  const float sum = a + f;
  const float bb = sum - a;
  const float err = (a - (sum - bb)) + (f - bb);
  return sum + (err + (tail + e * (kLn2B + kLn2C)));
}

// Splits a positive normal u into 2^e m with m in [sqrt(1/2), sqrt2); returns f = m - 1 (exact).
ACTGRAD_HOST_DEVICE float split_log(float u, float* e) {
  // Offsetting the bits by those of sqrt(1/2) moves the binade boundary to sqrt(1/2).
  const std::int32_t t = bits(u) - 0x3f3504f3;
  const std::int32_t ei = t >> 23; // arithmetic shift (two's complement on every target)
  *e = float(ei);
  const float m = from_bits(bits(u) - std::int32_t(std::uint32_t(ei) << 23));
  return m - 1.0f;
}

// The result of log(x) or log1p(x), where `pole` is the argument that gives -inf (0 or -1): r
// inside the domain; -inf at the pole, inf at inf, NaN below the pole and for NaN. One
// comparison per select, and no && (GCC vectorises selects keyed by single comparisons, not
// short-circuit logic).
ACTGRAD_HOST_DEVICE float specials(float x, float pole, float r) {
  float y = x == kInf ? kInf : r;
  y = x == pole ? -kInf : y;
  y = x < pole ? std::numeric_limits<float>::quiet_NaN() : y;
  return x != x ? x : y;
}

// Natural log (0.78 ulp measured). log(0) = -inf, log(x < 0) = NaN, log(inf) = inf.
ACTGRAD_HOST_DEVICE float log(float x) {
  const bool sub = x < 0x1p-126f;
  const float xs = sub ? x * 0x1p23f : x; // subnormals become normal
  const float xp = x > 0.0f ? xs : 1.0f;  // x <= 0 and NaN: any positive normal will do
  const float u = xp < kInf ? xp : 1.0f;
  float e;
  const float f = split_log(u, &e);
  const float r = log_combine(sub ? e - 23.0f : e, f, log1p_tail(f));
  return specials(x, 0.0f, r);
}

// log(1 + x) (0.80 ulp measured), relative to the result also for tiny x. log1p(-1) = -inf.
ACTGRAD_HOST_DEVICE float log1p(float x) {
  const float xa = x > -1.0f ? x : 0.0f; // x <= -1 and NaN: any argument in range will do
  const float xc = xa < kInf ? xa : 0.0f;
  const float u = 1.0f + xc; // 1 + x = u + ul exactly (TwoSum)
  const float bb = u - 1.0f;
  const float ul = (1.0f - (u - bb)) + (xc - bb);
  float e;
  const float f = split_log(u, &e);
  const float r = log_combine(e, f, log1p_tail(f) + ul / u); // log(u + ul) = log u + ul/u
  return specials(x, -1.0f, r);
}

// log(1 + x) for x in [0, 1] or NaN, given rcp within a few ulp of 1 / RN(1 + x) (the caller
// has it: softplus and logsigmoid divide by 1 + exp(-|x|) anyway): log1p without its specials
// and with its correction ul / u formed as ul * rcp, one division instead of two. Same error as
// log1p (the correction is below 2^-24 of the result).
ACTGRAD_HOST_DEVICE float log1p_unit(float x, float rcp) {
  const float xc = x > 0.0f ? x : 0.0f; // NaN: any argument in range will do
  const float u = 1.0f + xc;            // 1 + x = u + ul exactly (TwoSum)
  const float bb = u - 1.0f;
  const float ul = (1.0f - (u - bb)) + (xc - bb);
  float e;
  const float f = split_log(u, &e);
  const float r = log_combine(e, f, log1p_tail(f) + ul * rcp);
  return x != x ? x : r;
}

// log1p(x) for x in [0, 1] (or NaN), for 16-bit storage's kernels: x P(x), P of degree 7,
// relative error 2^-21.0 at most (every 61st float in [0, 1] against double log1p; the largest as
// x -> 0, where P(0) = 1 - 2^-21; numpy least squares on Chebyshev nodes against mpmath, weighted
// by 1/log1p, coefficients rounded to float one at a time and the rest refitted). No reduction
// and no division: log1p is analytic on [0, 1].
ACTGRAD_HOST_DEVICE float log1p_unit_lean(float x) {
  return x * poly(x, 0x1.fffff8p-1f, -0x1.fff856p-2f, 0x1.54b11p-2f, -0x1.f51b2ap-3f,
                  0x1.69e06ep-3f, -0x1.b4a696p-4f, 0x1.62e5b8p-5f, -0x1.10c0a8p-7f);
}

} // namespace fl
} // namespace math
} // namespace actgrad
