// CUDA backend entry: checks the device and the views' pointers, caches device attributes, then
// dispatches on dtype to the per-dtype kernel instantiations (run_cuda_*.cu).
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "actgrad/detail/call.hpp"
#include "actgrad/error.hpp"
#include "cuda_check.hpp"
#include "elementwise_body.hpp"

namespace actgrad {
namespace detail {
namespace {

std::string where(const Call& call) {
  return std::string("actgrad::") + call.fn + " on cuda:" + std::to_string(call.device.index);
}

// SM count and threads per SM, queried once per device (attribute queries cost microseconds).
LaunchConfig device_config(const Call& call) {
  static std::mutex mutex;
  static std::vector<LaunchConfig> cache; // by device index; sm_count 0 = not yet queried
  const int index = call.device.index;
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() <= std::size_t(index)) cache.resize(std::size_t(index) + 1, LaunchConfig{});
  LaunchConfig& c = cache[std::size_t(index)];
  if (c.max_threads_per_sm == 0) {
    cudaError_t err = cudaDeviceGetAttribute(&c.sm_count, cudaDevAttrMultiProcessorCount, index);
    if (err == cudaSuccess)
      err = cudaDeviceGetAttribute(&c.max_threads_per_sm, cudaDevAttrMaxThreadsPerMultiProcessor,
                                   index);
    if (err != cudaSuccess) {
      c = LaunchConfig{};
      cuda_fail(where(call), "cannot query the device's attributes", err);
    }
  }
  return c;
}

// Every view of a CUDA call must be device (or managed) memory of that device, aligned to its
// element size; a host pointer would fault inside the kernel, so it is named here instead.
void check_pointer(const Call& call, const char* name, const void* p) {
  const std::size_t elem = std::size_t(dtype_size(call.dtype));
  if (reinterpret_cast<std::uintptr_t>(p) % elem != 0)
    throw Error(where(call) + ": argument '" + name + "' is not aligned to its " +
                std::to_string(elem) + "-byte " + dtype_name(call.dtype) + " elements");
  cudaPointerAttributes attr{};
  const cudaError_t err = cudaPointerGetAttributes(&attr, p);
  if (err != cudaSuccess) cuda_fail(where(call), "cannot inspect a view's pointer", err);
  if (attr.type == cudaMemoryTypeManaged) return;
  if (attr.type != cudaMemoryTypeDevice)
    throw Error(where(call) + ": argument '" + name + "' is " +
                (attr.type == cudaMemoryTypeHost ? "pinned host memory" : "host memory") +
                ", not device memory; copy it to a cuda Buffer or use a cpu view");
  if (attr.device != call.device.index)
    throw Error(where(call) + ": argument '" + name +
                "' is memory of cuda:" + std::to_string(attr.device) +
                ", not of the call's device cuda:" + std::to_string(call.device.index));
}

} // namespace

void run_cuda(const Call& call) {
  if (!Device::cuda_available())
    throw Error(where(call) + ": CUDA is not usable in this process (" +
                    Device::automatic_reason() + "); use cpu views",
                Error::Kind::unavailable);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) cuda_fail(where(call), "cannot count CUDA devices", err);
  if (call.device.index < 0 || call.device.index >= count)
    throw Error(where(call) + ": no such device; " + std::to_string(count) +
                " CUDA device(s), cuda:0 to cuda:" + std::to_string(count - 1));
  for (int k = 0; k < kMaxStreams; ++k) {
    if (call.in[k]) check_pointer(call, call.in_names[k], call.in[k]);
    if (call.out[k]) check_pointer(call, call.out_names[k], call.out[k]);
  }
  const CudaDeviceScope scope(call.device.index, [&] { return where(call); });
  LaunchConfig cfg = device_config(call);
  cfg.stream = call.opt.stream;
  switch (call.dtype) {
  case DType::f32:
    return run_cuda_typed<float>(call, cfg);
  case DType::f64:
    return run_cuda_typed<double>(call, cfg);
  case DType::f16:
    return run_cuda_typed<half_t>(call, cfg);
  case DType::bf16:
    return run_cuda_typed<bfloat16_t>(call, cfg);
  }
}

} // namespace detail
} // namespace actgrad
