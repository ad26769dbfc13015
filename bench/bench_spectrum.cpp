// Jacobian spectrum (issue 17): one network of `actgrad spectrum` and its parts, on the CPU and,
// in CUDA builds with a GPU, the GPU.
//
// Arguments: device (0 = cpu, 1 = cuda), init (0 = gaussian, 1 = orthogonal), width N, depth L.
//   BM_Network     simulate_spectrum for one tanh network at its critical point q* = 0.5, f64:
//                  the eigen method up to N = 2048 (L GEMMs of N^3, L draws, one N^3 syevd),
//                  probes above it (16 probes: 3 L products of N^2 x 16, 3 L draws)
//   BM_Orthogonal  one orthogonal draw of N x N (Philox normals, QR, the sign fix), f64
// The goal: N = 1024, L = 64 in under a minute on 2 CPU cores, well under a second on
// a GPU.
#include <cstdint>
#include <memory>

#include <benchmark/benchmark.h>

#include "actgrad/actgrad.hpp"
#include "bench_device.hpp"
#include "actgrad/detail/decay_dense.hpp"

namespace {

using actgrad::Device;
using actgrad::DType;
using actgrad::WeightInit;

using actgrad_bench::device_of;
using actgrad_bench::usable;

WeightInit init_of(const benchmark::State& state) {
  return state.range(1) == 1 ? WeightInit::orthogonal : WeightInit::gaussian;
}

void BM_Network(benchmark::State& state) {
  if (!usable(state)) return;
  actgrad::SpectrumConfig cfg;
  cfg.act = actgrad::Activation::parse("tanh");
  const actgrad::CriticalPoint cp = actgrad::critical_point_at_q_star(cfg.act, 0.5);
  cfg.sigma_w2 = cp.sigma_w2;
  cfg.sigma_b2 = cp.sigma_b2;
  cfg.q_star = 0.5;
  cfg.init = init_of(state);
  cfg.width = state.range(2);
  cfg.depth = state.range(3);
  cfg.device = device_of(state);
  if (cfg.device.kind == actgrad::DeviceKind::cuda) { // handles, kernels: one untimed network
    actgrad::SpectrumConfig warm = cfg;
    warm.depth = 1;
    benchmark::DoNotOptimize(actgrad::simulate_spectrum(warm));
  }
  for (auto _ : state) benchmark::DoNotOptimize(actgrad::simulate_spectrum(cfg));
  state.counters["per_layer"] =
      benchmark::Counter(double(cfg.depth), benchmark::Counter::kIsIterationInvariantRate |
                                                benchmark::Counter::kInvert);
}

void BM_Orthogonal(benchmark::State& state) {
  if (!usable(state)) return;
  const Device dev = device_of(state);
  auto be = dev.kind == actgrad::DeviceKind::cuda
                ? actgrad::detail::make_cuda_dense_backend(DType::f64, dev)
                : actgrad::detail::make_cpu_dense_backend(DType::f64);
  const std::int64_t n = state.range(2);
  actgrad::Buffer w(DType::f64, n * n, dev);
  std::uint32_t layer = 0;
  for (auto _ : state)
    be->orthogonal(w.view(), n, 1, ++layer, actgrad::detail::DenseStream::weight, 1.0);
}

} // namespace

BENCHMARK(BM_Network)
    ->ArgsProduct({{0, 1}, {0, 1}, {1024}, {64}})
    ->Args({0, 0, 4096, 16})
    ->Args({1, 0, 4096, 64})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_Orthogonal)
    ->ArgsProduct({{0, 1}, {0}, {256, 1024}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
