// saturation_stats on CUDA: one pass over x, per-thread double sums and 32-bit counters reduced
// per block with cub::BlockReduce, a shared-memory histogram of f' per block (ballot-aggregated
// increments), per-block partials summed on the host in block order (deterministic). Every CUDA
// call and launch is checked.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include <cub/block/block_reduce.cuh>
#include <cuda_runtime.h>

#include "actgrad/detail/dispatch.hpp"
#include "actgrad/detail/stats.hpp"
#include "actgrad/error.hpp"
#include "actgrad/scalar.hpp"
#include "cuda_check.hpp"

namespace actgrad {
namespace detail {
namespace {

constexpr int kStatsThreads = 256;
// Elements a thread loads before computing, for memory-level parallelism.
constexpr int kStatsUnroll = 4;
// Per-block shared histogram counters are 32-bit: no block sees more than this many elements.
constexpr std::int64_t kMaxPerBlock = std::int64_t(1) << 30;

struct MergeOp {
  __device__ StatsPartial32 operator()(const StatsPartial32& a, const StatsPartial32& b) const {
    return stats_merge32(a, b);
  }
};

// Adds each lane's bin (-1: none) to the block's shared histogram. All 32 lanes take part. Up to
// two rounds add the lanes that share the bin of the lowest pending lane at once, by that lane
// (f' often takes few values: relu's 0 and 1, saturated tails), with ballots rather than
// __match_any_sync; the lanes left add their own.
__device__ __forceinline__ void warp_hist_add(unsigned int* h, int bin) {
  const unsigned lane = threadIdx.x & 31;
  unsigned todo = __ballot_sync(0xffffffffu, bin >= 0);
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    if (todo == 0) return; // warp-uniform
    const int leader = __ffs(todo) - 1;
    const int lb = __shfl_sync(0xffffffffu, bin, leader);
    const unsigned peers = __ballot_sync(0xffffffffu, bin == lb) & todo;
    if (lane == unsigned(leader)) atomicAdd(&h[lb], unsigned(__popc(peers)));
    todo &= ~peers;
  }
  if ((todo >> lane) & 1u) atomicAdd(&h[bin], 1u);
}

// One pass over x: per thread, double sums of the differences and 32-bit counters, compared in
// the compute type C against the bounds of the CPU loop; per block, a fixed-order
// cub::BlockReduce and a shared histogram. The loop condition is uniform per warp, so the
// warp-wide ballots see all 32 lanes.
template <class S, class C, Kind K, class Fn>
__global__ void __launch_bounds__(kStatsThreads)
    stats_kernel(const Fn fn, const S* __restrict__ x, std::int64_t n, const StatsBounds<C> s,
                 double shift_f, double shift_df, StatsPartial* __restrict__ partials,
                 unsigned long long* __restrict__ hist) {
  extern __shared__ unsigned int block_hist[];
  for (int b = threadIdx.x; b < s.bins; b += blockDim.x) block_hist[b] = 0;
  __syncthreads();
  StatsPartial32 p{};
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  const std::int64_t lane = threadIdx.x & 31;
  std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i - lane < n; i += kStatsUnroll * stride) {
    C v[kStatsUnroll];
#pragma unroll
    for (int u = 0; u < kStatsUnroll; ++u) {
      const std::int64_t j = i + u * stride;
      v[u] = j < n ? C(Storage<S>::load(x[j])) : C(0);
    }
#pragma unroll
    for (int u = 0; u < kStatsUnroll; ++u) {
      int bin = -1;
      if (i + u * stride < n) {
        const Fused<C> r = unit_fused<K>(fn, v[u]);
        bin = stats_add<C>(p, s, shift_f, shift_df, v[u], r.y, r.dy);
      }
      warp_hist_add(block_hist, bin);
    }
  }
  using Reduce = cub::BlockReduce<StatsPartial32, kStatsThreads>;
  __shared__ typename Reduce::TempStorage temp;
  const StatsPartial32 t = Reduce(temp).Reduce(p, MergeOp{});
  if (threadIdx.x == 0)
    partials[blockIdx.x] = StatsPartial{t.sf,   t.sf2,   t.sd,    t.sd2,  t.count, 0,
                                        t.left, t.right, t.small, t.dead, t.below, t.above};
  __syncthreads();
  for (int b = threadIdx.x; b < s.bins; b += blockDim.x)
    if (block_hist[b] != 0) atomicAdd(&hist[b], (unsigned long long)block_hist[b]);
}

// The bounds of s in the compute type C, as the CPU loop takes them.
template <class C>
StatsBounds<C> bounds(const StatsSetup& s) {
  if constexpr (std::is_same<C, double>::value)
    return {s.threshold, s.left, s.right, s.hist_lo, s.hist_scale, double(s.bins), s.bins};
  else
    return {s.threshold_f, s.left_f, s.right_f, s.hist_lo_f, s.hist_scale_f, float(s.bins), s.bins};
}

std::string where(ConstTensorView x) {
  return "actgrad::saturation_stats on cuda:" + std::to_string(x.device.index);
}

void check(cudaError_t err, ConstTensorView x, const char* what) {
  if (err != cudaSuccess) cuda_fail(where(x), what, err);
}

// Stream-ordered scratch memory, freed on the stream when the scope ends.
class Scratch {
public:
  Scratch(std::size_t bytes, cudaStream_t stream, ConstTensorView x) : stream_(stream) {
    check(cudaMallocAsync(&p_, bytes, stream), x, "cannot allocate scratch memory");
  }
  ~Scratch() { cudaFreeAsync(p_, stream_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* get() const { return p_; }

private:
  void* p_ = nullptr;
  cudaStream_t stream_;
};

template <class S>
void stats_typed(const Activation& act, ConstTensorView x, const StatsSetup& s, cudaStream_t stream,
                 int sm_count, int threads_per_sm, StatsPartial* d_part, unsigned long long* d_hist,
                 std::int64_t& blocks_out) {
  const S* data = static_cast<const S*>(x.data);
  const std::int64_t want = (x.n + kStatsThreads - 1) / kStatsThreads;
  const std::int64_t resident =
      std::int64_t(sm_count) * std::max(1, threads_per_sm / kStatsThreads);
  std::int64_t blocks = std::min(want, resident);
  blocks = std::max(blocks, (x.n + kMaxPerBlock - 1) / kMaxPerBlock);
  blocks_out = blocks;
  visit_activation(act.id(), [&](auto tag) {
    using Tag = decltype(tag);
    using C = compute_t<S>;
    using Fn = typename Tag::template op<C>;
    const Fn fn(act.params());
    stats_kernel<S, C, Tag::kind, Fn>
        <<<unsigned(blocks), kStatsThreads, std::size_t(s.bins) * sizeof(unsigned int), stream>>>(
            fn, data, x.n, bounds<C>(s), s.shift_f, s.shift_df, d_part, d_hist);
    check(cudaGetLastError(), x, "kernel launch failed");
  });
}

double first_value(ConstTensorView x, cudaStream_t stream) {
  unsigned char bytes[8] = {};
  check(cudaMemcpyAsync(bytes, x.data, std::size_t(dtype_size(x.dtype)), cudaMemcpyDeviceToHost,
                        stream),
        x, "cannot read x[0]");
  check(cudaStreamSynchronize(stream), x, "stream synchronisation failed");
  switch (x.dtype) {
  case DType::f32: {
    float v;
    std::memcpy(&v, bytes, sizeof v);
    return v;
  }
  case DType::f64: {
    double v;
    std::memcpy(&v, bytes, sizeof v);
    return v;
  }
  case DType::f16: {
    half_t v;
    std::memcpy(&v, bytes, sizeof v);
    return to_float(v);
  }
  case DType::bf16: {
    bfloat16_t v;
    std::memcpy(&v, bytes, sizeof v);
    return to_float(v);
  }
  }
  return 0;
}

} // namespace

void stats_cuda(const Activation& act, ConstTensorView x, StatsSetup& s, const ExecOptions& opt,
                StatsPartial& total, std::vector<std::int64_t>& hist) {
  if (!Device::cuda_available())
    throw Error(where(x) + ": CUDA is not usable in this process (" + Device::automatic_reason() +
                    "); use a cpu view",
                Error::Kind::unavailable);
  int count = 0;
  check(cudaGetDeviceCount(&count), x, "cannot count CUDA devices");
  if (x.device.index < 0 || x.device.index >= count)
    throw Error(where(x) + ": no such device; " + std::to_string(count) + " CUDA device(s)");
  if (reinterpret_cast<std::uintptr_t>(x.data) % std::uintptr_t(dtype_size(x.dtype)) != 0)
    throw Error(where(x) + ": argument 'x' is not aligned to its " +
                std::to_string(dtype_size(x.dtype)) + "-byte elements");
  cudaPointerAttributes attr{};
  check(cudaPointerGetAttributes(&attr, x.data), x, "cannot inspect x's pointer");
  if (attr.type != cudaMemoryTypeManaged &&
      (attr.type != cudaMemoryTypeDevice || attr.device != x.device.index))
    throw Error(where(x) + ": argument 'x' is not device memory of cuda:" +
                std::to_string(x.device.index) + "; copy it to a cuda Buffer or use a cpu view");
  const CudaDeviceScope scope(x.device.index, [&] { return where(x); });
  const cudaStream_t stream = static_cast<cudaStream_t>(opt.stream);
  int sm_count = 0, threads_per_sm = 0;
  check(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, x.device.index), x,
        "cannot query the device");
  check(cudaDeviceGetAttribute(&threads_per_sm, cudaDevAttrMaxThreadsPerMultiProcessor,
                               x.device.index),
        x, "cannot query the device");

  const Fused<double> f0 = evaluate(act, first_value(x, stream));
  s.shift_f = std::isfinite(f0.y) ? f0.y : 0;
  s.shift_df = std::isfinite(f0.dy) ? f0.dy : 0;

  const std::int64_t max_blocks =
      std::max<std::int64_t>(std::int64_t(sm_count) * std::max(1, threads_per_sm / kStatsThreads),
                             (x.n + kMaxPerBlock - 1) / kMaxPerBlock);
  const std::size_t part_bytes = std::size_t(max_blocks) * sizeof(StatsPartial);
  const std::size_t hist_bytes = hist.size() * sizeof(unsigned long long);
  const Scratch scratch(part_bytes + hist_bytes, stream, x);
  auto* d_part = static_cast<StatsPartial*>(scratch.get());
  auto* d_hist =
      reinterpret_cast<unsigned long long*>(static_cast<char*>(scratch.get()) + part_bytes);
  check(cudaMemsetAsync(d_hist, 0, hist_bytes, stream), x, "cannot clear the histogram");
  std::int64_t blocks = 0;
  switch (x.dtype) {
  case DType::f32:
    stats_typed<float>(act, x, s, stream, sm_count, threads_per_sm, d_part, d_hist, blocks);
    break;
  case DType::f64:
    stats_typed<double>(act, x, s, stream, sm_count, threads_per_sm, d_part, d_hist, blocks);
    break;
  case DType::f16:
    stats_typed<half_t>(act, x, s, stream, sm_count, threads_per_sm, d_part, d_hist, blocks);
    break;
  case DType::bf16:
    stats_typed<bfloat16_t>(act, x, s, stream, sm_count, threads_per_sm, d_part, d_hist, blocks);
    break;
  }
  std::vector<StatsPartial> part(static_cast<std::size_t>(blocks));
  std::vector<unsigned long long> h(hist.size());
  check(cudaMemcpyAsync(part.data(), d_part, part.size() * sizeof(StatsPartial),
                        cudaMemcpyDeviceToHost, stream),
        x, "cannot copy the partial sums");
  check(cudaMemcpyAsync(h.data(), d_hist, hist_bytes, cudaMemcpyDeviceToHost, stream), x,
        "cannot copy the histogram");
  check(cudaStreamSynchronize(stream), x, "the statistics kernel failed");
  // Block order: the sums depend on the grid (the device), not on timing.
  StatsPartial sum{};
  for (const StatsPartial& p : part) sum = stats_merge(sum, p);
  sum.nan = std::uint64_t(x.n) - sum.count;
  total = stats_merge(total, sum);
  for (std::size_t b = 0; b < h.size(); ++b) hist[b] += std::int64_t(h[b]);
}

} // namespace detail
} // namespace actgrad
