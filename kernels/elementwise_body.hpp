// The CUDA engine's per-thread body, launch plan and op dispatch, in plain C++17 so host tests can
// drive the exact code the kernel runs over every (block, thread) index.
//
//   const EwArgs<S> a = make_ew_args<S>(e, call);        // vector or scalar plan from the pointers
//   const std::int64_t blocks = grid_blocks(a, config);  // from the device's SM count
//   for each (block, thread): elementwise_body<S, C>(block, thread, kBlockThreads, blocks, e, a);
//
// kernels/elementwise.cuh wraps the body in the one __global__ loop; run_cuda_*.cu instantiate it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "actgrad/config.hpp"
#include "actgrad/detail/call.hpp"
#include "actgrad/detail/dispatch.hpp"
#include "actgrad/detail/element_ops.hpp"
#include "actgrad/dtype.hpp"

// Full unrolling of the fixed-trip element loops, so vector lanes stay in registers. Spelled per
// compiler: nvcc's device pass takes `unroll`; plain g++ (host tests, CPU builds) takes
// `GCC unroll`; nvcc's host pass accepts neither without a warning, and never runs the body.
#if defined(__CUDA_ARCH__)
#define ACTGRAD_UNROLL _Pragma("unroll")
#elif defined(__CUDACC__)
#define ACTGRAD_UNROLL
#else
#define ACTGRAD_UNROLL _Pragma("GCC unroll 16")
#endif

namespace actgrad {
namespace detail {

// Widest global load/store a thread can issue in one instruction (LDG.128 / STG.128).
constexpr int kVecBytes = 16;
// Threads per block: a multiple of the 32-thread warp that divides every recent GPU's
// threads-per-SM limit (1536 or 2048), so whole blocks fill an SM.
constexpr int kBlockThreads = 256;
// Largest kIn / kOut of any ElementOp (gated_backward reads 3, gated_fused writes 3).
constexpr int kMaxStreams = 3;
// Vectors each thread loads before computing (ACTGRAD_EW_UNROLL; 1 unless a build sets it, as
// scripts/build-gpu does for the variant it measures beside the default).
#ifndef ACTGRAD_EW_UNROLL
#define ACTGRAD_EW_UNROLL 1
#endif
constexpr int kEwUnroll = ACTGRAD_EW_UNROLL;

// N elements moved as one 16-byte access; only ever formed over 16-byte aligned addresses.
template <class T, int N>
struct alignas(sizeof(T) * N) Vec {
  T v[N];
};

// Elements per vector for storage type S: 4 f32, 2 f64, 8 f16/bf16.
template <class S>
constexpr int vec_width() {
  return kVecBytes / int(sizeof(S));
}

// Everything the kernel reads besides the functor. Elements [0, head) and
// [head + vectors * N, n) are done one at a time; the `vectors` groups of N from `head` on are
// done with 16-byte accesses. head = n and vectors = 0 is the all-scalar plan.
template <class S>
struct EwArgs {
  const S* in[kMaxStreams];
  S* out[kMaxStreams];
  std::int64_t n;
  std::int64_t head;
  std::int64_t vectors;
};

// Bytes past the last 16-byte boundary.
inline std::uintptr_t misalignment(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % kVecBytes;
}

// Chooses the plan for element op E over the call's pointers. The vector path needs every
// pointer at the same offset from a 16-byte boundary: a scalar head of (16 - offset) bytes then
// aligns them all. Pointers that disagree run all-scalar (any n, any element alignment).
template <class S, class E>
EwArgs<S> make_ew_args(const E&, const Call& call) {
  constexpr int kN = vec_width<S>();
  EwArgs<S> a{};
  a.n = call.n;
  const std::uintptr_t m = misalignment(call.in[0]);
  bool shared = m % sizeof(S) == 0;
  for (int k = 0; k < kMaxStreams; ++k) {
    a.in[k] = static_cast<const S*>(call.in[k]);
    a.out[k] = static_cast<S*>(call.out[k]);
    if (k < E::kIn) shared = shared && misalignment(call.in[k]) == m;
    if (k < E::kOut) shared = shared && misalignment(call.out[k]) == m;
  }
  if (!shared) {
    a.head = a.n;
    a.vectors = 0;
    return a;
  }
  const std::int64_t peel = std::int64_t((kVecBytes - m) % kVecBytes) / std::int64_t(sizeof(S));
  a.head = std::min(peel, a.n);
  a.vectors = (a.n - a.head) / kN;
  return a;
}

// Loop iterations of the whole grid: one per vector plus one per scalar element.
template <class S>
std::int64_t ew_work_items(const EwArgs<S>& a) {
  return a.vectors + (a.n - a.vectors * vec_width<S>());
}

// Device facts the launch needs, cached per device by run_cuda.
struct LaunchConfig {
  void* stream = nullptr;     // cudaStream_t of ExecOptions
  int sm_count = 1;           // cudaDevAttrMultiProcessorCount
  int max_threads_per_sm = 0; // cudaDevAttrMaxThreadsPerMultiProcessor
};

// Blocks to launch: enough to cover the work once, at most one full wave of resident blocks
// (SMs x blocks per SM); the grid-stride loop covers the rest, so any n fits a small grid.
template <class S>
std::int64_t grid_blocks(const EwArgs<S>& a, const LaunchConfig& cfg) {
  const std::int64_t per_sm = std::max(1, cfg.max_threads_per_sm / kBlockThreads);
  const std::int64_t wave = std::int64_t(std::max(1, cfg.sm_count)) * per_sm;
  const std::int64_t needed = (ew_work_items(a) + kBlockThreads - 1) / kBlockThreads;
  return std::max<std::int64_t>(1, std::min(needed, wave));
}

// The per-thread work of thread `thread` in block `block` of a grid of `grid_dim` blocks of
// `block_dim` threads: a grid-stride loop over the vectors, then over the scalar head and tail.
// Each element's inputs are all read before its outputs are written, so an output may alias an
// input (in place). 64-bit indices throughout, so n > 2^31 works.
template <class S, class C, class E>
ACTGRAD_HOST_DEVICE void elementwise_body(std::int64_t block, std::int64_t thread,
                                          std::int64_t block_dim, std::int64_t grid_dim, const E& e,
                                          const EwArgs<S>& a) {
  using Compute = typename Storage<S>::compute; // what Storage<S>::store takes (C may be wider)
  constexpr int kN = vec_width<S>();
  using V = Vec<S, kN>;
  const std::int64_t stride = block_dim * grid_dim;
  const std::int64_t tid = block * block_dim + thread;
  // kUnroll vectors a stride apart per iteration: all their loads are issued before the first
  // is used, so more bytes are in flight per thread.
  constexpr int kU = kEwUnroll;
  for (std::int64_t v0 = tid; v0 < a.vectors; v0 += kU * stride) {
    V vin[kU][E::kIn];
    ACTGRAD_UNROLL
    for (int u = 0; u < kU; ++u) {
      const std::int64_t v = v0 + u * stride;
      if (v < a.vectors) {
        ACTGRAD_UNROLL
        for (int k = 0; k < E::kIn; ++k)
          vin[u][k] = *reinterpret_cast<const V*>(a.in[k] + a.head + v * kN);
      }
    }
    ACTGRAD_UNROLL
    for (int u = 0; u < kU; ++u) {
      const std::int64_t v = v0 + u * stride;
      if (v >= a.vectors) break;
      V vout[E::kOut];
      ACTGRAD_UNROLL
      for (int j = 0; j < kN; ++j) {
        C x[E::kIn];
        C r[E::kOut];
        ACTGRAD_UNROLL
        for (int k = 0; k < E::kIn; ++k) x[k] = C(Storage<S>::load(vin[u][k].v[j]));
        e(x, r);
        ACTGRAD_UNROLL
        for (int k = 0; k < E::kOut; ++k) vout[k].v[j] = Storage<S>::store(Compute(r[k]));
      }
      ACTGRAD_UNROLL
      for (int k = 0; k < E::kOut; ++k) *reinterpret_cast<V*>(a.out[k] + a.head + v * kN) = vout[k];
    }
  }
  const std::int64_t tail = a.head + a.vectors * kN;
  const std::int64_t scalars = a.n - a.vectors * kN;
  for (std::int64_t s = tid; s < scalars; s += stride) {
    const std::int64_t i = s < a.head ? s : tail + (s - a.head);
    C x[E::kIn];
    C r[E::kOut];
    ACTGRAD_UNROLL
    for (int k = 0; k < E::kIn; ++k) x[k] = C(Storage<S>::load(a.in[k][i]));
    e(x, r);
    ACTGRAD_UNROLL
    for (int k = 0; k < E::kOut; ++k) a.out[k][i] = Storage<S>::store(Compute(r[k]));
  }
}

// CUDA backend for storage S (kernels/run_cuda_*.cu): launches the call on cfg.stream.
template <class S>
void run_cuda_typed(const Call& call, const LaunchConfig& cfg);

} // namespace detail
} // namespace actgrad
