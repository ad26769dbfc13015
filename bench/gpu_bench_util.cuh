// Shared pieces of the GPU benchmarks: reproducible device-side input fills, the L2 flush and
// event timing of one Google Benchmark iteration loop.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include "actgrad/actgrad.hpp"

namespace actgrad_bench {

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    std::fprintf(stderr, "bench: %s: %s\n", what, cudaGetErrorString(err));
    std::exit(1);
  }
}

// Inputs uniform in [-6, 6): crosses every knee of the piecewise activations at default
// parameters. Activations undefined below 0 (log, sqrt) get |x| + 1/64 instead.
constexpr float kHalfRange = 6.0f;
constexpr float kMinPositive = 1.0f / 64.0f;

// Counter-based uniform in [-1, 1) from an index (splitmix64): the same inputs every run.
__device__ inline float hash_uniform(std::uint64_t i, std::uint32_t salt) {
  std::uint64_t z = i * 0x9E3779B97F4A7C15ull + salt;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return float(z >> 40) * 0x1p-23f - 1.0f;
}

template <class T>
__global__ void fill_kernel(T* p, std::int64_t n, std::uint32_t salt, bool positive, bool ones) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(blockDim.x) * gridDim.x) {
    float v = ones ? 1.0f : hash_uniform(std::uint64_t(i), salt) * kHalfRange;
    if (positive && !ones) v = fabsf(v) + kMinPositive;
    p[i] = actgrad::Storage<T>::store(typename actgrad::Storage<T>::compute(v));
  }
}

// Fills a device buffer: uniform [-6, 6) (|x| + 1/64 when positive), or all ones.
inline void fill(actgrad::Buffer& b, std::uint32_t salt, bool positive, bool ones = false) {
  auto go = [&](auto* p) {
    fill_kernel<<<1024, 256>>>(p, b.size(), salt, positive, ones);
    check(cudaGetLastError(), "fill kernel launch");
  };
  switch (b.dtype()) {
  case actgrad::DType::f32:
    return go(b.as<float>());
  case actgrad::DType::f64:
    return go(b.as<double>());
  case actgrad::DType::f16:
    return go(b.as<actgrad::half_t>());
  case actgrad::DType::bf16:
    return go(b.as<actgrad::bfloat16_t>());
  }
}

// A device buffer of twice the L2 size; overwriting it evicts the previous iteration's data.
inline actgrad::Buffer make_flush_buffer() {
  int l2 = 0;
  check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0), "L2 size");
  return actgrad::Buffer(actgrad::DType::f32, 2 * std::int64_t(l2) / 4 + 1024,
                         actgrad::Device::cuda());
}

// Times `body` (work on the default stream) once per iteration with events after an L2 flush,
// and reports `bytes` per iteration as bytes_per_second. Returns false if body() reported an
// error on the warm-up (body returns true on success).
template <class Body>
bool timed(benchmark::State& state, actgrad::Buffer& flush, double bytes, std::int64_t n,
           Body body) {
  if (!body()) return false; // warm-up: module load, first touch
  check(cudaDeviceSynchronize(), "warm-up");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  for (auto _ : state) {
    check(cudaMemsetAsync(flush.data(), int(state.iterations() & 0xff), std::size_t(flush.bytes())),
          "L2 flush");
    check(cudaEventRecord(start), "cudaEventRecord");
    body();
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    state.SetIterationTime(double(ms) * 1e-3);
  }
  check(cudaGetLastError(), "after the timed loop");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  state.SetBytesProcessed(std::int64_t(bytes) * state.iterations());
  state.counters["elts"] = double(n);
  state.counters["bytes_per_elt"] = bytes / double(n);
  return true;
}

// Parses the shared flags --log2n=<k> and --iterations=<k>, leaving the rest for Google
// Benchmark (in `rest`, argv[0] first).
struct Flags {
  int log2n = 28;
  int iterations = 10;
  std::string dtypes = "f32,f64,f16,bf16";
};
inline std::vector<char*> parse_flags(int argc, char** argv, Flags& f) {
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--log2n=", 0) == 0)
      f.log2n = std::atoi(a.c_str() + 8);
    else if (a.rfind("--iterations=", 0) == 0)
      f.iterations = std::atoi(a.c_str() + 13);
    else if (a.rfind("--dtypes=", 0) == 0)
      f.dtypes = a.substr(9);
    else
      rest.push_back(argv[i]);
  }
  return rest;
}

// The dtypes named in a comma list, in catalogue order; exits with 2 on an unknown name.
inline std::vector<actgrad::DType> dtypes_of(const std::string& list) {
  std::vector<actgrad::DType> out;
  for (actgrad::DType dt :
       {actgrad::DType::f32, actgrad::DType::f64, actgrad::DType::f16, actgrad::DType::bf16})
    if (("," + list + ",").find(std::string(",") + actgrad::dtype_name(dt) + ",") !=
        std::string::npos)
      out.push_back(dt);
  if (out.empty()) {
    std::fprintf(stderr, "bench: --dtypes=%s names none of f32, f64, f16, bf16\n", list.c_str());
    std::exit(2);
  }
  return out;
}

// False, after one line on stderr naming `program`, when no CUDA device is usable.
inline bool cuda_usable(const char* program) {
  if (actgrad::Device::cuda_available()) return true;
  std::fprintf(stderr, "%s: no usable CUDA device: %s\n", program,
               actgrad::Device::automatic_reason().c_str());
  return false;
}

// Runs the registered benchmarks with the Google Benchmark flags in `rest` (from parse_flags).
// Returns main's status: 0, or 2 on a flag Google Benchmark does not know.
inline int run_benchmarks(std::vector<char*>& rest) {
  int rargc = int(rest.size());
  benchmark::Initialize(&rargc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rargc, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

} // namespace actgrad_bench
