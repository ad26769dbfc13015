// Internal entry points of the chain model (SPEC §6): CPU and CUDA, fused and per-layer variants.
//
// simulate_chain (host/analysis/decay.cpp) runs the fused variant; the per-layer variant (one pass
// over all paths per layer, state in memory: the unfused way) exists for bench/bench_chain.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "actgrad/decay.hpp"
#include "actgrad/detail/chain_body.hpp"

namespace actgrad {
namespace detail {

enum class ChainVariant { fused, per_layer };

// The per-path constants of cfg in compute type T (shared by the CPU and CUDA runs).
template <class T>
ChainArgs<T> chain_args(const DecayConfig& cfg) {
  ChainArgs<T> a;
  a.sqrt_s = T(std::sqrt(cfg.sigma_w2));
  a.sigma_b = T(std::sqrt(cfg.sigma_b2));
  // Saturation is |phi_hat'| < 0.01 max|phi_hat'|: the threshold carries |out_scale in_scale|.
  const ActivationTransform& t = cfg.transform;
  a.sat_threshold = T(saturation_threshold(cfg.act) * std::fabs(t.output_scale * t.input_scale));
  a.in_scale = T(t.input_scale);
  a.in_shift = T(t.input_shift);
  a.out_shift = T(t.output_shift);
  a.out_scale = T(t.output_scale);
  a.seed = cfg.seed;
  a.paths = cfg.batch;
  a.depth = cfg.depth;
  return a;
}

// Per-layer sums over all paths -> the CSV rows (l = 1..depth).
std::vector<LayerStats> chain_layer_stats(const std::vector<ChainPartial>& sums,
                                          std::int64_t paths);

// The chain model on the CPU (OpenMP) and on cfg.device (CUDA). cfg is already validated and
// cfg.batch is the path count. Without CUDA, chain_cuda throws Error(unavailable).
std::vector<LayerStats> chain_cpu(const DecayConfig& cfg, ChainVariant variant,
                                  const ProgressFn& progress);
std::vector<LayerStats> chain_cuda(const DecayConfig& cfg, ChainVariant variant,
                                   const ProgressFn& progress);
// Device bytes chain_cuda allocates for cfg (0 without CUDA).
std::uint64_t chain_cuda_bytes(const DecayConfig& cfg, ChainVariant variant);

// Paths per CPU work item, and the fixed number of groups CPU partial sums are kept in (so the
// summation order, hence the result, does not depend on the thread count).
constexpr std::int64_t kChainCpuChunk = 256;
constexpr std::int64_t kChainCpuGroups = 64;

} // namespace detail
} // namespace actgrad
