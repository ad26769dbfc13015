// `actgrad bench`: times the fused value+derivative and backward passes of activations on this
// machine's CPU or GPU, next to a copy of the same size measured in the same run (issue 3).
//
// Each measurement runs the pass once to warm up, then repeats it until kBenchMinSeconds have
// passed (at least kBenchMinReps times, or once when the warm-up alone took longer) and reports the
// median. GB/s counts the bytes the pass must move: fused reads x and writes y and f' (3 streams),
// backward reads x and grad_out and writes grad_in (3 streams); gated units move 5. The copy moves
// 2 streams (read + write): its GB/s is the machine's practical bandwidth and "% copy" is the
// pass's GB/s over it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actgrad/actgrad.hpp"
#include "command.hpp"
#include "limits.hpp"
#include "options.hpp"
#include "output.hpp"

namespace actgrad::cli {
namespace {

// Sizes, repetitions and their reasons: limits.hpp.
using limits::kBenchBuffers;
using limits::kBenchDefaultLog2Cpu;
using limits::kBenchDefaultLog2Cuda;
using limits::kBenchMaxMemoryFraction;
using limits::kBenchMaxReps;
using limits::kBenchMaxSize;
using limits::kBenchMinReps;
using limits::kBenchMinSeconds;
using limits::kBenchMinSize;

struct BenchConfig {
  std::vector<std::string> acts;
  std::string device = "auto";
  std::string dtype = "f32";
  std::int64_t size = 0; // 0: the device's default
  std::string format = "table";
  bool verbose = false;
};

struct Result {
  std::string act, op;
  double ms = 0, gbps = 0, of_copy = 0;
};

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median seconds of `pass` (device work waited for each time).
double measure(const Device& device, const std::function<void()>& pass) {
  const double warm0 = now_seconds();
  pass();
  device.synchronize();
  // A pass slower than the minimum time (smooth functions on a small CPU) is timed once more.
  const int min_reps = now_seconds() - warm0 > kBenchMinSeconds ? 1 : kBenchMinReps;
  std::vector<double> t;
  const double start = now_seconds();
  while (int(t.size()) < kBenchMaxReps &&
         (int(t.size()) < min_reps || now_seconds() - start < kBenchMinSeconds)) {
    const double t0 = now_seconds();
    pass();
    device.synchronize();
    t.push_back(now_seconds() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The CPU's model name from /proc/cpuinfo, or "unknown CPU".
std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  return "unknown CPU";
}

// A copy of `bytes` bytes, split across the CPU's hardware threads like the library's passes.
void parallel_memcpy(void* dst, const void* src, std::size_t bytes) {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t part = (bytes / threads + 63) / 64 * 64;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    const std::size_t begin = std::min(bytes, part * t), end = std::min(bytes, begin + part);
    if (begin < end)
      pool.emplace_back([=] {
        std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin,
                    end - begin);
      });
  }
  for (auto& th : pool) th.join();
}

// Inputs uniform in [-6, 6) (|x| + 1/64 for activations undefined below 0), made on the host
// and rounded to the dtype as the library stores it.
template <class S>
void fill_host(S* p, std::int64_t n, std::uint64_t seed, bool positive) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::int64_t i = 0; i < n; ++i) {
    z = z * 6364136223846793005ull + 1442695040888963407ull;
    float v = float(z >> 40) * 0x1p-24f * 12.0f - 6.0f;
    if (positive) v = std::fabs(v) + 1.0f / 64.0f;
    p[i] = Storage<S>::store(typename Storage<S>::compute(v));
  }
}

void fill(Buffer& dst, std::uint64_t seed, bool positive) {
  Buffer host(dst.dtype(), dst.size());
  switch (dst.dtype()) {
  case DType::f32:
    fill_host(host.as<float>(), host.size(), seed, positive);
    break;
  case DType::f64:
    fill_host(host.as<double>(), host.size(), seed, positive);
    break;
  case DType::f16:
    fill_host(host.as<half_t>(), host.size(), seed, positive);
    break;
  case DType::bf16:
    fill_host(host.as<bfloat16_t>(), host.size(), seed, positive);
    break;
  }
  copy(host.view(), dst.view());
}

// Whether f is NaN at some finite input of [-6, 6) (log, sqrt): such activations get positive
// inputs so the pass times their real arithmetic rather than NaN paths.
bool needs_positive(const Activation& act) {
  if (act.is_gated()) return false;
  std::vector<double> x(256), y(256);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = -6.0 + 12.0 * double(i) / 256.0;
  forward(act, view(x.data(), 256), view(y.data(), 256));
  return std::any_of(y.begin(), y.end(), [](double v) { return std::isnan(v); });
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

int bench(const BenchConfig& cfg) {
  std::vector<Activation> acts;
  if (cfg.acts.empty())
    for (ActId id : catalogue()) acts.emplace_back(id);
  for (const std::string& a : cfg.acts) acts.push_back(Activation::parse(a));
  const Device device = resolve_device(cfg.device, cfg.verbose, "actgrad bench");
  const DType dtype = parse_dtype(cfg.dtype);
  const bool cuda = device.kind == DeviceKind::cuda;
  std::int64_t n = cfg.size;
  if (n == 0) n = std::int64_t(1) << (cuda ? kBenchDefaultLog2Cuda : kBenchDefaultLog2Cpu);
  // Buffers: x, x_pos, b (gated), g, and three outputs: 7 x n elements. On a card with less
  // memory, halve the default size until twice that fits.
  if (cuda && cfg.size == 0) {
    while (n > 1024) {
      try {
        const Buffer trial(dtype, std::int64_t(kBenchBuffers * double(n) / kBenchMaxMemoryFraction),
                           device);
        break;
      } catch (const Error&) {
        n /= 2;
      }
    }
  }
  Buffer x(dtype, n, device), x_pos(dtype, n, device), b(dtype, n, device), g(dtype, n, device),
      o0(dtype, n, device), o1(dtype, n, device), o2(dtype, n, device);
  fill(x, 1, false);
  fill(x_pos, 1, true);
  fill(b, 2, false);
  fill(g, 3, false);
  const double es = dtype_size(dtype);
  const double copy_s = measure(device, [&] {
    if (cuda)
      copy(x.view(), o0.view());
    else
      parallel_memcpy(o0.data(), x.data(), std::size_t(x.bytes()));
  });
  const double copy_gbps = 2.0 * es * double(n) / copy_s / 1e9;
  std::vector<Result> results;
  auto record = [&](const Activation& act, const char* op, double streams, double s) {
    const double gbps = streams * es * double(n) / s / 1e9;
    results.push_back({act.to_string(), op, s * 1e3, gbps, gbps / copy_gbps});
  };
  for (const Activation& act : acts) {
    if (act.is_gated()) {
      record(act, "fused", 5, measure(device, [&] {
               gated_forward_with_derivative(act, x.view(), b.view(), o0.view(), o1.view(),
                                             o2.view());
             }));
      record(act, "backward", 5, measure(device, [&] {
               gated_backward(act, x.view(), b.view(), g.view(), o0.view(), o1.view());
             }));
      continue;
    }
    const Buffer& in = needs_positive(act) ? x_pos : x;
    record(act, "fused", 3,
           measure(device, [&] { forward_with_derivative(act, in.view(), o0.view(), o1.view()); }));
    record(act, "backward", 3,
           measure(device, [&] { backward(act, in.view(), g.view(), o0.view()); }));
  }
  const std::string where = cuda ? device.describe()
                                 : "cpu (" + cpu_name() + ", " +
                                       std::to_string(std::thread::hardware_concurrency()) +
                                       " hardware threads)";
  if (cfg.format == "json") {
    nlohmann::json j;
    j["device"] = where;
    j["dtype"] = dtype_name(dtype);
    j["size"] = n;
    j["copy_gbps"] = copy_gbps;
    j["copy_ms"] = copy_s * 1e3;
    for (const Result& r : results)
      j["results"].push_back({{"activation", r.act},
                              {"op", r.op},
                              {"ms", r.ms},
                              {"gbps", r.gbps},
                              {"fraction_of_copy", r.of_copy}});
    write_stdout(j.dump(2) + "\n");
    return 0;
  }
  std::ostringstream out;
  out << "# actgrad bench on " << where << ", " << dtype_name(dtype) << ", n = " << n
      << " elements\n";
  out << "# copy: " << fixed(copy_s * 1e3, 3) << " ms, " << fixed(copy_gbps, 1)
      << " GB/s (read + write); GB/s counts the bytes each pass must move\n";
  std::size_t w = 10;
  for (const Result& r : results) w = std::max(w, r.act.size());
  char line[256];
  std::snprintf(line, sizeof line, "%-*s  %-8s  %10s  %9s  %7s\n", int(w), "activation", "op",
                "time_ms", "GB/s", "%copy");
  out << line;
  for (const Result& r : results) {
    std::snprintf(line, sizeof line, "%-*s  %-8s  %10.3f  %9.1f  %6.1f%%\n", int(w), r.act.c_str(),
                  r.op.c_str(), r.ms, r.gbps, 100.0 * r.of_copy);
    out << line;
  }
  write_stdout(out.str());
  return 0;
}

} // namespace

Command add_bench_command(CLI::App& root) {
  auto cfg = std::make_shared<BenchConfig>();
  CLI::App* app = root.add_subcommand(
      "bench", "Time fused value+derivative and backward passes against a same-run copy");
  app->footer(
      "For each activation (default: the whole catalogue) and op (fused: forward_with_derivative,\n"
      "backward), prints the median time of a pass over --size elements, the bandwidth it\n"
      "achieves counting the bytes it must move (x in, y and f' out for fused; x and grad_out\n"
      "in, grad_in out for backward), and that bandwidth as a percentage of a copy of the same\n"
      "size timed in the same run. The header names the CPU or GPU it ran on.\n"
      "Default size: 2^28 elements on a GPU (less if the card lacks memory), 2^22 on the CPU.\n"
      "Limits: --size from " +
      std::to_string(kBenchMinSize) + " to 2^34 = " + std::to_string(kBenchMaxSize) +
      " elements (" + std::to_string(kBenchBuffers) +
      " buffers of that size are allocated;\n"
      "an allocation that fails ends with exit 1); each measurement repeats at most " +
      std::to_string(kBenchMaxReps) +
      " times.\n"
      "Exit status: 0 ok; 2 bad argument; 1 any other failure.");
  app->add_option("ACT", cfg->acts,
                  "activations to time, e.g. relu gelu leaky_relu:negative_slope=0.2 (default: "
                  "all of 'actgrad list')");
  app->add_option("--device", cfg->device, "auto: CUDA when a GPU is usable, else the CPU")
      ->check(one_of({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  app->add_option("--dtype", cfg->dtype, "element type")
      ->check(one_of({"f32", "f64", "f16", "bf16"}))
      ->capture_default_str();
  app->add_option("--size", cfg->size, "elements per pass (default: see below)")
      ->check(CLI::Range(kBenchMinSize, kBenchMaxSize));
  app->add_option("--format", cfg->format, "table for people, json for machines")
      ->check(one_of({"table", "json"}))
      ->capture_default_str();
  app->add_flag("-v,--verbose", cfg->verbose, "say on stderr which device ran and why");
  return {app, [cfg] { return bench(*cfg); }};
}

} // namespace actgrad::cli
