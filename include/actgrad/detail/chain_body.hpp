// The chain model's per-path body (SPEC §6), single-source for the CPU loop and the CUDA kernel.
//
// One path: z_0 ~ N(0,1); layer l = 1..L applies z_l = sqrt(S) phi(z_{l-1}) + b_l and
// D_l = D_{l-1} sqrt(S) phi'(z_{l-1}), value and derivative from one fused() call (phi is the
// DKS/TAT-transformed phi_hat when ChainArgs carries a transform). D is kept as
// m * 2^e with m renormalised into [0.5, 1) every layer (frexp, exact), so no depth underflows.
// T (float or double) is the compute type of z and m: the chain's meaning of --dtype.
//
// Randomness: standard normal number n of a path (n = 0 is z_0, n = l the bias of layer l) is
// component n % 2 of the Box-Muller pair drawn from Philox4x32-10 (Random123) with key = seed and
// counter = (path, n / 2). The fused body draws each pair once and keeps the odd half for the next
// layer; chain_normal() draws any single number, for the unfused per-layer variant. Both give
// the same numbers, on the host and on the device.
//
// Per-layer statistics over paths are ChainPartial sums: sum of D^2 as s * 2^e (log-sum-exp
// style, in double, so per-path exponents far apart cannot overflow or flush the sum), sum z^2
// and the saturated count. The caller reduces a group of paths in two steps: the largest 2e
// (chain_group_exponent), then plain double sums of m^2 2^(2e - max) (chain_scaled_d2).
#pragma once

#include <cmath>
#include <cstdint>

#include <Random123/philox.h>

#include "actgrad/config.hpp"
#include "actgrad/functors/base.hpp"
#include "actgrad/traits.hpp"

namespace actgrad {
namespace detail {

// Float and double spellings of the few libm calls the body needs, valid on host and device.
namespace chain_math {
ACTGRAD_HOST_DEVICE float frexp(float x, int* e) { return ::frexpf(x, e); }
ACTGRAD_HOST_DEVICE double frexp(double x, int* e) { return ::frexp(x, e); }
ACTGRAD_HOST_DEVICE float log(float x) { return ::logf(x); }
ACTGRAD_HOST_DEVICE double log(double x) { return ::log(x); }
ACTGRAD_HOST_DEVICE float sqrt(float x) { return ::sqrtf(x); }
ACTGRAD_HOST_DEVICE double sqrt(double x) { return ::sqrt(x); }
ACTGRAD_HOST_DEVICE float sin(float x) { return ::sinf(x); }
ACTGRAD_HOST_DEVICE double sin(double x) { return ::sin(x); }
ACTGRAD_HOST_DEVICE float cos(float x) { return ::cosf(x); }
ACTGRAD_HOST_DEVICE double cos(double x) { return ::cos(x); }
ACTGRAD_HOST_DEVICE float fabs(float x) { return ::fabsf(x); }
ACTGRAD_HOST_DEVICE double fabs(double x) { return ::fabs(x); }
} // namespace chain_math

// Exponent of an empty sum (no paths, or every D exactly 0).
constexpr std::int64_t kChainNoExponent = INT64_MIN / 4;
// Exponent differences below this scale a term to 0 (2^-2200 is below the least double).
constexpr std::int64_t kChainMinShift = -2200;

// Sums over a set of paths for one layer: sum D^2 = s * 2^e, sum z^2, saturated count.
struct ChainPartial {
  double s;
  std::int64_t e;
  double q;
  std::int64_t sat;
};

ACTGRAD_HOST_DEVICE ChainPartial chain_partial_empty() { return {0.0, kChainNoExponent, 0.0, 0}; }

// s * 2^shift for shift <= 0, 0 below the double range.
ACTGRAD_HOST_DEVICE double chain_scale(double s, std::int64_t shift) {
  return shift < kChainMinShift ? 0.0 : ::ldexp(s, int(shift));
}

// Sum of two partials (associative up to rounding; used for per-block and per-thread partials).
ACTGRAD_HOST_DEVICE ChainPartial chain_merge(const ChainPartial& a, const ChainPartial& b) {
  ChainPartial r;
  r.q = a.q + b.q;
  r.sat = a.sat + b.sat;
  if (a.s == 0.0) {
    r.s = b.s;
    r.e = b.e;
  } else if (b.s == 0.0) {
    r.s = a.s;
    r.e = a.e;
  } else { // a NaN or inf s lands here and stays in the sum
    r.e = a.e > b.e ? a.e : b.e;
    r.s = chain_scale(a.s, a.e - r.e) + chain_scale(b.s, b.e - r.e);
  }
  return r;
}

// Per-path state between layers. `spare` holds the odd normal of the last pair drawn.
template <class T>
struct ChainState {
  T z;
  T m; // D = m * 2^e, m in [0.5, 1) or 0 (or non-finite once z is)
  std::int64_t e;
  T spare;
};

// Everything the body needs besides the functor.
template <class T>
struct ChainArgs {
  T sqrt_s;        // sqrt(S)
  T sigma_b;       // sqrt(T); 0 when T = 0
  T sat_threshold; // |phi'| below this counts as saturated
  std::uint64_t seed;
  std::int64_t paths;
  std::int64_t depth;
  // The DKS/TAT transform phi_hat(z) = out_scale (phi(in_scale z + in_shift) + out_shift); the
  // identity by default, which leaves every number bitwise as it was.
  T in_scale = T(1), in_shift = T(0), out_shift = T(0), out_scale = T(1);
};

template <class T>
struct NormalPair {
  T a;
  T b;
};

// Box-Muller pair `pair` of path `path` (normal numbers 2 pair and 2 pair + 1).
template <class T>
ACTGRAD_HOST_DEVICE NormalPair<T> chain_normal_pair(std::uint64_t seed, std::int64_t path,
                                                    std::int64_t pair) {
  const auto p = static_cast<std::uint64_t>(path);
  const auto c = static_cast<std::uint64_t>(pair);
  const r123::Philox4x32::ctr_type ctr = {
      {std::uint32_t(p), std::uint32_t(p >> 32), std::uint32_t(c), std::uint32_t(c >> 32)}};
  const r123::Philox4x32::key_type key = {{std::uint32_t(seed), std::uint32_t(seed >> 32)}};
  const r123::Philox4x32::ctr_type w = r123::Philox4x32()(ctr, key);
  T u1, u2; // uniform on (0, 1): the top 24 (float) or 53 (double) bits, plus half a step
  if (sizeof(T) == sizeof(float)) {
    u1 = (T(w[0] >> 8) + T(0.5)) * T(5.9604644775390625e-08); // 2^-24
    u2 = (T(w[2] >> 8) + T(0.5)) * T(5.9604644775390625e-08);
  } else {
    u1 = (T((std::uint64_t(w[0]) << 21) | (w[1] >> 11)) + T(0.5)) * T(1.1102230246251565e-16);
    u2 = (T((std::uint64_t(w[2]) << 21) | (w[3] >> 11)) + T(0.5)) * T(1.1102230246251565e-16);
  }
  const T r = chain_math::sqrt(T(-2) * chain_math::log(u1));
  const T angle = T(6.283185307179586) * u2;
  return {r * chain_math::cos(angle), r * chain_math::sin(angle)};
}

// Normal number n of a path, alone (same value the fused body uses).
template <class T>
ACTGRAD_HOST_DEVICE T chain_normal(std::uint64_t seed, std::int64_t path, std::int64_t n) {
  const NormalPair<T> p = chain_normal_pair<T>(seed, path, n / 2);
  return n % 2 == 0 ? p.a : p.b;
}

// phi and phi' of a unary functor, or of a gated unit's gate (a = x, b = 1), as
// actgrad::evaluate does.
template <Kind K, class T, class Fn>
ACTGRAD_HOST_DEVICE Fused<T> chain_phi(const Fn& fn, T x) {
  if constexpr (K == Kind::unary) {
    return fn.fused(x);
  } else {
    const GatedFused<T> g = fn.fused(x, T(1));
    return {g.y, g.da};
  }
}

// phi_hat and phi_hat' at z: the transform around chain_phi.
template <Kind K, class T, class Fn>
ACTGRAD_HOST_DEVICE Fused<T> chain_phi_hat(const Fn& fn, const ChainArgs<T>& a, T z) {
  Fused<T> f = chain_phi<K>(fn, a.in_scale * z + a.in_shift);
  f.y = a.out_scale * (f.y + a.out_shift);
  f.dy = (a.out_scale * a.in_scale) * f.dy;
  return f;
}

// Starts a path: z_0 = normal 0, D_0 = 1.
template <class T>
ACTGRAD_HOST_DEVICE void chain_start(ChainState<T>& st, const ChainArgs<T>& a, std::int64_t path) {
  const NormalPair<T> p = chain_normal_pair<T>(a.seed, path, 0);
  st.z = p.a;
  st.spare = p.b;
  st.m = T(0.5);
  st.e = 1;
}

// Bias of layer l, drawing a new pair on even l (the fused body's caching).
template <class T>
ACTGRAD_HOST_DEVICE T chain_bias(ChainState<T>& st, const ChainArgs<T>& a, std::int64_t path,
                                 std::int64_t l) {
  if (l % 2 == 1) return st.spare;
  const NormalPair<T> p = chain_normal_pair<T>(a.seed, path, l / 2);
  st.spare = p.b;
  return p.a;
}

// Layer l of one path from phi(z_{l-1}) and the bias b_l; returns whether phi' is saturated.
template <class T>
ACTGRAD_HOST_DEVICE bool chain_apply(ChainState<T>& st, const ChainArgs<T>& a, const Fused<T>& f,
                                     T bias) {
  st.z = a.sqrt_s * f.y + a.sigma_b * bias;
  int k = 0;
  st.m = chain_math::frexp(st.m * (a.sqrt_s * f.dy), &k);
  st.e += k;
  return chain_math::fabs(f.dy) < a.sat_threshold;
}

// Layer l >= 1 of the fused body.
template <Kind K, class T, class Fn>
ACTGRAD_HOST_DEVICE bool chain_layer(ChainState<T>& st, const ChainArgs<T>& a, const Fn& fn,
                                     std::int64_t path, std::int64_t l) {
  const Fused<T> f = chain_phi_hat<K>(fn, a, st.z);
  const T bias = a.sigma_b != T(0) ? chain_bias(st, a, path, l) : T(0);
  return chain_apply(st, a, f, bias);
}

// 2e of a path's D^2, or kChainNoExponent when D = 0 (it then adds nothing).
template <class T>
ACTGRAD_HOST_DEVICE std::int64_t chain_d2_exponent(const ChainState<T>& st) {
  return st.m == T(0) ? kChainNoExponent : 2 * st.e;
}

// m^2 2^(2e - group_max): the path's D^2 relative to the group's largest exponent.
template <class T>
ACTGRAD_HOST_DEVICE double chain_scaled_d2(const ChainState<T>& st, std::int64_t group_max) {
  if (st.m == T(0)) return 0.0;
  const double m = double(st.m);
  return chain_scale(m * m, 2 * st.e - group_max);
}

} // namespace detail
} // namespace actgrad
