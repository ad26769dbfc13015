// The one CPU loop: OpenMP threads over chunks, a SIMD-friendly inner loop, any n and alignment.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <type_traits>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "actgrad/detail/call.hpp"
#include "actgrad/detail/dispatch.hpp"
#include "actgrad/detail/element_ops.hpp"
#include "actgrad/dtype.hpp"
#include "cpu_isa.hpp"

namespace actgrad {
namespace detail {

// Elements per work item: large enough to amortise scheduling, small enough (64 KiB of f32) to
// balance threads and stay in L2 per stream.
constexpr std::int64_t kCpuChunk = 16384;
// Elements per inner block. Every block, including the last partial one, runs the same
// fixed-length loop, so GCC vectorises it with no scalar remainder: each element is computed
// by the same vector code whatever n, alignment or position, and the answers do not depend on
// them. 256 elements is 1-2 KiB per stream, L1-resident.
constexpr int kCpuBlock = 256;
// Above this many bytes over all streams, outputs may be written with non-temporal (streaming)
// stores: the data cannot stay in cache anyway, and streaming avoids reading each output line
// before writing it (3 memory streams instead of 5 for forward_with_derivative). Below it,
// ordinary stores keep the outputs in cache for the caller's next step. Streaming pays only
// where the math is far cheaper than moving the bytes (cpu_loop chooses per call).
constexpr std::int64_t kStreamingBytes = std::int64_t(32) << 20;
// The store-mode probe (cpu_loop) streams where the math alone takes less than this share of a
// streamed chunk's time. Measured over every activation's forward_with_derivative and backward
// (f32, n = 2^24, 1 thread, a Zen 5 guest, fastest of 3 runs per mode; docs/performance.md):
// - share below 0.5: every forward_with_derivative op ran 4-32 % faster streamed; the backward
//   ops (one output, so streaming saves less) ranged from 19 % faster streamed to 11 % slower;
// - share above 0.6: every op ran 4-36 % faster with ordinary stores (the smooth functions,
//   hardswish, exp, log's fused op), but six backward gated units, within 3 % either way;
// - between: four backward ops, from 20 % faster streamed to 9 % slower.
// As a ratio of integers (3/5 = 0.6): the loop function holds no double arithmetic
// (scripts/check-cpu-loops).
constexpr std::int64_t kStreamMathShareNum = 3, kStreamMathShareDen = 5;
// How often the store-mode probe (cpu_loop) computes one block in cache to time the math: 64
// blocks are one chunk of math, microseconds even for relu, so that reading the clock twice
// costs little beside it.
constexpr int kMathProbeRepeats = 64, kMathProbeRounds = 4;

// OpenMP's default team size (host/api.cpp), so this header needs no <omp.h>.
int omp_default_threads();

// x86-64: a loop outside the elementwise engine (saturation_stats, the benchmark's baselines) is
// compiled twice, for AVX2+FMA (x86-64-v3) and the baseline, and the CPU picks at load time (GCC
// function multiversioning). The elementwise engine below is instead compiled once per
// instruction set in its own translation units (cpu_isa.hpp), so the math knows whether it has
// FMA.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(ACTGRAD_NO_CLONES)
#define ACTGRAD_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default"), noinline))
#else
#define ACTGRAD_CPU_CLONES
#endif

// Element i's outputs depend only on element i's inputs, so there is no loop-carried dependence
// even in place. GCC's ivdep says so without `omp simd`, whose per-lane privatisation of the
// small in/out arrays defeats vectorisation here (GCC 12).
#if defined(__GNUC__) && !defined(__clang__)
#define ACTGRAD_IVDEP _Pragma("GCC ivdep")
#define ACTGRAD_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define ACTGRAD_IVDEP
#define ACTGRAD_ALWAYS_INLINE inline
#endif

// The engine's templates live in a namespace named for the instruction set of the translation
// unit that instantiates them (cpu_isa.hpp), so the builds for different instruction sets never
// share a symbol and the linker cannot swap one for another.
#ifndef ACTGRAD_CPU_ISA_NS
#define ACTGRAD_CPU_ISA_NS isa_baseline
#endif
namespace ACTGRAD_CPU_ISA_NS {

// Copies `bytes` from src to dst with non-temporal stores as wide as the translation unit's
// vectors (64 bytes with AVX-512, 32 with AVX, 16 with SSE2; plain memcpy elsewhere), from dst's
// first aligned address on; the unaligned head and the tail go through memcpy. The width
// matters: at n = 2^24 on a Zen 5 guest, sigmoid's fused loop through a block took 0.79 ns/elt
// with 16-byte streaming stores, 0.66 with 64-byte ones and 0.54 writing directly with ordinary
// stores (docs/design.md, "CPU loop").
ACTGRAD_ALWAYS_INLINE void stream_copy(void* dst, const void* src, std::size_t bytes) {
  auto* d = static_cast<char*>(dst);
  const auto* s = static_cast<const char*>(src);
#if defined(__AVX512F__)
  constexpr std::size_t kW = 64;
#elif defined(__AVX__)
  constexpr std::size_t kW = 32;
#elif defined(__SSE2__)
  constexpr std::size_t kW = 16;
#else
  constexpr std::size_t kW = 0;
#endif
  std::size_t i = 0;
  if constexpr (kW > 0) {
    i = std::min<std::size_t>(bytes, (kW - reinterpret_cast<std::uintptr_t>(d) % kW) % kW);
    std::memcpy(d, s, i);
    for (; i + kW <= bytes; i += kW) {
#if defined(__AVX512F__)
      _mm512_stream_si512(reinterpret_cast<__m512i*>(d + i),
                          _mm512_loadu_si512(reinterpret_cast<const void*>(s + i)));
#elif defined(__AVX__)
      _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)));
#elif defined(__SSE2__)
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
#endif
    }
  }
  std::memcpy(d + i, s + i, bytes - i);
}
// Orders this thread's non-temporal stores before what follows.
ACTGRAD_ALWAYS_INLINE void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// Stream pointers of one block; unused ones alias stream 0 and are never touched.
template <class S>
struct BlockPtrs {
  const S* in[3];
  S* out[3];
};

// Applies element op E (compute type C) to kCpuBlock elements. Exact aliasing of an input and an
// output is safe.
template <class S, class C, class E>
ACTGRAD_ALWAYS_INLINE void cpu_block(const E& e, const BlockPtrs<S>& p) {
  constexpr int kIn = E::kIn, kOut = E::kOut;
  static_assert(kIn <= 3 && kOut <= 3, "element ops have at most three streams each way");
  // Named, loop-invariant pointers (not an indexed array), so the vectoriser sees plain
  // unit-stride accesses.
  const S* const i0 = p.in[0];
  const S* const i1 = p.in[kIn > 1 ? 1 : 0];
  const S* const i2 = p.in[kIn > 2 ? 2 : 0];
  S* const o0 = p.out[0];
  S* const o1 = p.out[kOut > 1 ? 1 : 0];
  S* const o2 = p.out[kOut > 2 ? 2 : 0];
  using St = Storage<S>;
  using Out = typename St::compute;
  // A local copy of the op: its parameters are then known to be loadable under any condition,
  // so GCC can if-convert selects such as `x > 0 ? 1 : slope` (it will not speculate a load
  // through the reference).
  const E op = e;
  ACTGRAD_IVDEP
  for (int i = 0; i < kCpuBlock; ++i) {
    C a[kIn];
    C r[kOut];
    a[0] = C(St::load(i0[i]));
    if constexpr (kIn > 1) a[1] = C(St::load(i1[i]));
    if constexpr (kIn > 2) a[2] = C(St::load(i2[i]));
    op(a, r);
    o0[i] = St::store(static_cast<Out>(r[0]));
    if constexpr (kOut > 1) o1[i] = St::store(static_cast<Out>(r[1]));
    if constexpr (kOut > 2) o2[i] = St::store(static_cast<Out>(r[2]));
  }
}

#if defined(__F16C__)
// An f16 block where the CPU has F16C (the AVX2 and AVX-512 builds): the inputs converted to
// float by vcvtph2ps, cpu_block over the float copies, the outputs converted back by vcvtps2ph
// (round to nearest even: the same bits as to_float and to_half, NaN stays a quiet NaN). GCC
// vectorises the portable bit-level conversions of dtype.hpp only poorly, and float <-> _Float16
// not at all (GCC 12); with them f16 took about twice bf16's time per element. Every input is
// read before any output is written, so exact aliasing stays safe.
template <class C, class E>
ACTGRAD_ALWAYS_INLINE void cpu_block_f16c(const E& e, const BlockPtrs<half_t>& p) {
  constexpr int kIn = E::kIn, kOut = E::kOut;
  alignas(64) float a[kIn][kCpuBlock];
  alignas(64) float r[kOut][kCpuBlock];
  for (int k = 0; k < kIn; ++k)
    for (int i = 0; i < kCpuBlock; i += 8)
      _mm256_store_ps(a[k] + i, _mm256_cvtph_ps(_mm_loadu_si128(
                                    reinterpret_cast<const __m128i*>(p.in[k] + i))));
  const BlockPtrs<float> f{{a[0], a[kIn > 1 ? 1 : 0], a[kIn > 2 ? 2 : 0]},
                           {r[0], r[kOut > 1 ? 1 : 0], r[kOut > 2 ? 2 : 0]}};
  cpu_block<float, C>(e, f);
  for (int k = 0; k < kOut; ++k)
    for (int i = 0; i < kCpuBlock; i += 8)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p.out[k] + i),
                       _mm256_cvtps_ph(_mm256_load_ps(r[k] + i), _MM_FROUND_TO_NEAREST_INT));
}
#endif

// One block of storage S: f16 through F16C where the build has it, else cpu_block.
template <class S, class C, class E>
ACTGRAD_ALWAYS_INLINE void cpu_block_of(const E& e, const BlockPtrs<S>& p) {
#if defined(__F16C__)
  if constexpr (std::is_same_v<S, half_t>) {
    cpu_block_f16c<C>(e, p);
    return;
  }
#endif
  cpu_block<S, C>(e, p);
}

// Applies element op E to elements [begin, end). Full blocks read the caller's inputs directly;
// the last partial block is copied into a padded local block first. Outputs go directly to the
// caller's memory, or through a local block and streaming stores when `streaming`.
template <class S, class C, class E>
void cpu_chunk(const E& e, const S* const* in, S* const* out, std::int64_t begin, std::int64_t end,
               bool streaming) {
  constexpr int kIn = E::kIn, kOut = E::kOut;
  alignas(64) S tin[kIn][kCpuBlock];
  alignas(64) S tout[kOut][kCpuBlock];
  for (std::int64_t b = begin; b < end; b += kCpuBlock) {
    const std::int64_t m = std::min<std::int64_t>(kCpuBlock, end - b);
    const bool full = m == kCpuBlock;
    BlockPtrs<S> p{};
    for (int k = 0; k < 3; ++k) {
      const int ki = k < kIn ? k : 0, ko = k < kOut ? k : 0;
      if (full) {
        p.in[k] = in[ki] + b;
      } else {
        std::copy(in[ki] + b, in[ki] + b + m, tin[ki]);
        std::fill(tin[ki] + m, tin[ki] + kCpuBlock, S{}); // padding: computed, never stored
        p.in[k] = tin[ki];
      }
      p.out[k] = full && !streaming ? out[ko] + b : tout[ko];
    }
    cpu_block_of<S, C>(e, p);
    if (full && !streaming) continue;
    for (int k = 0; k < kOut; ++k) {
      if (streaming)
        stream_copy(out[k] + b, tout[k], std::size_t(m) * sizeof(S));
      else
        std::copy(tout[k], tout[k] + m, out[k] + b);
    }
  }
  if (streaming) stream_fence();
}

// The time of E's math alone: kMathProbeRepeats passes over one block of the inputs at `begin`,
// copied into local arrays first, so every pass reads and writes the L1 cache only.
template <class S, class C, class E>
std::chrono::steady_clock::duration cpu_math_probe(const E& e, const S* const* in,
                                                   std::int64_t begin, std::int64_t end) {
  constexpr int kIn = E::kIn, kOut = E::kOut;
  alignas(64) S tin[kIn][kCpuBlock];
  alignas(64) S tout[kOut][kCpuBlock];
  const std::int64_t m = std::min<std::int64_t>(kCpuBlock, end - begin);
  for (int k = 0; k < kIn; ++k) {
    std::copy(in[k] + begin, in[k] + begin + m, tin[k]);
    std::fill(tin[k] + m, tin[k] + kCpuBlock, S{});
  }
  BlockPtrs<S> p{};
  for (int k = 0; k < 3; ++k) {
    p.in[k] = tin[k < kIn ? k : 0];
    p.out[k] = tout[k < kOut ? k : 0];
  }
  cpu_block_of<S, C>(e, p); // warm-up
  // The fastest of kMathProbeRounds rounds, times their number: a round that another thread or
  // the host interrupted does not count.
  std::chrono::steady_clock::duration best = std::chrono::steady_clock::duration::max();
  for (int round = 0; round < kMathProbeRounds; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < kMathProbeRepeats / kMathProbeRounds; ++r) {
      cpu_block_of<S, C>(e, p);
#if defined(__GNUC__)
      __asm__ __volatile__("" ::: "memory"); // each pass is kept: its stores are observed
#endif
    }
    best = std::min(best, std::chrono::steady_clock::now() - t0);
  }
  return best * kMathProbeRounds;
}

// Applies element op E to every index of the call: OpenMP threads over fixed chunks.
//
// Stores, for calls over kStreamingBytes. Streaming stores leave the block loop in a burst
// (stream_copy) that the next block's computation partly waits behind, where ordinary stores let
// the memory traffic overlap the math. Streaming therefore wins only where the math is far
// cheaper than the memory traffic: at n = 2^24 (f32, 1 thread, a Zen 5 guest) it took 0.67-0.96
// of the ordinary-store time for forward_with_derivative of the relu family, abs, square,
// linear, sqrt, reglu and sreglu, and 1.04-1.36 for the smooth functions, hardswish, exp and
// log (docs/performance.md).
// Which side an op falls on depends on the machine, the thread count and the op, so each thread
// measures on its first chunks (contiguous and in order under schedule(static)) and then keeps
// one way:
// - ts, a streamed chunk's time (after one streamed chunk of warm-up), which pays for its own
//   memory traffic. (An ordinary-store chunk does not: its lines leave the cache later, while
//   other chunks run. A first version that timed one chunk each way ran many cheap ops slower
//   than either way alone, likely because a previous streamed call had left the cache clean.)
// - tm, the math alone on one block in L1 (cpu_math_probe), scaled to a chunk.
// It streams where tm is below kStreamMathShareNum / kStreamMathShareDen of ts. Both ways store the
// same bits. ACTGRAD_CPU_STORES=stream or plain (cpu_store_mode) fixes the way instead.
template <class S, class C, class E>
void cpu_loop(const E& e, const Call& call) {
  const S* in[3];
  S* out[3];
  for (int k = 0; k < 3; ++k) {
    in[k] = static_cast<const S*>(call.in[k]);
    out[k] = static_cast<S*>(call.out[k]);
  }
  const std::int64_t n = call.n;
  const bool big = n * std::int64_t(sizeof(S)) * (E::kIn + E::kOut) >= kStreamingBytes;
  const std::int64_t chunks = (n + kCpuChunk - 1) / kCpuChunk;
  const int threads = call.opt.threads > 0 ? call.opt.threads : omp_default_threads();
  const StoreMode mode = big ? cpu_store_mode() : StoreMode::plain;
  if (mode != StoreMode::automatic) {
    const bool streaming = mode == StoreMode::stream;
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1)
    for (std::int64_t c = 0; c < chunks; ++c)
      cpu_chunk<S, C>(e, in, out, c * kCpuChunk, std::min(n, (c + 1) * kCpuChunk), streaming);
    return;
  }
  using Clock = std::chrono::steady_clock;
#pragma omp parallel num_threads(threads)
  {
    int done = 0; // chunks this thread has run: the first two streamed, the second measured
    bool streaming = true;
#pragma omp for schedule(static)
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t begin = c * kCpuChunk, end = std::min(n, begin + kCpuChunk);
      if (done == 1) {
        // Clock ticks; tm for the chunk's (end - begin) elements.
        const std::int64_t tm = cpu_math_probe<S, C>(e, in, begin, end).count() * (end - begin) /
                                (kMathProbeRepeats * kCpuBlock);
        const Clock::time_point t0 = Clock::now();
        cpu_chunk<S, C>(e, in, out, begin, end, true);
        const std::int64_t ts = (Clock::now() - t0).count();
        streaming = tm * kStreamMathShareDen < ts * kStreamMathShareNum;
      } else {
        cpu_chunk<S, C>(e, in, out, begin, end, streaming);
      }
      ++done;
    }
  }
}

// Runs call.op for the call's activation on storage type S.
template <class S>
void run_cpu_typed(const Call& call) {
  visit_element_op<S>(call, [&](const auto& e, auto c) {
    using C = typename decltype(c)::type;
    cpu_loop<S, C>(e, call);
  });
}

} // namespace ACTGRAD_CPU_ISA_NS
} // namespace detail
} // namespace actgrad
