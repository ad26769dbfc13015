// Devices and non-owning tensor views (pointer, int64 count, dtype, device).
#pragma once

#include <cstdint>
#include <string>

#include "actgrad/dtype.hpp"

namespace actgrad {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return {DeviceKind::cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceKind::cuda, index}; }
  // CUDA device 0 when one is usable, else the CPU; reason() says why.
  static Device automatic();
  // Why automatic() chose what it chose, e.g. "no CUDA device: built without CUDA support".
  static std::string automatic_reason();
  // Whether a CUDA device is usable in this process (built with CUDA, driver and device present).
  static bool cuda_available();
  // "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)".
  std::string describe() const;
  // Waits for the work enqueued on `stream` (a cudaStream_t; nullptr: the whole device) to
  // finish, throwing actgrad::Error if it failed. A no-op on the CPU, whose calls return done.
  void synchronize(void* stream = nullptr) const;
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// Read-only view of n elements of one dtype on one device.
struct ConstTensorView {
  const void* data = nullptr;
  std::int64_t n = 0;
  DType dtype = DType::f32;
  Device device = Device::cpu();
};

// Writable view.
struct TensorView {
  void* data = nullptr;
  std::int64_t n = 0;
  DType dtype = DType::f32;
  Device device = Device::cpu();
  operator ConstTensorView() const { return {data, n, dtype, device}; }
};

// Typed helpers for host memory.
inline TensorView view(float* p, std::int64_t n) { return {p, n, DType::f32, Device::cpu()}; }
inline TensorView view(double* p, std::int64_t n) { return {p, n, DType::f64, Device::cpu()}; }
inline TensorView view(half_t* p, std::int64_t n) { return {p, n, DType::f16, Device::cpu()}; }
inline TensorView view(bfloat16_t* p, std::int64_t n) { return {p, n, DType::bf16, Device::cpu()}; }
inline ConstTensorView view(const float* p, std::int64_t n) {
  return {p, n, DType::f32, Device::cpu()};
}
inline ConstTensorView view(const double* p, std::int64_t n) {
  return {p, n, DType::f64, Device::cpu()};
}
inline ConstTensorView view(const half_t* p, std::int64_t n) {
  return {p, n, DType::f16, Device::cpu()};
}
inline ConstTensorView view(const bfloat16_t* p, std::int64_t n) {
  return {p, n, DType::bf16, Device::cpu()};
}

} // namespace actgrad
