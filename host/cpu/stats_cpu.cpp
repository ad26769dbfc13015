// saturation_stats: option checks, the setup from the scalar analysis, the one-pass CPU loop
// (OpenMP threads over chunks, blocked double sums) and the hand-off to the CUDA kernel.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <omp.h>

#include "simd_math.hpp"

#include "actgrad/detail/dispatch.hpp"
#include "actgrad/detail/stats.hpp"
#include "actgrad/detail/view_check.hpp"
#include "actgrad/error.hpp"
#include "actgrad/saturation.hpp"
#include "actgrad/scalar.hpp"
#include "cpu_engine.hpp"

namespace actgrad {
namespace detail {
namespace {

constexpr int kMaxBins = 4096;

// f and f' of one block into local arrays (vectorisable, like cpu_block), then the branchy
// accumulation from those arrays. Chunk sums are added to the thread's total once per chunk,
// so no double sum runs over more than kCpuChunk terms before being folded into a larger one.
template <class S, class C, Kind K, class Fn>
ACTGRAD_CPU_CLONES void stats_chunk(const Fn& fn_in, const S* x, std::int64_t begin,
                                    std::int64_t end, const StatsSetup& s, StatsPartial& total,
                                    std::int64_t* hist) {
  alignas(64) C xin[kCpuBlock], y[kCpuBlock], dy[kCpuBlock];
  // Per-chunk counters (a chunk is at most kCpuChunk elements, far below 2^32).
  std::vector<std::uint32_t> sub(4 * std::size_t(s.bins), 0);
  StatsPartial chunk{};
  const Fn fn = fn_in;
  for (std::int64_t b = begin; b < end; b += kCpuBlock) {
    const int m = int(std::min<std::int64_t>(kCpuBlock, end - b));
    for (int i = 0; i < m; ++i) xin[i] = C(Storage<S>::load(x[b + i]));
    for (int i = m; i < kCpuBlock; ++i) xin[i] = C(0);
    ACTGRAD_IVDEP
    for (int i = 0; i < kCpuBlock; ++i) {
      const Fused<C> r = unit_fused<K>(fn, xin[i]);
      y[i] = r.y;
      dy[i] = r.dy;
    }
    // The accumulation of stats_add (actgrad/detail/stats.hpp) written branch-free, so that it
    // vectorises (omp simd reduction); the histogram increments stay a scalar loop.
    double sf = 0, sf2 = 0, sd = 0, sd2 = 0;
    int count = 0, nan = 0, left = 0, right = 0, small = 0, dead = 0, below = 0, above = 0;
    alignas(64) int bins[kCpuBlock];
#pragma omp simd reduction(+ : sf, sf2, sd, sd2, count, nan, left, right, small, dead, below, above)
    for (int i = 0; i < m; ++i) {
      const double xv = double(xin[i]), yv = double(y[i]), dv = double(dy[i]);
      const bool ok = xv == xv && yv == yv && dv == dv;
      const double a = ok ? yv - s.shift_f : 0.0, b = ok ? dv - s.shift_df : 0.0;
      sf += a;
      sf2 += a * a;
      sd += b;
      sd2 += b * b;
      count += ok ? 1 : 0;
      nan += ok ? 0 : 1;
      const bool sm = ok && (dv < 0 ? -dv : dv) < s.threshold;
      small += sm ? 1 : 0;
      left += sm && xv <= s.left ? 1 : 0;
      right += sm && xv >= s.right ? 1 : 0;
      dead += ok && dv == 0 ? 1 : 0;
      const double t = (dv - s.hist_lo) * s.hist_scale;
      const bool lo = ok && t < 0, hi = ok && t > double(s.bins); // t == bins: the last bin
      below += lo ? 1 : 0;
      above += hi ? 1 : 0;
      const bool in = ok && !lo && !hi;
      const double tc = in ? t : 0.0;
      bins[i] = in ? (tc >= double(s.bins) ? s.bins - 1 : int(tc)) : -1;
    }
    // Four interleaved copies of the histogram: consecutive elements that fall in one bin
    // (relu: f' is 0 or 1) then increment different counters instead of waiting on each other.
    for (int i = 0; i < m; ++i)
      if (bins[i] >= 0) ++sub[std::size_t(i & 3) * std::size_t(s.bins) + std::size_t(bins[i])];
    using U = unsigned long long;
    chunk = stats_merge(chunk, StatsPartial{sf, sf2, sd, sd2, U(count), U(nan), U(left), U(right),
                                            U(small), U(dead), U(below), U(above)});
  }
  total = stats_merge(total, chunk);
  for (int k = 0; k < 4; ++k)
    for (int b = 0; b < s.bins; ++b) hist[b] += sub[std::size_t(k) * std::size_t(s.bins) + b];
}

template <class S>
void stats_cpu(const Activation& act, const S* x, std::int64_t n, const StatsSetup& s, int threads,
               StatsPartial& total, std::vector<std::int64_t>& hist) {
  visit_activation(act.id(), [&](auto tag) {
    using Tag = decltype(tag);
    using C = compute_t<S>;
    using Fn = typename Tag::template op<C>;
    const Fn fn(act.params());
    const std::int64_t chunks = (n + kCpuChunk - 1) / kCpuChunk;
    const int team = int(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, chunks)));
    std::vector<StatsPartial> part(std::size_t(team), StatsPartial{});
    std::vector<std::vector<std::int64_t>> h(std::size_t(team),
                                             std::vector<std::int64_t>(hist.size(), 0));
#pragma omp parallel num_threads(team) if (team > 1)
    {
      const std::size_t t = std::size_t(omp_get_thread_num());
#pragma omp for schedule(static)
      for (std::int64_t c = 0; c < chunks; ++c)
        stats_chunk<S, C, Tag::kind>(fn, x, c * kCpuChunk, std::min(n, (c + 1) * kCpuChunk), s,
                                     part[t], h[t].data());
    }
    // Fixed merge order: the result depends on the thread count, not on timing.
    for (std::size_t t = 0; t < part.size(); ++t) {
      total = stats_merge(total, part[t]);
      for (std::size_t b = 0; b < hist.size(); ++b) hist[b] += h[t][b];
    }
  });
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

} // namespace actgrad
