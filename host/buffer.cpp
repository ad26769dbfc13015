// Buffer allocation and release for host, pinned and device memory, and copies between them.
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <utility>

#include "actgrad/buffer.hpp"
#include "actgrad/detail/view_check.hpp"
#include "actgrad/error.hpp"

#if ACTGRAD_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace actgrad {
namespace {

// Host allocations are aligned for full-width SIMD and cache lines.
constexpr std::size_t kHostAlign = 64;

std::string bytes_text(std::int64_t b) { return std::to_string(b) + " bytes"; }

#if ACTGRAD_WITH_CUDA
void require_cuda(const char* what) {
  if (!Device::cuda_available())
    throw Error(std::string(what) + ": " + Device::automatic_reason(), Error::Kind::unavailable);
}

// Names the size asked for and what is free; nothing was allocated, so nothing leaks.
[[noreturn]] void allocation_failed(cudaError_t err, std::int64_t b, Device device) {
  cudaGetLastError();
  std::size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  cudaGetLastError();
  throw Error("Buffer: cannot allocate " + bytes_text(b) + " on " + device.describe() + " (" +
                  cudaGetErrorString(err) + "; " + bytes_text(std::int64_t(free_b)) + " free of " +
                  bytes_text(std::int64_t(total_b)) + ")",
              Error::Kind::runtime);
}
#endif

} // namespace

Buffer Buffer::device_async(DType dtype, std::int64_t n, void* stream, int device_index) {
  if (n < 0) throw Error("Buffer::device_async: size must be >= 0; got " + std::to_string(n));
  if (n > detail::kMaxViewElements)
    throw Error("Buffer::device_async: size " + std::to_string(n) + " is too large to address");
  Buffer buf;
  buf.n_ = n;
  buf.dtype_ = dtype;
  buf.device_ = Device::cuda(device_index);
  buf.async_ = true;
  buf.stream_ = stream;
#if ACTGRAD_WITH_CUDA
  require_cuda("Buffer::device_async");
  const std::int64_t b = buf.bytes();
  if (b == 0) return buf;
  cudaSetDevice(device_index);
  const cudaError_t err =
      cudaMallocAsync(&buf.data_, static_cast<std::size_t>(b), static_cast<cudaStream_t>(stream));
  if (err != cudaSuccess) {
    buf.data_ = nullptr;
    allocation_failed(err, b, buf.device_);
  }
  return buf;
#else
  throw Error("Buffer::device_async: device memory needs CUDA; actgrad was built without CUDA "
              "support",
              Error::Kind::unavailable);
#endif
}

Buffer::Buffer(DType dtype, std::int64_t n, Device device, bool pinned)
    : n_(n), dtype_(dtype), device_(device), pinned_(pinned) {
  if (n < 0) throw Error("Buffer: size must be >= 0; got " + std::to_string(n));
  if (n > detail::kMaxViewElements)
    throw Error("Buffer: size " + std::to_string(n) + " is too large to address");
  const std::int64_t b = bytes();
  if (b == 0) return;
  if (device.kind == DeviceKind::cuda || pinned) {
#if ACTGRAD_WITH_CUDA
    require_cuda("Buffer");
    cudaError_t err;
    if (device.kind == DeviceKind::cuda) {
      cudaSetDevice(device.index);
      err = cudaMalloc(&data_, static_cast<std::size_t>(b));
    } else {
      err = cudaMallocHost(&data_, static_cast<std::size_t>(b));
    }
    if (err != cudaSuccess) {
      data_ = nullptr;
      allocation_failed(err, b, device);
    }
    return;
#else
    throw Error(std::string("Buffer: ") + (pinned ? "pinned memory" : "device memory") +
                    " needs CUDA; actgrad was built without CUDA support",
                Error::Kind::unavailable);
#endif
  }
  const std::size_t rounded =
      (static_cast<std::size_t>(b) + kHostAlign - 1) / kHostAlign * kHostAlign;
  data_ = std::aligned_alloc(kHostAlign, rounded);
  if (!data_)
    throw Error("Buffer: cannot allocate " + bytes_text(b) + " of host memory",
                Error::Kind::runtime);
}

void Buffer::release() noexcept {
  if (!data_) return;
#if ACTGRAD_WITH_CUDA
  if (async_) {
    cudaFreeAsync(data_, static_cast<cudaStream_t>(stream_));
  } else if (device_.kind == DeviceKind::cuda) {
    cudaFree(data_);
  } else if (pinned_) {
    cudaFreeHost(data_);
  } else {
    std::free(data_);
  }
#else
  std::free(data_);
#endif
  data_ = nullptr;
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), n_(std::exchange(o.n_, 0)), dtype_(o.dtype_),
      device_(o.device_), pinned_(o.pinned_), async_(o.async_), stream_(o.stream_) {}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    n_ = std::exchange(o.n_, 0);
    dtype_ = o.dtype_;
    device_ = o.device_;
    pinned_ = o.pinned_;
    async_ = o.async_;
    stream_ = o.stream_;
  }
  return *this;
}

namespace {

// Checks a copy's views; returns the byte count (0: nothing to do).
std::size_t copy_bytes(const char* fn, ConstTensorView src, TensorView dst) {
  const std::string f(fn);
  if (src.n != dst.n)
    throw Error(f + ": 'dst' has " + std::to_string(dst.n) + " elements but 'src' has " +
                std::to_string(src.n) + "; sizes must match");
  if (src.dtype != dst.dtype)
    throw Error(f + ": 'dst' is " + dtype_name(dst.dtype) + " but 'src' is " +
                dtype_name(src.dtype) + "; dtypes must match");
  if (src.n < 0) throw Error(f + ": size must be >= 0");
  if (src.n > detail::kMaxViewElements)
    throw Error(f + ": size " + std::to_string(src.n) + " is too large to address (at most " +
                std::to_string(detail::kMaxViewElements) + " elements)");
  const std::size_t b = static_cast<std::size_t>(src.n) * dtype_size(src.dtype);
  if (b > 0 && (!src.data || !dst.data)) throw Error(f + ": null data with n > 0");
  return b;
}

} // namespace

void copy(ConstTensorView src, TensorView dst) {
  const std::size_t b = copy_bytes("copy", src, dst);
  if (b == 0) return;
  if (src.device.kind == DeviceKind::cpu && dst.device.kind == DeviceKind::cpu) {
    std::memmove(dst.data, src.data, b);
    return;
  }
#if ACTGRAD_WITH_CUDA
  require_cuda("copy");
  const cudaError_t err = cudaMemcpy(dst.data, src.data, b, cudaMemcpyDefault);
  if (err != cudaSuccess)
    throw Error(std::string("copy: cudaMemcpy failed: ") + cudaGetErrorString(err),
                Error::Kind::runtime);
#else
  throw Error("copy: device memory needs CUDA; actgrad was built without CUDA support",
              Error::Kind::unavailable);
#endif
}

void copy_async(ConstTensorView src, TensorView dst, void* stream) {
  const std::size_t b = copy_bytes("copy_async", src, dst);
  if (b == 0) return;
#if ACTGRAD_WITH_CUDA
  if (src.device.kind == DeviceKind::cpu && dst.device.kind == DeviceKind::cpu &&
      !Device::cuda_available()) {
    std::memmove(dst.data, src.data, b);
    return;
  }
  require_cuda("copy_async");
  const cudaError_t err =
      cudaMemcpyAsync(dst.data, src.data, b, cudaMemcpyDefault, static_cast<cudaStream_t>(stream));
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw Error(std::string("copy_async: cudaMemcpyAsync failed: ") + cudaGetErrorString(err),
                Error::Kind::runtime);
  }
#else
  (void)stream;
  if (src.device.kind == DeviceKind::cpu && dst.device.kind == DeviceKind::cpu) {
    std::memmove(dst.data, src.data, b);
    return;
  }
  throw Error("copy_async: device memory needs CUDA; actgrad was built without CUDA support",
              Error::Kind::unavailable);
#endif
}

} // namespace actgrad
