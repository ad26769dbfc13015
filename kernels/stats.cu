// saturation_stats on CUDA: one pass over x, per-thread double sums reduced per block with
// cub::BlockReduce, a shared-memory histogram of f' per block (warp-aggregated increments),
// per-block partials summed on the host in block order (deterministic). Every CUDA call and launch
// is checked.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
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
  __device__ StatsPartial operator()(const StatsPartial& a, const StatsPartial& b) const {
    return stats_merge(a, b);
  }
};

template <class S, class C, Kind K, class Fn>
__global__ void __launch_bounds__(kStatsThreads)
    stats_kernel(const Fn fn, const S* __restrict__ x, std::int64_t n, const StatsSetup s,
                 StatsPartial* __restrict__ partials, unsigned long long* __restrict__ hist) {
  extern __shared__ unsigned int block_hist[];
  for (int b = threadIdx.x; b < s.bins; b += blockDim.x) block_hist[b] = 0;
  __syncthreads();
  StatsPartial p{};
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i < n; i += kStatsUnroll * stride) {
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
        bin = stats_add(p, s, double(v[u]), double(r.y), double(r.dy));
      }
      // Lanes with the same bin add once, by their lowest lane: f' often takes few values
      // (relu: 0 or 1), and 32 lanes hitting one shared counter would serialise.
      const unsigned same = __match_any_sync(__activemask(), bin);
      if (bin >= 0 && (threadIdx.x & 31) == unsigned(__ffs(same) - 1))
        atomicAdd(&block_hist[bin], unsigned(__popc(same)));
    }
  }
  using Reduce = cub::BlockReduce<StatsPartial, kStatsThreads>;
  __shared__ typename Reduce::TempStorage temp;
  const StatsPartial total = Reduce(temp).Reduce(p, MergeOp{});
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
  __syncthreads();
  for (int b = threadIdx.x; b < s.bins; b += blockDim.x)
    if (block_hist[b] != 0) atomicAdd(&hist[b], (unsigned long long)block_hist[b]);
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
            fn, data, x.n, s, d_part, d_hist);
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
  for (const StatsPartial& p : part) total = stats_merge(total, p);
  for (std::size_t b = 0; b < h.size(); ++b) hist[b] += std::int64_t(h[b]);
}

} // namespace detail
} // namespace actgrad
