// Internal description of one elementwise call, validated by api.cpp and run by a device backend.
#pragma once

#include <cstdint>

#include "actgrad/api.hpp"
#include "actgrad/detail/element_ops.hpp"

namespace actgrad {
namespace detail {

struct Call {
  OpKind op;
  const char* fn = ""; // public function name, for messages
  const Activation* act;
  const void* in[3] = {nullptr, nullptr, nullptr};
  void* out[3] = {nullptr, nullptr, nullptr};
  const char* in_names[3] = {"", "", ""}; // argument names, as the public function calls them
  const char* out_names[3] = {"", "", ""};
  std::int64_t n = 0;
  DType dtype = DType::f32;
  Device device;
  ExecOptions opt;
};

// CPU backend: one build per instruction set, picked at the first call (host/cpu/cpu_isa.hpp).
void run_cpu(const Call& call);
// CUDA backend (kernels/); throws Error(unavailable) in builds without CUDA.
void run_cuda(const Call& call);

} // namespace detail
} // namespace actgrad
