// Dense decay model: time per layer of the whole model against its parts (GEMMs, weight draws,
// the fused activation) with the same shapes, on the CPU and, in CUDA builds with a GPU, the GPU.
//
// Arguments of every benchmark: device (0 = cpu, 1 = cuda), width W, batch B. Counters:
//   per_layer   seconds per layer (the model: forward + backward; the parts: their share of it)
//   BM_Model    simulate_dense over 8 layers (forward and backward, Philox weights drawn twice)
//   BM_Gemm     the two GEMMs of one layer: h = W a + b and g = W^T delta
//   BM_Draw     the two weight draws of one layer (W x W Philox normals each)
//   BM_Act      forward_with_derivative on W x B elements plus the layer's reductions
// The activation is BM_Act / BM_Model of the layer time.
#include <cstdint>
#include <memory>

#include <benchmark/benchmark.h>

#include "actgrad/actgrad.hpp"
#include "bench_device.hpp"
#include "actgrad/decay.hpp"
#include "actgrad/detail/decay_dense.hpp"

namespace {

using actgrad::Device;
using actgrad::DType;
namespace detail = actgrad::detail;

constexpr std::int64_t kDepth = 8;

using actgrad_bench::device_of;
using actgrad_bench::usable;

std::unique_ptr<detail::DenseBackend> backend(const Device& d) {
  return d.kind == actgrad::DeviceKind::cuda ? detail::make_cuda_dense_backend(DType::f32, d)
                                             : detail::make_cpu_dense_backend(DType::f32);
}

void per_layer(benchmark::State& state, double layers_per_iteration) {
  state.counters["per_layer"] =
      benchmark::Counter(layers_per_iteration, benchmark::Counter::kIsIterationInvariantRate |
                                                   benchmark::Counter::kInvert);
}

void BM_Model(benchmark::State& state) {
  if (!usable(state)) return;
  actgrad::DecayConfig cfg;
  cfg.act = actgrad::Activation::parse("tanh");
  cfg.model = actgrad::DecayModel::dense;
  cfg.width = state.range(1);
  cfg.batch = state.range(2);
  cfg.depth = kDepth;
  cfg.sigma_w2 = 1.5;
  cfg.device = device_of(state);
  // One untimed run: the first GPU run loads kernels and creates the cuBLAS handle (the first
  // H200 row, 1024 x 64, took 35 ms a layer without it).
  benchmark::DoNotOptimize(actgrad::simulate_dense(cfg, {}));
  for (auto _ : state) benchmark::DoNotOptimize(actgrad::simulate_dense(cfg, {}));
  per_layer(state, double(kDepth));
}

// Buffers of one layer on the benchmark's device.
struct Layer {
  std::unique_ptr<detail::DenseBackend> be;
  actgrad::Buffer w, bias, a, h, d;
  std::int64_t width, batch;
  explicit Layer(const benchmark::State& state)
      : be(backend(device_of(state))), width(state.range(1)), batch(state.range(2)) {
    const Device dev = be->device();
    w = actgrad::Buffer(DType::f32, width * width, dev);
    bias = actgrad::Buffer(DType::f32, width, dev);
    a = actgrad::Buffer(DType::f32, width * batch, dev);
    h = actgrad::Buffer(DType::f32, width * batch, dev);
    d = actgrad::Buffer(DType::f32, width * batch, dev);
    be->normal(w.view(), 1, 1, detail::DenseStream::weight, 0.03);
    be->normal(bias.view(), 1, 1, detail::DenseStream::bias, 0.1);
    be->normal(a.view(), 1, 0, detail::DenseStream::input, 1.0);
    sync();
  }
  // Waits for the device (a reduction returns its result to the host).
  void sync() { benchmark::DoNotOptimize(be->sumsq(bias.view())); }
};

void BM_Gemm(benchmark::State& state) {
  if (!usable(state)) return;
  Layer L(state);
  for (auto _ : state) {
    L.be->linear(L.w.view(), L.a.view(), L.bias.view(), L.h.view(), L.width, L.batch);
    L.be->linear_t(L.w.view(), L.a.view(), L.d.view(), L.width, L.batch);
    L.sync();
  }
  per_layer(state, 1.0);
}

void BM_Draw(benchmark::State& state) {
  if (!usable(state)) return;
  Layer L(state);
  for (auto _ : state) {
    L.be->normal(L.w.view(), 1, 2, detail::DenseStream::weight, 0.03);
    L.be->normal(L.w.view(), 1, 3, detail::DenseStream::weight, 0.03);
    L.sync();
  }
  per_layer(state, 1.0);
}

void BM_Act(benchmark::State& state) {
  if (!usable(state)) return;
  Layer L(state);
  const actgrad::Activation act = actgrad::Activation::parse("tanh");
  for (auto _ : state) {
    L.be->fused(act, L.a.view(), L.h.view(), L.d.view());
    benchmark::DoNotOptimize(L.be->layer_sums(L.h.view(), L.d.view(), 0.01));
  }
  per_layer(state, 1.0);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int dev : {0, 1}) {
    b->Args({dev, 1024, 64});
    b->Args({dev, 4096, 256});
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_Model)->Apply(shapes);
BENCHMARK(BM_Gemm)->Apply(shapes);
BENCHMARK(BM_Draw)->Apply(shapes);
BENCHMARK(BM_Act)->Apply(shapes);

} // namespace

BENCHMARK_MAIN();
