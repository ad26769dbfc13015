// The one CUDA elementwise kernel: every activation and op runs through elementwise_kernel.
//
//   // in kernels/run_cuda_f16.cu, the whole catalogue for f16 storage:
//   template void run_cuda_typed<half_t>(const Call&, const LaunchConfig&);
//
// The loop itself (vector/scalar plan, head and tail, grid stride) is elementwise_body in
// elementwise_body.hpp, shared with the host tests; this file adds only the launch.
#pragma once

#include <string>

#include <cuda_runtime.h>

#include "actgrad/error.hpp"
#include "elementwise_body.hpp"

namespace actgrad {
namespace detail {

// Resident blocks per SM the compiler must allow for: at 4 x 256 threads that leaves up to 64
// registers a thread (65536 per SM / 1024), enough for the f64 functors without spilling while
// keeping half of an SM's 2048 threads in flight, plenty for 16-byte streaming loads.
constexpr int kMinBlocksPerSm = 4;

template <class S, class C, class E>
__global__ void __launch_bounds__(kBlockThreads, kMinBlocksPerSm)
    elementwise_kernel(const E e, const EwArgs<S> a) {
  elementwise_body<S, C>(blockIdx.x, threadIdx.x, blockDim.x, gridDim.x, e, a);
}

// Launches op e over the call on cfg.stream and checks the launch.
template <class S, class C, class E>
void launch_elementwise(const E& e, const Call& call, const LaunchConfig& cfg) {
  const EwArgs<S> a = make_ew_args<S>(e, call);
  const std::int64_t blocks = grid_blocks(a, cfg);
  elementwise_kernel<S, C, E>
      <<<unsigned(blocks), kBlockThreads, 0, static_cast<cudaStream_t>(cfg.stream)>>>(e, a);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw Error(std::string("actgrad: ") + call.fn +
                    " on cuda:" + std::to_string(call.device.index) + " (" + call.act->to_string() +
                    ", " + dtype_name(call.dtype) + ", n=" + std::to_string(call.n) +
                    "): kernel launch failed: " + cudaGetErrorString(err),
                Error::Kind::runtime);
}

template <class S>
void run_cuda_typed(const Call& call, const LaunchConfig& cfg) {
  visit_element_op<S>(call, [&](const auto& e, auto c) {
    using C = typename decltype(c)::type;
    launch_elementwise<S, C>(e, call, cfg);
  });
}

} // namespace detail
} // namespace actgrad
