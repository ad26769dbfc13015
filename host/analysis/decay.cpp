// simulate_decay: validation (arguments, memory) and dispatch to the dense and chain models.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <unistd.h>

#if ACTGRAD_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include "actgrad/decay.hpp"
#include "actgrad/detail/decay_chain.hpp"
#include "actgrad/error.hpp"

namespace actgrad {
namespace {

std::string bytes_text(std::uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu bytes (%.3g GiB)", static_cast<unsigned long long>(bytes),
                double(bytes) / double(1ull << 30));
  return buf;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Host memory that can still be allocated: MemAvailable (free plus reclaimable cache), else
// sysconf's available pages, else unknown (no limit).
std::uint64_t host_available() {
  if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long long kb = 0;
    bool found = false;
    while (!found && std::fgets(line, sizeof line, f))
      found = std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
    std::fclose(f);
    if (found) return kb > (~0ull >> 10) ? ~0ull : std::uint64_t(kb) << 10;
  }
  const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? std::uint64_t(pages) * std::uint64_t(page) : ~0ull;
}

// Memory the device has for us: available RAM on the CPU, free memory on a CUDA device.
std::uint64_t device_memory(const Device& device) {
  if (device.kind == DeviceKind::cpu) return host_available();
#if ACTGRAD_WITH_CUDA
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) {
    cudaGetLastError();
    return ~0ull; // the run itself reports the device problem
  }
  std::size_t free_bytes = 0, total = 0;
  const bool ok = cudaSetDevice(device.index) == cudaSuccess &&
                  cudaMemGetInfo(&free_bytes, &total) == cudaSuccess;
  cudaSetDevice(previous);
  if (!ok) {
    cudaGetLastError();
    return ~0ull;
  }
  return free_bytes;
#else
  return ~0ull; // chain_cuda reports the missing backend
#endif
}

std::uint64_t add_sat(std::uint64_t a, std::uint64_t b) { return a > ~0ull - b ? ~0ull : a + b; }

} // namespace

const char* weight_init_name(WeightInit init) {
  return init == WeightInit::orthogonal ? "orthogonal" : "gaussian";
}

DecayMemory decay_memory(const DecayConfig& cfg) {
  DecayMemory m;
  const bool dense = cfg.model == DecayModel::dense;
  m.model = dense ? dense_memory_bytes(cfg) : chain_memory_bytes(cfg);
  // The returned rows; the chain model also sums its groups (or the GPU's) into one depth-long
  // vector on the host.
  const std::uint64_t per_layer =
      sizeof(LayerStats) +
      (dense ? 0 : sizeof(detail::ChainPartial) * (cfg.device.kind == DeviceKind::cpu ? 1 : 2));
  const std::uint64_t depth = cfg.depth > 0 ? std::uint64_t(cfg.depth) : 0;
  m.results = depth > ~0ull / per_layer ? ~0ull : depth * per_layer;
  m.host_available = host_available();
  m.device_available =
      cfg.device.kind == DeviceKind::cpu ? m.host_available : device_memory(cfg.device);
  return m;
}

std::vector<LayerStats> simulate_decay(const DecayConfig& cfg, const ProgressFn& progress) {
  if (cfg.depth <= 0)
    throw Error("decay: depth " + std::to_string(cfg.depth) +
                " is not allowed; use an integer >= 1");
  if (cfg.model == DecayModel::dense && cfg.width <= 0)
    throw Error("decay: width " + std::to_string(cfg.width) +
                " is not allowed; use an integer >= 1");
  if (cfg.batch < 0)
    throw Error("decay: batch " + std::to_string(cfg.batch) +
                " is not allowed; use an integer >= 1 (0 means the model's default)");
  if (!(cfg.sigma_w2 >= 0.0) || !std::isfinite(cfg.sigma_w2))
    throw Error("decay: sigma_w2 " + number(cfg.sigma_w2) +
                " is not allowed; use a finite variance >= 0");
  if (!(cfg.sigma_b2 >= 0.0) || !std::isfinite(cfg.sigma_b2))
    throw Error("decay: sigma_b2 " + number(cfg.sigma_b2) +
                " is not allowed; use a finite variance >= 0");
  {
    const ActivationTransform& t = cfg.transform;
    if (!std::isfinite(t.input_scale) || !std::isfinite(t.input_shift) ||
        !std::isfinite(t.output_shift) || !std::isfinite(t.output_scale))
      throw Error("decay: transform values must be finite");
  }
  if (cfg.model == DecayModel::chain && cfg.init != WeightInit::gaussian)
    throw Error("decay: init orthogonal applies to the dense model; the chain model has no "
                "weight matrices");
  if (cfg.dtype != DType::f32 && cfg.dtype != DType::f64)
    throw Error(std::string("decay: dtype ") + dtype_name(cfg.dtype) +
                " is not allowed; use f32 or f64");
#if !ACTGRAD_WITH_CUDA
  if (cfg.device.kind == DeviceKind::cuda)
    throw Error("decay: device cuda: actgrad was built without CUDA support; use --device cpu or "
                "auto",
                Error::Kind::unavailable);
#endif
  const bool dense = cfg.model == DecayModel::dense;
  const bool cpu = cfg.device.kind == DeviceKind::cpu;
  const DecayMemory m = decay_memory(cfg);
  const std::uint64_t need = cpu ? add_sat(m.model, m.results) : m.model;
  if (need > m.device_available)
    throw Error(std::string("decay: the ") + (dense ? "dense" : "chain") + " model needs " +
                bytes_text(need) + (cpu ? " (model and per-layer results)" : "") + " on " +
                cfg.device.describe() + ", which has " + bytes_text(m.device_available) +
                (cpu ? " available" : " free") + "; reduce --depth, --width or --batch");
  if (!cpu && m.results > m.host_available)
    throw Error("decay: the per-layer results need " + bytes_text(m.results) +
                " of host memory, which has " + bytes_text(m.host_available) +
                " available; reduce --depth");
  return dense ? simulate_dense(cfg, progress) : simulate_chain(cfg, progress);
}

} // namespace actgrad
