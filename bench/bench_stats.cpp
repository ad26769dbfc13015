// CPU benchmark of saturation_stats (issue 4): one read of a pre-activation tensor per call,
// beside the library's fused pass over the same tensor and a plain read of it, in one binary.
//
// Names are stats/<activation>, fused/<activation>, read/f32 and read_simd/f32 (the same read,
// vectorised), all at --n elements of f32
// (default 2^24) on OpenMP's default threads. bytes_per_second counts the bytes of x read (4 per
// element) for stats and read, and x read + y, f' written (12) for fused; ns_per_elt is the
// time per element. Activations: --acts=a,b,... (default relu,sigmoid,tanh,gelu).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "actgrad/actgrad.hpp"
#include "actgrad/saturation.hpp"

namespace {

std::int64_t g_n = std::int64_t{1} << 24;

// Inputs uniform in [-6, 6), the range bench_cpu uses.
const std::vector<float>& inputs() {
  static const std::vector<float> x = [] {
    std::vector<float> v(static_cast<std::size_t>(g_n));
    std::uint64_t z = 12345;
    for (float& e : v) {
      z = z * 6364136223846793005ull + 1442695040888963407ull;
      e = float(z >> 40) * 0x1p-24f * 12.0f - 6.0f;
    }
    return v;
  }();
  return x;
}

void per_element(benchmark::State& state, double bytes_per_elt) {
  state.SetBytesProcessed(std::int64_t(bytes_per_elt * double(g_n)) * state.iterations());
  state.counters["ns_per_elt"] =
      benchmark::Counter(double(g_n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                                                 benchmark::Counter::kInvert);
}

void register_act(const std::string& name) {
  const actgrad::Activation act = actgrad::Activation::parse(name);
  benchmark::RegisterBenchmark(("stats/" + name).c_str(), [act](benchmark::State& state) {
    const std::vector<float>& x = inputs();
    for (auto _ : state)
      benchmark::DoNotOptimize(actgrad::saturation_stats(act, actgrad::view(x.data(), g_n)));
    per_element(state, 4);
  })->UseRealTime();
  benchmark::RegisterBenchmark(("fused/" + name).c_str(), [act](benchmark::State& state) {
    const std::vector<float>& x = inputs();
    std::vector<float> y(x.size()), d(x.size());
    for (auto _ : state)
      actgrad::forward_with_derivative(act, actgrad::view(x.data(), g_n),
                                       actgrad::view(y.data(), g_n), actgrad::view(d.data(), g_n));
    per_element(state, 12);
  })->UseRealTime();
}

} // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest{argv[0]};
  std::string acts = "relu,sigmoid,tanh,gelu";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--n=", 4) == 0)
      g_n = std::atoll(argv[i] + 4);
    else if (std::strncmp(argv[i], "--acts=", 7) == 0)
      acts = argv[i] + 7;
    else
      rest.push_back(argv[i]);
  }
  // A plain read of x with the same threads: the memory-speed floor of a one-read statistic.
  benchmark::RegisterBenchmark("read/f32", [](benchmark::State& state) {
    const std::vector<float>& x = inputs();
    for (auto _ : state) {
      double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
      for (std::int64_t i = 0; i < g_n; ++i) s += double(x[std::size_t(i)]);
      benchmark::DoNotOptimize(s);
    }
    per_element(state, 4);
  })->UseRealTime();
  // The same read with the sum vectorised (omp simd may reorder it): the scalar loop above adds
  // one element at a time in order, so it can be bound by the latency of the additions rather
  // than by memory; this row shows where memory alone would put the floor.
  benchmark::RegisterBenchmark("read_simd/f32", [](benchmark::State& state) {
    const std::vector<float>& x = inputs();
    for (auto _ : state) {
      double s = 0;
#pragma omp parallel for simd reduction(+ : s) schedule(static)
      for (std::int64_t i = 0; i < g_n; ++i) s += double(x[std::size_t(i)]);
      benchmark::DoNotOptimize(s);
    }
    per_element(state, 4);
  })->UseRealTime();
  for (std::size_t start = 0; start <= acts.size();) {
    const std::size_t comma = acts.find(',', start);
    const std::string a =
        acts.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!a.empty()) register_act(a);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  int rargc = int(rest.size());
  benchmark::Initialize(&rargc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rargc, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
