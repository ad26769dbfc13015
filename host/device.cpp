// Device detection: whether CUDA is usable, automatic selection with its reason, descriptions,
// synchronisation.
#include <string>

#include "actgrad/error.hpp"
#include "actgrad/tensor.hpp"

#if ACTGRAD_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace actgrad {
namespace {

struct Probe {
  bool usable = false;
  std::string reason;
  std::string name;
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
#if ACTGRAD_WITH_CUDA
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      r.reason = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
      cudaGetLastError(); // clear the sticky error so later calls start clean
    } else if (count == 0) {
      r.reason = "no usable CUDA device: the driver reports none";
    } else {
      cudaDeviceProp prop{};
      cudaGetDeviceProperties(&prop, 0);
      r.usable = true;
      r.name = prop.name;
      r.reason = std::string("CUDA device 0 is usable (") + prop.name + ")";
    }
#else
    r.reason = "no usable CUDA device: actgrad was built without CUDA support";
#endif
    return r;
  }();
  return p;
}

} // namespace

bool Device::cuda_available() { return probe().usable; }
Device Device::automatic() { return probe().usable ? cuda(0) : cpu(); }
std::string Device::automatic_reason() {
  return probe().usable ? "auto chose cuda:0: " + probe().reason
                        : "auto chose the CPU: " + probe().reason;
}

std::string Device::describe() const {
  if (kind == DeviceKind::cpu) return "cpu";
  std::string s = "cuda:" + std::to_string(index);
#if ACTGRAD_WITH_CUDA
  if (probe().usable) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, index) == cudaSuccess)
      s += std::string(" (") + prop.name + ")";
  }
#endif
  return s;
}

void Device::synchronize(void* stream) const {
  if (kind == DeviceKind::cpu) return;
#if ACTGRAD_WITH_CUDA
  if (!probe().usable)
    throw Error("Device::synchronize on " + describe() + ": " + probe().reason,
                Error::Kind::unavailable);
  int previous = 0;
  cudaGetDevice(&previous);
  if (previous != index) cudaSetDevice(index);
  const cudaError_t err =
      stream ? cudaStreamSynchronize(static_cast<cudaStream_t>(stream)) : cudaDeviceSynchronize();
  if (previous != index) cudaSetDevice(previous);
  if (err != cudaSuccess)
    throw Error("Device::synchronize on " + describe() + ": " + cudaGetErrorString(err),
                Error::Kind::runtime);
#else
  (void)stream;
  throw Error("Device::synchronize: device cuda: actgrad was built without CUDA support",
              Error::Kind::unavailable);
#endif
}

} // namespace actgrad
