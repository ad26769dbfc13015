// Buffer: RAII ownership of host, pinned-host or CUDA device memory, with copies between them.
#pragma once

#include <cstdint>

#include "actgrad/tensor.hpp"

namespace actgrad {

class Buffer {
public:
  Buffer() = default;
  // n elements of dtype on device. pinned = page-locked host memory (CPU device, CUDA builds).
  // Throws actgrad::Error naming the size asked for when the allocation fails.
  Buffer(DType dtype, std::int64_t n, Device device = Device::cpu(), bool pinned = false);
  // Stream-ordered device memory (cudaMallocAsync): usable by work enqueued on `stream` after
  // this call, and freed on `stream` (cudaFreeAsync) when the Buffer is destroyed, so the stream
  // must outlive the Buffer. Throws like the constructor; throws for a cpu device.
  static Buffer device_async(DType dtype, std::int64_t n, void* stream, int device_index = 0);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T>
  T* as() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data_);
  }
  std::int64_t size() const { return n_; }
  std::int64_t bytes() const { return n_ * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }
  // The stream a stream-ordered buffer is freed on; nullptr for the others.
  void* stream() const { return stream_; }
  TensorView view() { return {data_, n_, dtype_, device_}; }
  ConstTensorView view() const { return {data_, n_, dtype_, device_}; }

private:
  void release() noexcept;
  void* data_ = nullptr;
  std::int64_t n_ = 0;
  DType dtype_ = DType::f32;
  Device device_ = Device::cpu();
  bool pinned_ = false;
  bool async_ = false;
  void* stream_ = nullptr;
};

// Copies src into dst (same n and dtype; any pair of devices). Synchronous.
void copy(ConstTensorView src, TensorView dst);
// The same, enqueued on a CUDA stream (cudaMemcpyAsync): asynchronous for device memory and
// pinned host memory, as CUDA defines. Needs a CUDA build when either side is on a cuda device.
void copy_async(ConstTensorView src, TensorView dst, void* stream);

} // namespace actgrad
