// saturation_stats: option checks, the setup from the scalar analysis, the one-pass CPU loop
// (OpenMP threads over chunks, float sums per block folded into double) and the hand-off to the
// CUDA kernel.
//
// This file is compiled twice over: once in the library (everything but the loop), and once per
// instruction set in the CPU engine's builds (CMakeLists.txt, host/cpu/cpu_isa.hpp), where
// ACTGRAD_CPU_ISA_NS is defined and only the loop is compiled, in that namespace. The loop then
// computes f and f' with exactly the engine's vector code on this CPU.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#ifdef ACTGRAD_CPU_ISA_NS
#define ACTGRAD_STATS_LOOP 1
#else
#define ACTGRAD_STATS_LOOP 0
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>
#endif

#include <omp.h>

#include "actgrad/detail/dispatch.hpp"
#include "actgrad/detail/stats.hpp"
#include "cpu_engine.hpp"
#include "cpu_isa.hpp"
#if !ACTGRAD_STATS_LOOP
#include "actgrad/detail/view_check.hpp"
#include "actgrad/error.hpp"
#include "actgrad/saturation.hpp"
#include "actgrad/scalar.hpp"
#endif

namespace actgrad {
namespace detail {

constexpr int kStatsMaxBins = 4096;

// What one thread accumulates besides the per-chunk sums: 64-bit counters, and the histogram as
// four interleaved copies of 32-bit counters (consecutive elements in one bin, such as relu's
// f' = 1, then increment different counters), flushed into 64-bit ones before they could wrap.
struct StatsThreadCounts {
  std::uint64_t count, left, right, small, dead, below, above, since_flush;
};

// Scratch memory of one call, allocated by the library part (no std::vector in the loop builds,
// whose objects must share no weak symbol): sums[4 * chunk + k] (sf, sf2, sd, sd2 of each
// chunk), counts[thread], h32[(thread * 4 + copy) * (bins + 1) + 1 + bin] (1 + bin = 0: the
// elements with no bin, discarded), h64[thread * bins + bin].
struct StatsScratch {
  double* sums;
  StatsThreadCounts* counts;
  std::uint32_t* h32;
  std::int64_t* h64;
  int team;
};

// The loop of each instruction set's build: the statistics of x[0, n) into the scratch. False
// (and nothing done) for an activation id outside the catalogue.
#define ACTGRAD_STATS_ISA_DECLARE(ns)                                                              \
  namespace ns {                                                                                   \
  template <class S>                                                                               \
  bool stats_cpu_typed(const Activation& act, const S* x, std::int64_t n, const StatsSetup& s,     \
                       const StatsScratch& w);                                                     \
  }
ACTGRAD_STATS_ISA_DECLARE(isa_baseline)
ACTGRAD_STATS_ISA_DECLARE(isa_avx2)
ACTGRAD_STATS_ISA_DECLARE(isa_avx512)
#undef ACTGRAD_STATS_ISA_DECLARE

#if ACTGRAD_STATS_LOOP
namespace ACTGRAD_CPU_ISA_NS {
namespace {

template <class C>
StatsBounds<C> loop_setup(const StatsSetup& s) {
  if constexpr (std::is_same_v<C, double>)
    return {s.threshold, s.left, s.right, s.hist_lo, s.hist_scale, double(s.bins), s.bins};
  else
    return {s.threshold_f, s.left_f, s.right_f, s.hist_lo_f, s.hist_scale_f, float(s.bins), s.bins};
}

// Lanes of the explicit sums: element i of a block goes to lane i % kLanes, whatever the
// instruction set, so the summation order is fixed by the code (and GCC keeps contraction off
// under -std=c++17), and several independent vector chains per sum hide the additions' latency.
constexpr int kLanes = 16;

// The statistics of elements [begin, end) of x (at most one chunk): the chunk's sums into
// sums[0..3] (sf, sf2, sd, sd2), its counts into tc and hist4.
//
// Per block of kCpuBlock elements (the last one padded with NaN, so every loop has the same
// fixed length and vectorises without a remainder): f and f' into local arrays, as cpu_block
// computes them; the sums in double over kLanes explicit lanes, added up in lane order at the
// end of the chunk; the counts (32-bit, vectorised, compared in the compute type against bounds
// rounded outwards, see StatsSetup) and each element's histogram bin; then the histogram, by
// vector compares when the block's elements fall in at most two bins (relu, leaky_relu, steps,
// saturated tails), else by a scalar loop over four interleaved copies.
template <class S, class C, Kind K, class Fn>
void stats_chunk(const Fn& fn_in, const S* x, std::int64_t begin, std::int64_t end,
                 const StatsBounds<C>& s_in, const double* shift_in, double* sums,
                 StatsThreadCounts& tc, std::uint32_t* hist4) {
  constexpr int L = kLanes;
  constexpr int kB = kCpuBlock;
  static_assert(kB % L == 0, "blocks hold whole lane groups");
  alignas(64) C xin[kB], y[kB], dy[kB];
  alignas(64) int bin[kB];
  alignas(64) double csf[L] = {}, csf2[L] = {}, csd[L] = {}, csd2[L] = {};
  const Fn fn = fn_in;
  const StatsBounds<C> s = s_in;
  const double shift_f = shift_in[0], shift_df = shift_in[1];
  const C nan = std::numeric_limits<C>::quiet_NaN();
  for (std::int64_t b = begin; b < end; b += kB) {
    const int m = int(std::min<std::int64_t>(kB, end - b));
    // Padding is NaN: excluded from everything, like a NaN of x.
    // Full blocks of f32 or f64 storage are read in place.
    const C* xs = xin;
    if (std::is_same_v<S, C> && m == kB) {
      xs = reinterpret_cast<const C*>(x + b);
    } else {
      for (int i = 0; i < m; ++i) xin[i] = C(Storage<S>::load(x[b + i]));
      for (int i = m; i < kB; ++i) xin[i] = nan;
    }
    ACTGRAD_IVDEP
    for (int i = 0; i < kB; ++i) {
      const Fused<C> r = unit_fused<K>(fn, xs[i]);
      y[i] = r.y;
      dy[i] = r.dy;
    }
    // Sums, lane by lane: f - shift_f and f' - shift_df in double (exact for float f, f'),
    // added into kLanes double lanes; no conversion or double arithmetic beyond these four sums.
    for (int i = 0; i < kB; i += L) {
      for (int l = 0; l < L; ++l) {
        const C xv = xs[i + l], yv = y[i + l], dv = dy[i + l];
        const bool ok = (xv == xv) & (yv == yv) & (dv == dv);
        const double a = ok ? double(yv) - shift_f : 0.0, d = ok ? double(dv) - shift_df : 0.0;
        csf[l] += a;
        csf2[l] += a * a;
        csd[l] += d;
        csd2[l] += d * d;
      }
    }
    // Counts and bins.
    int count = 0, small = 0, left = 0, right = 0, dead = 0, below = 0, above = 0;
    int bmin = kStatsMaxBins, bmax = -1;
#pragma omp simd reduction(+ : count, small, left, right, dead, below, above)                     \
    reduction(min : bmin) reduction(max : bmax)
    for (int i = 0; i < kB; ++i) {
      const C xv = xs[i], dv = dy[i];
      // Bitwise & rather than &&: no branches, so that GCC vectorises the loop.
      const bool ok = (xv == xv) & (y[i] == y[i]) & (dv == dv);
      const bool sm = ok & ((dv < 0 ? -dv : dv) < s.threshold);
      count += ok ? 1 : 0;
      small += sm ? 1 : 0;
      left += (sm & (xv <= s.left)) ? 1 : 0;
      right += (sm & (xv >= s.right)) ? 1 : 0;
      dead += (ok & (dv == 0)) ? 1 : 0;
      const C t = (dv - s.hist_lo) * s.hist_scale;
      const bool lo = ok & (t < 0), hi = ok & (t > s.fbins); // t == bins: the closed last bin
      below += lo ? 1 : 0;
      above += hi ? 1 : 0;
      const bool in = ok & !lo & !hi;
      const int k = int(in ? t : C(-1));
      const int bk = k < s.bins - 1 ? k : s.bins - 1;
      bin[i] = bk;
      bmin = (in & (bk < bmin)) ? bk : bmin;
      bmax = bk > bmax ? bk : bmax;
    }
    tc.count += unsigned(count);
    tc.small += unsigned(small);
    tc.left += unsigned(left);
    tc.right += unsigned(right);
    tc.dead += unsigned(dead);
    tc.below += unsigned(below);
    tc.above += unsigned(above);
    const int inside = count - below - above;
    if (inside == 0) continue;
    std::uint32_t* const h0 = hist4 + 1; // copy 0; slot -1 takes the elements with no bin
    if (bmin == bmax) {
      h0[bmin] += unsigned(inside);
      continue;
    }
    int c1 = 0, c2 = 0;
#pragma omp simd reduction(+ : c1, c2)
    for (int i = 0; i < kB; ++i) {
      c1 += bin[i] == bmin ? 1 : 0;
      c2 += bin[i] == bmax ? 1 : 0;
    }
    if (c1 + c2 == inside) {
      h0[bmin] += unsigned(c1);
      h0[bmax] += unsigned(c2);
      continue;
    }
    // Branch-free: bin -1 increments each copy's discard slot.
    const std::size_t stride = std::size_t(s.bins) + 1;
    std::uint32_t* const h1 = h0 + stride;
    std::uint32_t* const h2 = h1 + stride;
    std::uint32_t* const h3 = h2 + stride;
    for (int i = 0; i < kB; i += 4) {
      ++h0[bin[i]];
      ++h1[bin[i + 1]];
      ++h2[bin[i + 2]];
      ++h3[bin[i + 3]];
    }
  }
  double t[4] = {0, 0, 0, 0};
  for (int l = 0; l < L; ++l) {
    t[0] += csf[l];
    t[1] += csf2[l];
    t[2] += csd[l];
    t[3] += csd2[l];
  }
  for (int k = 0; k < 4; ++k) sums[k] = t[k];
}

// visit_activation without its throw for an id out of range (its std::string would be a weak
// symbol shared with the other builds): returns false instead.
template <class F>
bool stats_visit(ActId id, F&& f) {
  switch (id) {
#define ACTGRAD_UNARY(Id, name, Op)                                                                \
  case ActId::Id:                                                                                  \
    f(OpTag<Op, Kind::unary>{});                                                                   \
    return true;
#define ACTGRAD_GATED(Id, name, Op)                                                                \
  case ActId::Id:                                                                                  \
    f(OpTag<Op, Kind::gated>{});                                                                   \
    return true;
#include "actgrad/activations.def"
  }
  return false;
}

// Elements a thread counts in its 32-bit histogram before flushing it.
constexpr std::uint64_t kFlushAfter = std::uint64_t(1) << 31;

} // namespace

template <class S>
bool stats_cpu_typed(const Activation& act, const S* x, std::int64_t n, const StatsSetup& s,
                     const StatsScratch& w) {
  return stats_visit(act.id(), [&](auto tag) {
    using Tag = decltype(tag);
    using C = compute_t<S>;
    using Fn = typename Tag::template op<C>;
    const Fn fn(act.params());
    const StatsBounds<C> ls = loop_setup<C>(s);
    const double shift[2] = {s.shift_f, s.shift_df};
    const std::size_t nb = std::size_t(s.bins);
    const std::int64_t chunks = (n + kCpuChunk - 1) / kCpuChunk;
#pragma omp parallel num_threads(w.team) if (w.team > 1)
    {
      const std::size_t t = std::size_t(omp_get_thread_num());
      StatsThreadCounts& tc = w.counts[t];
      std::uint32_t* const mine = w.h32 + t * 4 * (nb + 1);
      std::int64_t* const wide = w.h64 + t * nb;
      const auto flush = [&] {
        for (std::size_t k = 0; k < 4; ++k) {
          std::uint32_t* const copy = mine + k * (nb + 1);
          for (std::size_t b = 0; b < nb; ++b) wide[b] += copy[b + 1];
          for (std::size_t b = 0; b <= nb; ++b) copy[b] = 0;
        }
        tc.since_flush = 0;
      };
#pragma omp for schedule(static)
      for (std::int64_t c = 0; c < chunks; ++c) {
        if (tc.since_flush >= kFlushAfter) flush();
        const std::int64_t e = c + 1 < chunks ? (c + 1) * kCpuChunk : n;
        stats_chunk<S, C, Tag::kind>(fn, x, c * kCpuChunk, e, ls, shift, w.sums + 4 * c, tc, mine);
        tc.since_flush += std::uint64_t(e - c * kCpuChunk);
      }
      flush();
    }
  });
}

template bool stats_cpu_typed<float>(const Activation&, const float*, std::int64_t,
                                     const StatsSetup&, const StatsScratch&);
template bool stats_cpu_typed<double>(const Activation&, const double*, std::int64_t,
                                      const StatsSetup&, const StatsScratch&);
template bool stats_cpu_typed<half_t>(const Activation&, const half_t*, std::int64_t,
                                      const StatsSetup&, const StatsScratch&);
template bool stats_cpu_typed<bfloat16_t>(const Activation&, const bfloat16_t*, std::int64_t,
                                          const StatsSetup&, const StatsScratch&);

} // namespace ACTGRAD_CPU_ISA_NS
} // namespace detail

#else // the library part

namespace {

constexpr int kMaxBins = kStatsMaxBins;

// Runs the loop of the instruction set the CPU engine runs (cpu_dispatch.cpp), then adds the
// sums in chunk order and the counts and histograms in thread order: the result depends on
// neither the thread count nor timing.
template <class S>
void stats_cpu(const Activation& act, const S* x, std::int64_t n, const StatsSetup& s, int threads,
               StatsPartial& total, std::vector<std::int64_t>& hist) {
  const std::size_t nb = hist.size();
  const std::int64_t chunks = (n + kCpuChunk - 1) / kCpuChunk;
  const int team = int(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, chunks)));
  std::vector<double> sums(4 * std::size_t(chunks), 0.0);
  std::vector<StatsThreadCounts> counts(static_cast<std::size_t>(team), StatsThreadCounts{});
  std::vector<std::uint32_t> h32(std::size_t(team) * 4 * (nb + 1), 0);
  std::vector<std::int64_t> h64(std::size_t(team) * nb, 0);
  const StatsScratch w{sums.data(), counts.data(), h32.data(), h64.data(), team};
  bool done = false;
  switch (cpu_isa_selected()) {
#if ACTGRAD_CPU_HAVE_AVX512
  case CpuIsa::avx512:
    done = isa_avx512::stats_cpu_typed<S>(act, x, n, s, w);
    break;
#endif
#if ACTGRAD_CPU_HAVE_AVX2
  case CpuIsa::avx2:
    done = isa_avx2::stats_cpu_typed<S>(act, x, n, s, w);
    break;
#endif
  default:
    done = isa_baseline::stats_cpu_typed<S>(act, x, n, s, w);
    break;
  }
  if (!done)
    throw Error("actgrad: internal error: activation id out of range", Error::Kind::runtime);
  double sf = 0, sf2 = 0, sd = 0, sd2 = 0;
  for (std::int64_t c = 0; c < chunks; ++c) {
    const double* p = sums.data() + 4 * c;
    sf += p[0];
    sf2 += p[1];
    sd += p[2];
    sd2 += p[3];
  }
  StatsPartial part{sf, sf2, sd, sd2, 0, 0, 0, 0, 0, 0, 0, 0};
  for (const StatsThreadCounts& tc : counts) {
    part.count += tc.count;
    part.left += tc.left;
    part.right += tc.right;
    part.small += tc.small;
    part.dead += tc.dead;
    part.below += tc.below;
    part.above += tc.above;
  }
  part.nan = std::uint64_t(n) - part.count;
  total = stats_merge(total, part);
  for (int t = 0; t < team; ++t)
    for (std::size_t b = 0; b < nb; ++b) hist[b] += h64[std::size_t(t) * nb + b];
}

float round_down(double v) {
  float f = float(v);
  if (double(f) > v) f = std::nextafter(f, -HUGE_VALF);
  return f;
}
float round_up(double v) {
  float f = float(v);
  if (double(f) < v) f = std::nextafter(f, HUGE_VALF);
  return f;
}

double first_element(ConstTensorView x) {
  double v = 0;
  if (x.device.kind == DeviceKind::cpu) {
    switch (x.dtype) {
    case DType::f32:
      v = *static_cast<const float*>(x.data);
      break;
    case DType::f64:
      v = *static_cast<const double*>(x.data);
      break;
    case DType::f16:
      v = to_float(*static_cast<const half_t*>(x.data));
      break;
    case DType::bf16:
      v = to_float(*static_cast<const bfloat16_t*>(x.data));
      break;
    }
  }
  return v;
}

#if !ACTGRAD_WITH_CUDA
[[noreturn]] void no_cuda() {
  throw Error("actgrad::saturation_stats: x is a cuda view but actgrad was built without CUDA "
              "support; use a cpu view",
              Error::Kind::unavailable);
}
#endif

} // namespace

void stats_setup_floats(StatsSetup& s) {
  s.threshold_f = round_up(s.threshold);
  s.left_f = round_down(s.left);
  s.right_f = round_up(s.right);
  s.hist_lo_f = round_up(s.hist_lo);
  s.hist_scale_f = float(s.hist_scale);
}

#if !ACTGRAD_WITH_CUDA
void stats_cuda(const Activation&, ConstTensorView, StatsSetup&, const ExecOptions&, StatsPartial&,
                std::vector<std::int64_t>&) {
  no_cuda();
}
#endif

} // namespace detail

namespace detail {

// The scalar analysis behind a call (root finding on f' and a scan of its range: thousands of
// evaluations, milliseconds), computed once per (activation, eps) and kept, since training code
// asks the same layers every step. At most kMaxCached entries; then the cache starts afresh.
constexpr std::size_t kMaxCached = 1024;

StatsAnalysis compute_analysis(const Activation& act, double eps) {
  StatsAnalysis an;
  an.rep = saturation(act, eps);
  const SaturationReport& rep = an.rep;
  // Range of f' over the line, or over [-8, 8] where it is unbounded; 0 always included.
  double lo = 0, hi = 0;
  const bool unbounded = !std::isfinite(rep.max_abs_derivative);
  const int steps = 4096;
  const double span = unbounded ? 8 : 1e6;
  for (int i = -steps; i <= steps; ++i) {
    // Dense near 0, reaching +-span: x = span * (i/steps)^5.
    const double t = double(i) / steps;
    const double d = evaluate(act, span * t * t * t * t * t).dy;
    if (std::isfinite(d)) lo = std::min(lo, d), hi = std::max(hi, d);
  }
  // A supremum at a jump (hardswish: 1.5 approached at 3-) that the sampling missed.
  if (!unbounded && rep.max_abs_derivative > std::max(-lo, hi)) {
    if (evaluate(act, rep.argmax).dy < 0)
      lo = -rep.max_abs_derivative;
    else
      hi = rep.max_abs_derivative;
  }
  if (!(lo < hi)) hi = lo + 1; // constant f' = 0
  an.auto_lo = lo;
  an.auto_hi = hi;
  return an;
}

StatsAnalysis stats_analysis(const Activation& act, double eps) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, double>, StatsAnalysis> cache;
  const std::pair<std::string, double> key{act.to_string(), eps};
  {
    const std::lock_guard<std::mutex> lock(mutex);
    const auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  const StatsAnalysis an = compute_analysis(act, eps); // outside the lock: milliseconds
  const std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() >= kMaxCached) cache.clear();
  cache.emplace(key, an);
  return an;
}

} // namespace detail

SaturationStats saturation_stats(const Activation& act, ConstTensorView x,
                                 const SaturationStatsOptions& opt) {
  const std::string fn = "actgrad::saturation_stats: ";
  if (x.n < 0) throw Error(fn + "x.n = " + std::to_string(x.n) + " is negative; n must be >= 0");
  if (x.n > 0 && x.data == nullptr) throw Error(fn + "x.data is null with x.n > 0");
  const std::string problem = detail::view_problem(x.data, x.n, x.dtype);
  if (!problem.empty()) throw Error(fn + "argument 'x' " + problem);
  if (opt.bins < 1 || opt.bins > detail::kMaxBins)
    throw Error(fn + "bins = " + std::to_string(opt.bins) + " is outside [1, " +
                std::to_string(detail::kMaxBins) + "]");
  if (!(opt.eps > 0 && opt.eps < 1))
    throw Error(fn + "eps = " + std::to_string(opt.eps) + " is outside (0, 1)");
  const bool auto_range = !(opt.hist_lo < opt.hist_hi);
  if (!auto_range && !(std::isfinite(opt.hist_lo) && std::isfinite(opt.hist_hi)))
    throw Error(fn + "hist_lo and hist_hi must be finite with hist_lo < hist_hi (or lo >= hi "
                     "for the automatic range)");
  if (opt.exec.threads < 0)
    throw Error(fn + "exec.threads = " + std::to_string(opt.exec.threads) +
                " is negative; 0 means OpenMP's default");

  const detail::StatsAnalysis an = detail::stats_analysis(act, opt.eps);
  const SaturationReport& rep = an.rep;
  SaturationStats st;
  st.n = x.n;
  st.threshold = rep.threshold;
  st.left_bound = rep.left.bound;
  st.right_bound = rep.right.bound;
  st.hist_lo = auto_range ? an.auto_lo : opt.hist_lo;
  st.hist_hi = auto_range ? an.auto_hi : opt.hist_hi;
  st.histogram.assign(std::size_t(opt.bins), 0);
  if (x.n == 0) return st;

  detail::StatsSetup s{};
  s.threshold = rep.threshold;
  s.left = std::isnan(rep.left.bound) ? -HUGE_VAL : rep.left.bound;
  s.right = std::isnan(rep.right.bound) ? HUGE_VAL : rep.right.bound;
  s.hist_lo = st.hist_lo;
  s.hist_scale = double(opt.bins) / (st.hist_hi - st.hist_lo);
  s.bins = opt.bins;
  detail::stats_setup_floats(s);
  detail::StatsPartial total{};
  if (x.device.kind == DeviceKind::cpu) {
    const Fused<double> f0 = evaluate(act, detail::first_element(x));
    s.shift_f = std::isfinite(f0.y) ? f0.y : 0;
    s.shift_df = std::isfinite(f0.dy) ? f0.dy : 0;
    const int threads = opt.exec.threads > 0 ? opt.exec.threads : detail::omp_default_threads();
    switch (x.dtype) {
    case DType::f32:
      detail::stats_cpu(act, static_cast<const float*>(x.data), x.n, s, threads, total,
                        st.histogram);
      break;
    case DType::f64:
      detail::stats_cpu(act, static_cast<const double*>(x.data), x.n, s, threads, total,
                        st.histogram);
      break;
    case DType::f16:
      detail::stats_cpu(act, static_cast<const half_t*>(x.data), x.n, s, threads, total,
                        st.histogram);
      break;
    case DType::bf16:
      detail::stats_cpu(act, static_cast<const bfloat16_t*>(x.data), x.n, s, threads, total,
                        st.histogram);
      break;
    }
  } else {
    // Sets the shift from x[0], copied from the device.
    detail::stats_cuda(act, x, s, opt.exec, total, st.histogram);
  }
  st.count = std::int64_t(total.count);
  st.nan = std::int64_t(total.nan);
  st.saturated_left = std::int64_t(total.left);
  st.saturated_right = std::int64_t(total.right);
  st.small_derivative = std::int64_t(total.small);
  st.dead = std::int64_t(total.dead);
  st.below = std::int64_t(total.below);
  st.above = std::int64_t(total.above);
  if (st.count > 0) {
    const double c = double(st.count);
    st.frac_left = double(st.saturated_left) / c;
    st.frac_right = double(st.saturated_right) / c;
    st.frac_small = double(st.small_derivative) / c;
    st.frac_dead = double(st.dead) / c;
    const double mf = total.sf / c, md = total.sd / c;
    st.mean_f = s.shift_f + mf;
    st.mean_df = s.shift_df + md;
    // Rounding can make a zero variance slightly negative; NaN (inf - inf) stays NaN.
    const double vf = total.sf2 / c - mf * mf, vd = total.sd2 / c - md * md;
    st.var_f = vf < 0 ? 0 : vf;
    st.var_df = vd < 0 ? 0 : vd;
  }
  return st;
}

#endif // ACTGRAD_STATS_LOOP

} // namespace actgrad
