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

// Memory the device has for us: physical RAM on the CPU, free memory on a CUDA device.
std::uint64_t device_memory(const Device& device) {
  if (device.kind == DeviceKind::cpu) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? std::uint64_t(pages) * std::uint64_t(page) : ~0ull;
  }
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

} // namespace

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
  const std::uint64_t need = dense ? dense_memory_bytes(cfg) : chain_memory_bytes(cfg);
  const std::uint64_t have = device_memory(cfg.device);
  if (need > have)
    throw Error(std::string("decay: the ") + (dense ? "dense" : "chain") + " model needs " +
                bytes_text(need) + " on " + cfg.device.describe() + ", which has " +
                bytes_text(have) + (cfg.device.kind == DeviceKind::cpu ? " of RAM" : " free") +
                "; reduce --depth, --width or --batch");
  return dense ? simulate_dense(cfg, progress) : simulate_chain(cfg, progress);
}

} // namespace actgrad
