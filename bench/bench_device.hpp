// Benchmark helper shared by the decay-model benchmarks: argument 0 picks the device (0 = cpu,
// 1 = cuda), and a CUDA row without a usable GPU is skipped with the reason.
#pragma once

#include <benchmark/benchmark.h>

#include "actgrad/tensor.hpp"

namespace actgrad_bench {

inline actgrad::Device device_of(const benchmark::State& state) {
  return state.range(0) == 1 ? actgrad::Device::cuda() : actgrad::Device::cpu();
}

// False (and the row skipped) for a CUDA row without a usable CUDA device.
inline bool usable(benchmark::State& state) {
  if (state.range(0) == 1 && !actgrad::Device::cuda_available()) {
    state.SkipWithError("no usable CUDA device");
    return false;
  }
  return true;
}

} // namespace actgrad_bench
