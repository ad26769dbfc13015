// Internal: CUDA runtime error reporting and a current-device scope, shared by the host side of
// the CUDA backend (run_cuda.cpp, stats.cu, decay_dense.cu).
#pragma once

#include <string>

#include <cuda_runtime.h>

#include "actgrad/error.hpp"

namespace actgrad::detail {

// Throws Error(runtime) "<where>: <what>: <CUDA's message>", after clearing CUDA's last error so
// the caller's next CUDA call starts clean.
[[noreturn]] inline void cuda_fail(const std::string& where, const char* what, cudaError_t err) {
  cudaGetLastError();
  throw Error(where + ": " + what + ": " + cudaGetErrorString(err), Error::Kind::runtime);
}

// Makes device `index` current for the scope and restores the caller's device afterwards.
// `where()`, called only on failure, names the operation in the error text (see cuda_fail).
class CudaDeviceScope {
public:
  template <class Where>
  CudaDeviceScope(int index, const Where& where) {
    cudaError_t err = cudaGetDevice(&previous_);
    if (err != cudaSuccess) cuda_fail(where(), "cudaGetDevice failed", err);
    if (previous_ != index) {
      err = cudaSetDevice(index);
      if (err != cudaSuccess) cuda_fail(where(), "cannot make the device current", err);
      changed_ = true;
    }
  }
  ~CudaDeviceScope() {
    if (changed_) cudaSetDevice(previous_);
  }
  CudaDeviceScope(const CudaDeviceScope&) = delete;
  CudaDeviceScope& operator=(const CudaDeviceScope&) = delete;

private:
  int previous_ = 0;
  bool changed_ = false;
};

} // namespace actgrad::detail
