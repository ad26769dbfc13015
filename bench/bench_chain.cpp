// Chain-model throughput (SPEC §6): layer evaluations per second of the fused chain (one pass,
// every layer of a path in registers) against the unfused way (one pass over all paths per
// layer, state in memory), on the CPU and on a CUDA GPU.
//
//   bench_chain [--paths=N] [--depth=L] [--cpu-paths=N] [--cpu-depth=L] [--acts=a,b,...]
//               [--dtype=f32|f64] [Google Benchmark flags]
// Defaults: GPU 2^20 paths x 1000 layers, CPU 65536 x 100, acts sigmoid,tanh,relu,gelu, f32,
// sigma_w2 = 1, sigma_b2 = 0 (no bias draws, so both variants do the same arithmetic). The counter
// layer_evals is paths x depth per second of wall time (the whole run: allocation, the kernels,
// the per-layer reductions and the copy back).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "actgrad/decay.hpp"
#include "actgrad/detail/decay_chain.hpp"

namespace {

using actgrad::detail::ChainVariant;

struct Setup {
  std::int64_t paths = std::int64_t(1) << 20, depth = 1000;
  std::int64_t cpu_paths = 65536, cpu_depth = 100;
  std::vector<std::string> acts = {"sigmoid", "tanh", "relu", "gelu"};
  actgrad::DType dtype = actgrad::DType::f32;
};

bool take(const char* arg, const char* name, std::string& value) {
  const std::size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  value = arg + n + 1;
  return true;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t c = std::min(s.find(',', start), s.size());
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

void run(benchmark::State& state, const std::string& act, bool gpu, ChainVariant variant,
         const Setup& s) {
  actgrad::DecayConfig cfg;
  cfg.act = actgrad::Activation::parse(act);
  cfg.depth = gpu ? s.depth : s.cpu_depth;
  cfg.batch = gpu ? s.paths : s.cpu_paths;
  cfg.dtype = s.dtype;
  cfg.device = gpu ? actgrad::Device::cuda() : actgrad::Device::cpu();
  if (gpu && !actgrad::Device::cuda_available()) {
    state.SkipWithError(actgrad::Device::automatic_reason().c_str());
    return;
  }
  // One untimed run first: the first launch loads the library's kernels (lazy module loading);
  // without it the first row of the first H200 run took 143 ms for what then ran in ~17 ms.
  double sink = (gpu ? actgrad::detail::chain_cuda(cfg, variant, {})
                     : actgrad::detail::chain_cpu(cfg, variant, {}))
                    .back()
                    .q;
  for (auto _ : state) {
    const auto rows = gpu ? actgrad::detail::chain_cuda(cfg, variant, {})
                          : actgrad::detail::chain_cpu(cfg, variant, {});
    sink += rows.back().q;
  }
  benchmark::DoNotOptimize(sink);
  state.counters["layer_evals"] = benchmark::Counter(double(cfg.batch) * double(cfg.depth),
                                                     benchmark::Counter::kIsIterationInvariantRate);
  state.counters["paths"] = double(cfg.batch);
  state.counters["depth"] = double(cfg.depth);
}

} // namespace

int main(int argc, char** argv) {
  Setup s;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (take(argv[i], "--paths", v)) {
      s.paths = std::atoll(v.c_str());
    } else if (take(argv[i], "--depth", v)) {
      s.depth = std::atoll(v.c_str());
    } else if (take(argv[i], "--cpu-paths", v)) {
      s.cpu_paths = std::atoll(v.c_str());
    } else if (take(argv[i], "--cpu-depth", v)) {
      s.cpu_depth = std::atoll(v.c_str());
    } else if (take(argv[i], "--acts", v)) {
      s.acts = split(v);
    } else if (take(argv[i], "--dtype", v)) {
      s.dtype = v == "f64" ? actgrad::DType::f64 : actgrad::DType::f32;
    } else {
      rest.push_back(argv[i]);
    }
  }
  for (const std::string& act : s.acts)
    for (const bool gpu : {false, true})
      for (const ChainVariant v : {ChainVariant::fused, ChainVariant::per_layer}) {
        if (gpu && v == ChainVariant::per_layer && s.dtype != actgrad::DType::f32) continue;
        const std::string name = std::string(gpu ? "cuda" : "cpu") + "/" +
                                 (v == ChainVariant::fused ? "fused" : "per_layer") + "/" + act;
        benchmark::RegisterBenchmark(
            name.c_str(), [act, gpu, v, s](benchmark::State& st) { run(st, act, gpu, v, s); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
  int n = int(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
