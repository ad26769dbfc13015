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

// Applies element op E (compute type C) to storage type S for every index of the call.
// Each element is read before any output of it is written, so exact aliasing (in place) is safe;
// partial overlap is rejected by api.cpp.
template <class S, class C, class E>
void cpu_loop(const E& e, const Call& call) {
  constexpr int kIn = E::kIn, kOut = E::kOut;
  const S* in[3];
  S* out[3];
  for (int k = 0; k < 3; ++k) {
    in[k] = static_cast<const S*>(call.in[k]);
    out[k] = static_cast<S*>(call.out[k]);
  }
  const std::int64_t n = call.n;
  const std::int64_t chunks = (n + kCpuChunk - 1) / kCpuChunk;
  const int threads = call.opt.threads;
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : omp_default_threads()) if (chunks > 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * kCpuChunk;
    const std::int64_t end = std::min(n, begin + kCpuChunk);
#pragma omp simd
    for (std::int64_t i = begin; i < end; ++i) {
      C a[kIn];
      C r[kOut];
      for (int k = 0; k < kIn; ++k) a[k] = C(Storage<S>::load(in[k][i]));
      e(a, r);
      for (int k = 0; k < kOut; ++k) out[k][i] = Storage<S>::store(static_cast<typename Storage<S>::compute>(r[k]));
    }
  }
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
