// GPU benchmark: fused value+derivative and backward for every catalogue entry and dtype, each
// beside a same-run device-to-device copy and the same results from two separate kernels
// (SPEC §7, issue 3). cuDNN and PyTorch peers are bench_cudnn and bench/torch_peers.py.
//
// Benchmarks are registered at startup from actgrad::catalogue(). Names are
// <op>/<dtype>/<activation>/<variant> with
//   op       fused     forward_with_derivative (gated: gated_forward_with_derivative)
//            backward  backward (gated: gated_backward)
//            stats     saturation_stats (one read of x; unary activations)
//   variant  actgrad   the library's one kernel
//            unfused   the same results from two library kernels: forward, then backward with
//                      grad_out = 1 (what a framework's forward + autograd runs); fused op only
// plus copy/<dtype> (cudaMemcpyAsync device to device of n elements).
//
// Every timed iteration first overwrites a buffer of twice the L2 size (outside the timed
// region), then times the op alone with CUDA events (manual time). Bytes count the streams the
// op must move: fused f32 reads x and writes y and dydx, 3 x 4 = 12 bytes per element; copy
// counts read + write. Counters: bytes_per_second (rate), elts, bytes_per_elt.
//
// Flags (before Google Benchmark's own): --log2n=<k> (default 28), --dtypes=f32,f16,...,
// --iterations=<k> (default 10). Select subsets with --benchmark_filter.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include "actgrad/actgrad.hpp"
#include "gpu_bench_util.cuh"

namespace {

using actgrad::Activation;
using actgrad::Buffer;
using actgrad::ConstTensorView;
using actgrad::Device;
using actgrad::DType;
using actgrad::TensorView;

using actgrad_bench::check;
using actgrad_bench::fill;

actgrad_bench::Flags g_opt;
actgrad::Buffer g_flush;

// Buffers of one dtype: inputs a (signed and positive variants), b, grad_out g, ones, and three
// outputs. Only one dtype is resident at a time so f64 at 2^28 fits any 80 GB card.
struct Arena {
  DType dtype{};
  std::int64_t n = 0;
  Buffer x, x_pos, b, g, ones, o0, o1, o2;
};
std::unique_ptr<Arena> g_arena;
Arena& arena(DType dt) {
  const std::int64_t n = std::int64_t{1} << g_opt.log2n;
  if (!g_arena || g_arena->dtype != dt) {
    g_arena.reset(); // free the previous dtype first
    auto a = std::make_unique<Arena>();
    a->dtype = dt;
    a->n = n;
    const Device d = Device::cuda();
    a->x = Buffer(dt, n, d);
    a->x_pos = Buffer(dt, n, d);
    a->b = Buffer(dt, n, d);
    a->g = Buffer(dt, n, d);
    a->ones = Buffer(dt, n, d);
    a->o0 = Buffer(dt, n, d);
    a->o1 = Buffer(dt, n, d);
    a->o2 = Buffer(dt, n, d);
    fill(a->x, 1, false);
    fill(a->x_pos, 1, true);
    fill(a->b, 2, false);
    fill(a->g, 3, false);
    fill(a->ones, 0, false, true);
    fill(a->o0, 4, false);
    fill(a->o1, 5, false);
    fill(a->o2, 6, false);
    check(cudaDeviceSynchronize(), "filling inputs");
    g_arena = std::move(a);
  }
  return *g_arena;
}

// Whether f is NaN for some finite inputs of [-6, 6) (log, sqrt): checked on the CPU path.
bool needs_positive(const Activation& act) {
  if (act.is_gated()) return false;
  std::vector<float> x(1024), y(1024);
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = -actgrad_bench::kHalfRange + 12.0f * float(i) / 1024.0f;
  actgrad::forward(act, actgrad::view(x.data(), 1024), actgrad::view(y.data(), 1024));
  for (float v : y)
    if (std::isnan(v)) return true;
  return false;
}

void register_copy(DType dt) {
  const std::string name = std::string("copy/") + actgrad::dtype_name(dt);
  benchmark::RegisterBenchmark(
      name.c_str(),
      [dt](benchmark::State& state) {
        Arena& a = arena(dt);
        const std::size_t bytes = std::size_t(a.x.bytes());
        actgrad_bench::timed(state, g_flush, 2.0 * double(bytes), a.n, [&] {
          check(cudaMemcpyAsync(a.o0.data(), a.x.data(), bytes, cudaMemcpyDeviceToDevice), "copy");
          return true;
        });
      })
      ->UseManualTime()
      ->Iterations(g_opt.iterations)
      ->Unit(benchmark::kMillisecond);
}

void register_activation(DType dt, const Activation& act) {
  const std::string tail = std::string("/") + actgrad::dtype_name(dt) + "/" + act.name();
  const double es = actgrad::dtype_size(dt);
  const bool pos = needs_positive(act);
  auto reg = [&](const std::string& name, double streams, auto body) {
    benchmark::RegisterBenchmark(name.c_str(),
                                 [dt, streams, es, body](benchmark::State& state) {
                                   Arena& a = arena(dt);
                                   actgrad_bench::timed(state, g_flush, streams * es * double(a.n),
                                                        a.n, [&] {
                                                          body(a);
                                                          return true;
                                                        });
                                 })
        ->UseManualTime()
        ->Iterations(g_opt.iterations)
        ->Unit(benchmark::kMillisecond);
  };
  if (act.is_gated()) {
    reg("fused" + tail + "/actgrad", 5, [act](Arena& a) {
      actgrad::gated_forward_with_derivative(act, a.x.view(), a.b.view(), a.o0.view(), a.o1.view(),
                                             a.o2.view());
    });
    reg("backward" + tail + "/actgrad", 5, [act](Arena& a) {
      actgrad::gated_backward(act, a.x.view(), a.b.view(), a.g.view(), a.o0.view(), a.o1.view());
    });
    return;
  }
  reg("fused" + tail + "/actgrad", 3, [act, pos](Arena& a) {
    actgrad::forward_with_derivative(act, (pos ? a.x_pos : a.x).view(), a.o0.view(), a.o1.view());
  });
  // Same results (y and f' = 1 * f') from the two kernels a framework runs; the bytes counted
  // are the fused op's, so its GB/s compares directly with the fused line.
  reg("fused" + tail + "/unfused", 3, [act, pos](Arena& a) {
    const Buffer& x = pos ? a.x_pos : a.x;
    actgrad::forward(act, x.view(), a.o0.view());
    actgrad::backward(act, x.view(), a.ones.view(), a.o1.view());
  });
  reg("backward" + tail + "/actgrad", 3, [act, pos](Arena& a) {
    actgrad::backward(act, (pos ? a.x_pos : a.x).view(), a.g.view(), a.o0.view());
  });
  // Saturation statistics of a pre-activation tensor (issue 4): one read of x; the call returns
  // the reduced numbers, so its time includes the device-to-host transfer of the partials.
  reg("stats" + tail + "/actgrad", 1, [act, pos](Arena& a) {
    benchmark::DoNotOptimize(actgrad::saturation_stats(act, (pos ? a.x_pos : a.x).view()));
  });
}

} // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest = actgrad_bench::parse_flags(argc, argv, g_opt);
  if (!actgrad_bench::cuda_usable("bench_cuda")) return 1;
  g_flush = actgrad_bench::make_flush_buffer();
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "device properties");
  benchmark::AddCustomContext("gpu", prop.name);
  benchmark::AddCustomContext("sm_count", std::to_string(prop.multiProcessorCount));
  benchmark::AddCustomContext("l2_bytes", std::to_string(prop.l2CacheSize));
  benchmark::AddCustomContext("log2n", std::to_string(g_opt.log2n));
  for (DType dt : actgrad_bench::dtypes_of(g_opt.dtypes)) {
    register_copy(dt);
    for (actgrad::ActId id : actgrad::catalogue()) register_activation(dt, Activation(id));
  }
  if (const int rc = actgrad_bench::run_benchmarks(rest)) return rc;
  g_arena.reset();
  g_flush = Buffer();
  return 0;
}
