// The one CPU loop: OpenMP threads over chunks, a SIMD-friendly inner loop, any n and alignment.
#pragma once

#include <algorithm>
#include <cstdint>

#include "actgrad/detail/element_ops.hpp"
#include "actgrad/dtype.hpp"
#include "call.hpp"
#include "dispatch.hpp"

namespace actgrad {
namespace detail {

// Elements per work item: large enough to amortise scheduling, small enough (64 KiB of f32) to
// balance threads and stay in L2 per stream.
constexpr std::int64_t kCpuChunk = 16384;

// OpenMP's default team size (host/api.cpp), so this header needs no <omp.h>.
int omp_default_threads();

// x86-64: each chunk loop is compiled twice, for AVX2+FMA (x86-64-v3) and the baseline, and
// the CPU picks at load time (GCC function multiversioning), so one binary runs everywhere.
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
#else
#define ACTGRAD_IVDEP
#endif

// Applies element op E (compute type C) to elements [begin, end) of storage type S.
// Each element is read before any output of it is written, so exact aliasing (in place) is
// safe; partial overlap is rejected by api.cpp.
template <class S, class C, class E>
ACTGRAD_CPU_CLONES void cpu_chunk(const E& e, const S* const* in, S* const* out,
                                  std::int64_t begin, std::int64_t end) {
  constexpr int kIn = E::kIn, kOut = E::kOut;
  static_assert(kIn <= 3 && kOut <= 3, "element ops have at most three streams each way");
  // Named, loop-invariant stream pointers (not an indexed array), so the vectoriser sees plain
  // strided accesses. Unused ones alias stream 0 and are never touched.
  const S* const i0 = in[0];
  const S* const i1 = in[kIn > 1 ? 1 : 0];
  const S* const i2 = in[kIn > 2 ? 2 : 0];
  S* const o0 = out[0];
  S* const o1 = out[kOut > 1 ? 1 : 0];
  S* const o2 = out[kOut > 2 ? 2 : 0];
  using St = Storage<S>;
  using Out = typename St::compute;
  ACTGRAD_IVDEP
  for (std::int64_t i = begin; i < end; ++i) {
    C a[kIn];
    C r[kOut];
    a[0] = C(St::load(i0[i]));
    if constexpr (kIn > 1) a[1] = C(St::load(i1[i]));
    if constexpr (kIn > 2) a[2] = C(St::load(i2[i]));
    e(a, r);
    o0[i] = St::store(static_cast<Out>(r[0]));
    if constexpr (kOut > 1) o1[i] = St::store(static_cast<Out>(r[1]));
    if constexpr (kOut > 2) o2[i] = St::store(static_cast<Out>(r[2]));
  }
}

// Applies element op E to every index of the call: OpenMP threads over fixed chunks.
template <class S, class C, class E>
void cpu_loop(const E& e, const Call& call) {
  const S* in[3];
  S* out[3];
  for (int k = 0; k < 3; ++k) {
    in[k] = static_cast<const S*>(call.in[k]);
    out[k] = static_cast<S*>(call.out[k]);
  }
  const std::int64_t n = call.n;
  const std::int64_t chunks = (n + kCpuChunk - 1) / kCpuChunk;
  const int threads = call.opt.threads > 0 ? call.opt.threads : omp_default_threads();
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1)
  for (std::int64_t c = 0; c < chunks; ++c)
    cpu_chunk<S, C>(e, in, out, c * kCpuChunk, std::min(n, (c + 1) * kCpuChunk));
}

// Runs call.op for the call's activation on storage type S.
template <class S>
void run_cpu_typed(const Call& call) {
  visit_activation(call.act->id(), [&](auto tag) {
    using Tag = decltype(tag);
    using C = compute_t<S, Tag::template op>;
    using Fn = typename Tag::template op<C>;
    const Fn fn(call.act->params());
    if constexpr (Tag::kind == Kind::unary) {
      switch (call.op) {
      case OpKind::forward: return cpu_loop<S, C>(ElementOp<OpKind::forward, Fn>{{}, fn}, call);
      case OpKind::fused: return cpu_loop<S, C>(ElementOp<OpKind::fused, Fn>{{}, fn}, call);
      case OpKind::backward: return cpu_loop<S, C>(ElementOp<OpKind::backward, Fn>{{}, fn}, call);
      case OpKind::from_output:
      case OpKind::backward_from_output:
        if constexpr (Fn::kFromOutput) {
          if (call.op == OpKind::from_output)
            return cpu_loop<S, C>(ElementOp<OpKind::from_output, Fn>{{}, fn}, call);
          return cpu_loop<S, C>(ElementOp<OpKind::backward_from_output, Fn>{{}, fn}, call);
        }
        break;
      case OpKind::gated_forward:
      case OpKind::gated_fused:
      case OpKind::gated_backward: break;
      }
    } else {
      switch (call.op) {
      case OpKind::gated_forward:
        return cpu_loop<S, C>(ElementOp<OpKind::gated_forward, Fn>{{}, fn}, call);
      case OpKind::gated_fused:
        return cpu_loop<S, C>(ElementOp<OpKind::gated_fused, Fn>{{}, fn}, call);
      case OpKind::gated_backward:
        return cpu_loop<S, C>(ElementOp<OpKind::gated_backward, Fn>{{}, fn}, call);
      case OpKind::forward:
      case OpKind::fused:
      case OpKind::backward:
      case OpKind::from_output:
      case OpKind::backward_from_output: break;
      }
    }
    throw Error("actgrad: internal error: operation does not match the activation kind",
                Error::Kind::runtime);
  });
}

} // namespace detail
} // namespace actgrad
