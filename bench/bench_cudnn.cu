// GPU peer benchmark: cuDNN activation forward + backward (the legacy cudnnActivation* API) for
// the functions cuDNN has, timed like bench_cuda (events, L2 flushed before each iteration).
//
// A separate binary so that bench_cuda runs where cuDNN's libraries are missing. Names are
// fused/<dtype>/<activation>/cudnn: y = f(x) (cudnnActivationForward) then
// dx = g * f'(x) (cudnnActivationBackward, which reads y, g and x), with g = 1 so dx = f'(x):
// the same results as the library's forward_with_derivative, whose 3 streams the bytes counter
// counts, so GB/s compares with bench_cuda's fused/<dtype>/<activation>/actgrad line.
//
// Flags: --log2n=<k> (default 28), --iterations=<k> (default 10), --dtypes=f32,..., then
// Google Benchmark's own.
#include <cstdint>
#include <memory>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "actgrad/actgrad.hpp"
#include "gpu_bench_util.cuh"

namespace {

using actgrad::Activation;
using actgrad::Buffer;
using actgrad::Device;
using actgrad::DType;

using actgrad_bench::check;

actgrad_bench::Flags g_opt;

// cuDNN's activation modes as (catalogue name, mode, coef): this is the peer's list, checked
// against the catalogue at startup (a name the catalogue lacks is an error).
struct CudnnAct {
  const char* name;
  cudnnActivationMode_t mode;
  double coef;
};
const CudnnAct kCudnnActs[] = {
    {"relu", CUDNN_ACTIVATION_RELU, 0.0},          {"sigmoid", CUDNN_ACTIVATION_SIGMOID, 0.0},
    {"tanh", CUDNN_ACTIVATION_TANH, 0.0},          {"elu", CUDNN_ACTIVATION_ELU, 1.0},
    {"relu6", CUDNN_ACTIVATION_CLIPPED_RELU, 6.0}, {"silu", CUDNN_ACTIVATION_SWISH, 1.0},
};

cudnnDataType_t cudnn_type(DType dt) {
  switch (dt) {
  case DType::f32:
    return CUDNN_DATA_FLOAT;
  case DType::f64:
    return CUDNN_DATA_DOUBLE;
  case DType::f16:
    return CUDNN_DATA_HALF;
  case DType::bf16:
    return CUDNN_DATA_BFLOAT16;
  }
  return CUDNN_DATA_FLOAT;
}

cudnnHandle_t g_handle = nullptr;
Buffer g_flush;

// Buffers of the dtype being benchmarked (one dtype resident at a time).
struct Arena {
  DType dtype{};
  std::int64_t n = 0;
  Buffer x, y, g, dx;
};
std::unique_ptr<Arena> g_arena;

Arena& arena(DType dt) {
  if (!g_arena || g_arena->dtype != dt) {
    g_arena.reset();
    auto a = std::make_unique<Arena>();
    a->dtype = dt;
    a->n = std::int64_t{1} << g_opt.log2n;
    const Device d = Device::cuda();
    a->x = Buffer(dt, a->n, d);
    a->y = Buffer(dt, a->n, d);
    a->g = Buffer(dt, a->n, d);
    a->dx = Buffer(dt, a->n, d);
    actgrad_bench::fill(a->x, 1, false);
    actgrad_bench::fill(a->g, 0, false, true);
    check(cudaDeviceSynchronize(), "filling inputs");
    g_arena = std::move(a);
  }
  return *g_arena;
}

void run_one(benchmark::State& state, const CudnnAct& ca, DType dt) {
  Arena& a = arena(dt);
  const std::int64_t n = a.n;
  Buffer &x = a.x, &y = a.y, &g = a.g, &dx = a.dx;
  cudnnTensorDescriptor_t desc;
  cudnnActivationDescriptor_t act;
  cudnnCreateTensorDescriptor(&desc);
  cudnnCreateActivationDescriptor(&act);
  const int side = 1 << (g_opt.log2n / 2);
  const int rest = int(n / side);
  cudnnStatus_t st =
      cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, cudnn_type(dt), 1, 1, rest, side);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnSetActivationDescriptor(act, ca.mode, CUDNN_NOT_PROPAGATE_NAN, ca.coef);
  const float one_f = 1, zero_f = 0;
  const double one_d = 1, zero_d = 0;
  const void* one = dt == DType::f64 ? static_cast<const void*>(&one_d) : &one_f;
  const void* zero = dt == DType::f64 ? static_cast<const void*>(&zero_d) : &zero_f;
  auto body = [&] {
    cudnnStatus_t s =
        cudnnActivationForward(g_handle, act, one, desc, x.data(), zero, desc, y.data());
    if (s == CUDNN_STATUS_SUCCESS)
      s = cudnnActivationBackward(g_handle, act, one, desc, y.data(), desc, g.data(), desc,
                                  x.data(), zero, desc, dx.data());
    return s;
  };
  if (st != CUDNN_STATUS_SUCCESS) {
    state.SkipWithError((std::string("cuDNN: ") + cudnnGetErrorString(st)).c_str());
  } else {
    const double bytes = 3.0 * double(actgrad::dtype_size(dt)) * double(n);
    const bool ok = actgrad_bench::timed(state, g_flush, bytes, n, [&] {
      st = body();
      return st == CUDNN_STATUS_SUCCESS;
    });
    if (!ok) state.SkipWithError((std::string("cuDNN: ") + cudnnGetErrorString(st)).c_str());
  }
  cudnnDestroyActivationDescriptor(act);
  cudnnDestroyTensorDescriptor(desc);
}

} // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest = actgrad_bench::parse_flags(argc, argv, g_opt);
  if (!actgrad_bench::cuda_usable("bench_cudnn")) return 1;
  const cudnnStatus_t st = cudnnCreate(&g_handle);
  if (st != CUDNN_STATUS_SUCCESS) {
    std::fprintf(stderr, "bench_cudnn: cudnnCreate: %s\n", cudnnGetErrorString(st));
    return 1;
  }
  g_flush = actgrad_bench::make_flush_buffer();
  benchmark::AddCustomContext("cudnn_version", std::to_string(cudnnGetVersion()));
  for (DType dt : actgrad_bench::dtypes_of(g_opt.dtypes)) {
    for (const CudnnAct& ca : kCudnnActs) {
      Activation::parse(ca.name); // throws if the catalogue lost the name
      const std::string name =
          std::string("fused/") + actgrad::dtype_name(dt) + "/" + ca.name + "/cudnn";
      benchmark::RegisterBenchmark(name.c_str(),
                                   [&ca, dt](benchmark::State& s) { run_one(s, ca, dt); })
          ->UseManualTime()
          ->Iterations(g_opt.iterations)
          ->Unit(benchmark::kMillisecond);
    }
  }
  if (const int rc = actgrad_bench::run_benchmarks(rest)) return rc;
  g_arena.reset();
  g_flush = Buffer();
  cudnnDestroy(g_handle);
  return 0;
}
