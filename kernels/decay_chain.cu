// The chain model on a CUDA GPU: one fused kernel (one thread per path, all layers in registers,
// per-layer block reductions into [layer][block] partials, then a second reduction pass), and the
// unfused per-layer variant (state in global memory, one step kernel and one reduction per layer)
// that bench/bench_chain.cpp compares it with. The per-path math is actgrad/detail/chain_body.hpp,
// the same code the CPU path runs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <cub/block/block_reduce.cuh>
#include <cuda_runtime.h>

#include "actgrad/detail/decay_chain.hpp"
#include "actgrad/detail/dispatch.hpp"
#include "actgrad/error.hpp"

namespace actgrad {
namespace detail {
namespace {

constexpr int kChainThreads = 256;

[[noreturn]] void chain_fail(const DecayConfig& cfg, const char* what, cudaError_t err) {
  cudaGetLastError();
  throw Error("decay: chain model on cuda:" + std::to_string(cfg.device.index) + ": " + what +
                  ": " + cudaGetErrorString(err),
              err == cudaErrorMemoryAllocation ? Error::Kind::runtime
              : err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver ||
                      err == cudaErrorInvalidDevice
                  ? Error::Kind::unavailable
                  : Error::Kind::runtime);
}

void check(const DecayConfig& cfg, cudaError_t err, const char* what) {
  if (err != cudaSuccess) chain_fail(cfg, what, err);
}

// Device memory owned for the scope of a run.
class DeviceArray {
public:
  DeviceArray(const DecayConfig& cfg, std::size_t bytes) {
    check(cfg, cudaMalloc(&p_, std::max<std::size_t>(bytes, 1)),
          ("cannot allocate " + std::to_string(bytes) + " bytes").c_str());
  }
  ~DeviceArray() { cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  template <class T>
  T* get() const {
    return static_cast<T*>(p_);
  }

private:
  void* p_ = nullptr;
};

// Makes the run's device current and restores the caller's afterwards.
class DeviceScope {
public:
  explicit DeviceScope(const DecayConfig& cfg) {
    check(cfg, cudaGetDevice(&previous_), "no usable CUDA device");
    check(cfg, cudaSetDevice(cfg.device.index), "cannot make the device current");
  }
  ~DeviceScope() { cudaSetDevice(previous_); }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

private:
  int previous_ = 0;
};

struct MaxOp {
  __device__ std::int64_t operator()(std::int64_t a, std::int64_t b) const { return a > b ? a : b; }
};
struct MergeOp {
  __device__ ChainPartial operator()(const ChainPartial& a, const ChainPartial& b) const {
    return chain_merge(a, b);
  }
};
struct LayerSum {
  double s;
  double q;
  std::int64_t sat;
};
struct SumOp {
  __device__ LayerSum operator()(const LayerSum& a, const LayerSum& b) const {
    return {a.s + b.s, a.q + b.q, a.sat + b.sat};
  }
};

using MaxReduce = cub::BlockReduce<std::int64_t, kChainThreads>;
using SumReduce = cub::BlockReduce<LayerSum, kChainThreads>;
using MergeReduce = cub::BlockReduce<ChainPartial, kChainThreads>;

struct LayerShared {
  union {
    typename MaxReduce::TempStorage max;
    typename SumReduce::TempStorage sum;
  } temp;
  std::int64_t emax;
};

// The block's sums of one layer, merged into *slot by thread 0: first the block's largest 2e,
// then plain sums of D^2 scaled to it (see chain_body.hpp). Every thread of the block calls it.
template <class T>
__device__ void block_layer(LayerShared& sh, const ChainState<T>& st, bool active, bool sat,
                            ChainPartial* slot) {
  const std::int64_t e2 = active ? chain_d2_exponent(st) : kChainNoExponent;
  const std::int64_t emax = MaxReduce(sh.temp.max).Reduce(e2, MaxOp{});
  if (threadIdx.x == 0) sh.emax = emax;
  __syncthreads();
  const std::int64_t m = sh.emax;
  LayerSum v{0.0, 0.0, 0};
  if (active) v = {chain_scaled_d2(st, m), double(st.z) * double(st.z), sat ? 1 : 0};
  const LayerSum r = SumReduce(sh.temp.sum).Reduce(v, SumOp{});
  if (threadIdx.x == 0)
    *slot = chain_merge(*slot, ChainPartial{r.s, r.s == 0.0 ? kChainNoExponent : m, r.q, r.sat});
  __syncthreads(); // temp is reused by the next layer
}

// Fused: paths [path0, path0 + gridDim.x * blockDim.x), all layers, partials[(l-1) * G + block].
template <Kind K, class T, class Fn>
__global__ void __launch_bounds__(kChainThreads)
    chain_fused_kernel(const Fn fn, const ChainArgs<T> a, std::int64_t path0,
                       ChainPartial* partials, std::int64_t stride) {
  __shared__ LayerShared sh;
  const std::int64_t path = path0 + std::int64_t(blockIdx.x) * kChainThreads + threadIdx.x;
  const bool active = path < a.paths;
  ChainState<T> st{T(0), T(0), 0, T(0)};
  if (active) chain_start(st, a, path);
  for (std::int64_t l = 1; l <= a.depth; ++l) {
    const bool sat = active ? chain_layer<K>(st, a, fn, path, l) : false;
    block_layer(sh, st, active, sat, partials + (l - 1) * stride + blockIdx.x);
  }
}

// Unfused, step 0: z_0 and D_0 of every path into global memory.
template <class T>
__global__ void __launch_bounds__(kChainThreads)
    chain_start_kernel(const ChainArgs<T> a, ChainState<T>* state) {
  const std::int64_t path = std::int64_t(blockIdx.x) * kChainThreads + threadIdx.x;
  if (path < a.paths) chain_start(state[path], a, path);
}

// Unfused, layer l: read the state, apply one layer, write it back; per-block partials[block].
template <Kind K, class T, class Fn>
__global__ void __launch_bounds__(kChainThreads)
    chain_step_kernel(const Fn fn, const ChainArgs<T> a, std::int64_t l, ChainState<T>* state,
                      ChainPartial* partials) {
  __shared__ LayerShared sh;
  const std::int64_t path = std::int64_t(blockIdx.x) * kChainThreads + threadIdx.x;
  const bool active = path < a.paths;
  ChainState<T> st{T(0), T(0), 0, T(0)};
  bool sat = false;
  if (active) {
    st = state[path];
    const Fused<T> phi = chain_phi_hat<K>(fn, a, st.z);
    const T bias = a.sigma_b != T(0) ? chain_normal<T>(a.seed, path, l) : T(0);
    sat = chain_apply(st, a, phi, bias);
    state[path] = st;
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = chain_partial_empty();
  block_layer(sh, st, active, sat, partials + blockIdx.x);
}

__global__ void chain_fill_empty(ChainPartial* p, std::int64_t n) {
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    p[i] = chain_partial_empty();
}

// Second pass: block b merges the `count` partials of row b (in[b * stride ...]) into out[b].
__global__ void __launch_bounds__(kChainThreads)
    chain_reduce_kernel(const ChainPartial* in, std::int64_t count, std::int64_t stride,
                        ChainPartial* out) {
  __shared__ typename MergeReduce::TempStorage temp;
  ChainPartial acc = chain_partial_empty();
  const ChainPartial* row = in + std::int64_t(blockIdx.x) * stride;
  for (std::int64_t i = threadIdx.x; i < count; i += kChainThreads) acc = chain_merge(acc, row[i]);
  const ChainPartial r = MergeReduce(temp).Reduce(acc, MergeOp{});
  if (threadIdx.x == 0) out[blockIdx.x] = r;
}

// Blocks of one fused launch: every path of a slice in flight at once (all resident threads).
std::int64_t fused_blocks(const DecayConfig& cfg) {
  int sms = 0, threads = 0;
  check(cfg, cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, cfg.device.index),
        "cannot query the device");
  check(cfg,
        cudaDeviceGetAttribute(&threads, cudaDevAttrMaxThreadsPerMultiProcessor, cfg.device.index),
        "cannot query the device");
  const std::int64_t resident = std::int64_t(sms) * std::max(1, threads / kChainThreads);
  const std::int64_t needed = (cfg.batch + kChainThreads - 1) / kChainThreads;
  return std::max<std::int64_t>(1, std::min(resident, needed));
}

template <Kind K, class T, class Fn>
std::vector<ChainPartial> run_fused(const DecayConfig& cfg, const Fn& fn, const ChainArgs<T>& a,
                                    const ProgressFn& progress) {
  const std::int64_t G = fused_blocks(cfg);
  const std::int64_t depth = a.depth;
  DeviceArray partials(cfg, std::size_t(depth * G) * sizeof(ChainPartial));
  DeviceArray sums(cfg, std::size_t(depth) * sizeof(ChainPartial));
  chain_fill_empty<<<1024, kChainThreads>>>(partials.get<ChainPartial>(), depth * G);
  check(cfg, cudaGetLastError(), "kernel launch failed");
  const std::int64_t slice = G * kChainThreads;
  for (std::int64_t p0 = 0; p0 < a.paths; p0 += slice) {
    const std::int64_t blocks = std::min(G, (a.paths - p0 + kChainThreads - 1) / kChainThreads);
    chain_fused_kernel<K, T, Fn>
        <<<unsigned(blocks), kChainThreads>>>(fn, a, p0, partials.get<ChainPartial>(), G);
    check(cfg, cudaGetLastError(), "kernel launch failed");
    if (progress) {
      check(cfg, cudaDeviceSynchronize(), "chain kernel failed");
      progress(std::min(a.paths, p0 + slice) * depth / a.paths, depth);
    }
  }
  chain_reduce_kernel<<<unsigned(depth), kChainThreads>>>(partials.get<ChainPartial>(), G, G,
                                                          sums.get<ChainPartial>());
  check(cfg, cudaGetLastError(), "kernel launch failed");
  std::vector<ChainPartial> out(static_cast<std::size_t>(depth));
  check(cfg,
        cudaMemcpy(out.data(), sums.get<ChainPartial>(), out.size() * sizeof(ChainPartial),
                   cudaMemcpyDeviceToHost),
        "chain kernel failed");
  return out;
}

template <Kind K, class T, class Fn>
std::vector<ChainPartial> run_per_layer(const DecayConfig& cfg, const Fn& fn, const ChainArgs<T>& a,
                                        const ProgressFn& progress) {
  const std::int64_t blocks = (a.paths + kChainThreads - 1) / kChainThreads;
  DeviceArray state(cfg, std::size_t(a.paths) * sizeof(ChainState<T>));
  DeviceArray partials(cfg, std::size_t(blocks) * sizeof(ChainPartial));
  DeviceArray sums(cfg, std::size_t(a.depth) * sizeof(ChainPartial));
  chain_start_kernel<T><<<unsigned(blocks), kChainThreads>>>(a, state.get<ChainState<T>>());
  check(cfg, cudaGetLastError(), "kernel launch failed");
  for (std::int64_t l = 1; l <= a.depth; ++l) {
    chain_step_kernel<K, T, Fn><<<unsigned(blocks), kChainThreads>>>(
        fn, a, l, state.get<ChainState<T>>(), partials.get<ChainPartial>());
    chain_reduce_kernel<<<1, kChainThreads>>>(partials.get<ChainPartial>(), blocks, 0,
                                              sums.get<ChainPartial>() + (l - 1));
    if (progress && l % 64 == 0) {
      check(cfg, cudaDeviceSynchronize(), "chain kernel failed");
      progress(l, a.depth);
    }
  }
  check(cfg, cudaGetLastError(), "kernel launch failed");
  std::vector<ChainPartial> out(static_cast<std::size_t>(a.depth));
  check(cfg,
        cudaMemcpy(out.data(), sums.get<ChainPartial>(), out.size() * sizeof(ChainPartial),
                   cudaMemcpyDeviceToHost),
        "chain kernel failed");
  return out;
}

// One fused kernel per activation per compute type; the unfused kernels for f32 only (they exist
// for the benchmark, which runs the default dtype).
template <class T>
std::vector<ChainPartial> run_typed(const DecayConfig& cfg, ChainVariant variant,
                                    const ProgressFn& progress) {
  const ChainArgs<T> a = chain_args<T>(cfg);
  return visit_activation(cfg.act.id(), [&](auto tag) {
    using Tag = decltype(tag);
    using Fn = typename Tag::template op<T>;
    const Fn fn(cfg.act.params());
    if (variant == ChainVariant::per_layer) {
      if constexpr (std::is_same<T, float>::value) {
        return run_per_layer<Tag::kind, T>(cfg, fn, a, progress);
      } else {
        throw Error("decay: the per-layer chain variant on cuda is built for f32 only");
      }
    }
    return run_fused<Tag::kind, T>(cfg, fn, a, progress);
  });
}

} // namespace

std::vector<LayerStats> chain_cuda(const DecayConfig& cfg, ChainVariant variant,
                                   const ProgressFn& progress) {
  if (!Device::cuda_available())
    throw Error("decay: device cuda: " + Device::automatic_reason(), Error::Kind::unavailable);
  DeviceScope scope(cfg);
  const std::vector<ChainPartial> sums = cfg.dtype == DType::f64
                                             ? run_typed<double>(cfg, variant, progress)
                                             : run_typed<float>(cfg, variant, progress);
  return chain_layer_stats(sums, cfg.batch);
}

std::uint64_t chain_cuda_bytes(const DecayConfig& cfg, ChainVariant variant) {
  const std::uint64_t depth = std::uint64_t(cfg.depth);
  const std::uint64_t blocks = std::uint64_t((cfg.batch + kChainThreads - 1) / kChainThreads);
  if (variant == ChainVariant::per_layer)
    return std::uint64_t(cfg.batch) * sizeof(ChainState<double>) +
           (blocks + depth) * sizeof(ChainPartial);
  // Before the device is queried: at most 2048 threads on each of up to 1024 SMs resident.
  std::uint64_t g = blocks;
  int sms = 0, threads = 0;
  if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, cfg.device.index) ==
          cudaSuccess &&
      cudaDeviceGetAttribute(&threads, cudaDevAttrMaxThreadsPerMultiProcessor, cfg.device.index) ==
          cudaSuccess)
    g = std::min<std::uint64_t>(g, std::uint64_t(sms) * std::uint64_t(threads / kChainThreads));
  else
    cudaGetLastError();
  return (depth * std::max<std::uint64_t>(g, 1) + depth) * sizeof(ChainPartial);
}

} // namespace detail
} // namespace actgrad
