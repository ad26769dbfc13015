// Internal pieces of saturation_stats shared by the CPU loop (host/cpu/stats_cpu.cpp) and the CUDA
// kernel (kernels/stats.cu): the per-element accumulation is one __host__ __device__ function.
#pragma once

#include <cstdint>
#include <vector>

#include "actgrad/config.hpp"
#include "actgrad/functors/base.hpp"
#include "actgrad/saturation.hpp"

namespace actgrad {
namespace detail {

// What every element is compared with: the saturation analysis, the shift of the sums (f and
// f' of the first element, so the sums of squares do not cancel) and the histogram.
struct StatsSetup {
  double threshold;   // |f'| below this is saturated (NaN: never)
  double left, right; // region bounds (x <= left, x >= right)
  double shift_f, shift_df;
  double hist_lo, hist_scale; // bin = floor((f' - lo) * scale)
  int bins;
  // The bounds as floats for the loops that compute in float, each rounded outwards
  // (stats_setup_floats), so that a float compared with one decides as with the double:
  // x <= left, x >= right, |f'| < threshold, f' < hist_lo. (f' - lo) * scale is then a float.
  float threshold_f, left_f, right_f, hist_lo_f, hist_scale_f;
};

// Sets the float bounds of s from its doubles (host/cpu/stats_cpu.cpp).
void stats_setup_floats(StatsSetup& s);

// The bounds of s in the compute type C: the loops compare f, f' in C.
template <class C>
struct StatsBounds {
  C threshold, left, right, hist_lo, hist_scale, fbins;
  int bins;
};

// The host-side analysis a call starts from: saturated regions at eps and the automatic
// histogram range of f'. Cached per (activation, eps) by stats_analysis (host/cpu/stats_cpu.cpp).
struct StatsAnalysis {
  SaturationReport rep;
  double auto_lo = 0, auto_hi = 0;
};
StatsAnalysis stats_analysis(const Activation& act, double eps);

// Partial sums over a set of elements; merged by addition (order fixed by the caller).
struct StatsPartial {
  double sf, sf2, sd, sd2; // sums of (f - shift_f), its square, (f' - shift_df), its square
  unsigned long long count, nan, left, right, small, dead, below, above;
};

ACTGRAD_HOST_DEVICE StatsPartial stats_merge(const StatsPartial& a, const StatsPartial& b) {
  return {a.sf + b.sf,       a.sf2 + b.sf2,   a.sd + b.sd,       a.sd2 + b.sd2,
          a.count + b.count, a.nan + b.nan,   a.left + b.left,   a.right + b.right,
          a.small + b.small, a.dead + b.dead, a.below + b.below, a.above + b.above};
}

// f and f' of the unit at x: a unary functor's fused(x), a gated one's gate (a = x, b = 1).
template <Kind K, class Fn, class C>
ACTGRAD_HOST_DEVICE Fused<C> unit_fused(const Fn& fn, C x) {
  if constexpr (K == Kind::unary) {
    return fn.fused(x);
  } else {
    const auto g = fn.fused(x, C(1));
    return {g.y, g.da};
  }
}

// A CUDA thread's (and block's) partial: double sums of the differences (f - shift_f, computed
// in double from f in C, exact for float f), 32-bit counters (a block sees fewer than 2^30
// elements). NaN elements are the rest: n minus count.
struct StatsPartial32 {
  double sf, sf2, sd, sd2;
  unsigned count, left, right, small, dead, below, above;
};

ACTGRAD_HOST_DEVICE StatsPartial32 stats_merge32(const StatsPartial32& a, const StatsPartial32& b) {
  return {a.sf + b.sf,       a.sf2 + b.sf2,     a.sd + b.sd,       a.sd2 + b.sd2,
          a.count + b.count, a.left + b.left,   a.right + b.right, a.small + b.small,
          a.dead + b.dead,   a.below + b.below, a.above + b.above};
}

// Adds one element (x, f, f' in the compute type C) to p, comparing in C as the CPU loop does
// (host/cpu/stats_cpu.cpp). Returns its histogram bin, or -1 when it has none (NaN, below,
// above).
template <class C>
ACTGRAD_HOST_DEVICE int stats_add(StatsPartial32& p, const StatsBounds<C>& s, double shift_f,
                                  double shift_df, C x, C y, C dy) {
  if (x != x || y != y || dy != dy) return -1;
  ++p.count;
  const double a = double(y) - shift_f, b = double(dy) - shift_df;
  p.sf += a;
  p.sf2 += a * a;
  p.sd += b;
  p.sd2 += b * b;
  const bool small = (dy < 0 ? -dy : dy) < s.threshold;
  p.small += small;
  p.left += small & (x <= s.left);
  p.right += small & (x >= s.right);
  p.dead += dy == 0;
  const C t = (dy - s.hist_lo) * s.hist_scale;
  if (t < 0) {
    ++p.below;
    return -1;
  }
  if (t > s.fbins) {
    ++p.above;
    return -1;
  }
  const int k = int(t); // t == bins: the closed last bin
  return k < s.bins - 1 ? k : s.bins - 1;
}

// CUDA: sets s.shift_f and s.shift_df from f and f' of x[0] (evaluate() in double, as the CPU
// path does), then adds the statistics of x (device memory) to `total` and `hist` (bins
// entries). Defined in kernels/stats.cu; throws Error(unavailable) in builds without CUDA.
void stats_cuda(const Activation& act, ConstTensorView x, StatsSetup& s, const ExecOptions& opt,
                StatsPartial& total, std::vector<std::int64_t>& hist);

} // namespace detail
} // namespace actgrad
