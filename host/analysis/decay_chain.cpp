// The chain model on the CPU (the single-source body of actgrad/detail/chain_body.hpp over OpenMP
// threads), its device dispatch, and the saturation threshold both decay models share.
#include "actgrad/detail/decay_chain.hpp"
#include "actgrad/detail/decay_dense.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <omp.h>

#include "actgrad/detail/dispatch.hpp"
#include "actgrad/error.hpp"

namespace actgrad {
namespace detail {

std::vector<LayerStats> chain_layer_stats(const std::vector<ChainPartial>& sums,
                                          std::int64_t paths) {
  std::vector<LayerStats> rows(sums.size());
  const double n = double(paths);
  const double log10_2 = std::log10(2.0);
  for (std::size_t i = 0; i < sums.size(); ++i) {
    const ChainPartial& p = sums[i];
    LayerStats& r = rows[i];
    r.layer = std::int64_t(i) + 1;
    // mean D^2 = (s / n) 2^e; the exponent goes in as a logarithm so nothing under- or overflows.
    r.log10_grad_norm2 = p.s == 0.0 ? -std::numeric_limits<double>::infinity()
                                    : std::log10(p.s / n) + double(p.e) * log10_2;
    r.q = p.q / n;
    r.saturated_fraction = double(p.sat) / n;
  }
  return rows;
}

namespace {

// Sums of layer l over paths [0, n) of a chunk whose states are in st; `layer` advances them.
template <class T, class Layer>
ChainPartial chunk_layer(ChainState<T>* st, std::int64_t n, Layer&& layer) {
  ChainPartial p = chain_partial_empty();
  for (std::int64_t i = 0; i < n; ++i) p.sat += layer(i) ? 1 : 0;
  std::int64_t emax = kChainNoExponent;
  for (std::int64_t i = 0; i < n; ++i) {
    emax = std::max(emax, chain_d2_exponent(st[i]));
    p.q += double(st[i].z) * double(st[i].z);
  }
  double s = 0.0;
  for (std::int64_t i = 0; i < n; ++i) s += chain_scaled_d2(st[i], emax);
  p.s = s;
  p.e = s == 0.0 ? kChainNoExponent : emax;
  return p;
}

// Runs work(group, sums of that group [depth]) for every group, in parallel rounds of one group
// per thread (after each round the caller's thread reports progress), then merges the groups in
// order: the result does not depend on the number of threads.
template <class Work>
std::vector<ChainPartial> over_groups(std::int64_t depth, std::int64_t groups,
                                      const ProgressFn& progress, Work&& work) {
  std::vector<std::vector<ChainPartial>> part(static_cast<std::size_t>(groups));
  const std::int64_t round = std::max(1, omp_get_max_threads());
  for (std::int64_t g0 = 0; g0 < groups; g0 += round) {
    const std::int64_t g1 = std::min(groups, g0 + round);
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t g = g0; g < g1; ++g) {
      std::vector<ChainPartial> sums(std::size_t(depth), chain_partial_empty());
      work(g, sums);
      part[std::size_t(g)] = std::move(sums);
    }
    if (progress) progress(g1 * depth / groups, depth);
  }
  std::vector<ChainPartial> total(std::size_t(depth), chain_partial_empty());
  for (const auto& sums : part)
    for (std::size_t l = 0; l < total.size(); ++l) total[l] = chain_merge(total[l], sums[l]);
  return total;
}

// Fused: each chunk of paths runs all layers with its states in a small local array.
template <Kind K, class T, class Fn>
std::vector<ChainPartial> cpu_fused(const Fn& fn, const ChainArgs<T>& a,
                                    const ProgressFn& progress) {
  const std::int64_t chunks = (a.paths + kChainCpuChunk - 1) / kChainCpuChunk;
  const std::int64_t groups = std::min(chunks, kChainCpuGroups);
  return over_groups(
      a.depth, groups, progress, [&](std::int64_t g, std::vector<ChainPartial>& sums) {
        ChainState<T> st[kChainCpuChunk];
        const Fn f = fn; // a local copy, so the compiler sees the parameters do not alias
        for (std::int64_t c = g * chunks / groups; c < (g + 1) * chunks / groups; ++c) {
          const std::int64_t p0 = c * kChainCpuChunk;
          const std::int64_t n = std::min(kChainCpuChunk, a.paths - p0);
          for (std::int64_t i = 0; i < n; ++i) chain_start(st[i], a, p0 + i);
          for (std::int64_t l = 1; l <= a.depth; ++l) {
            const ChainPartial p = chunk_layer(
                st, n, [&](std::int64_t i) { return chain_layer<K>(st[i], a, f, p0 + i, l); });
            sums[std::size_t(l - 1)] = chain_merge(sums[std::size_t(l - 1)], p);
          }
        }
      });
}

// Per layer: one parallel pass over all paths, reading and writing their state in memory and
// drawing each bias alone (the unfused way, as one kernel launch per layer would).
template <Kind K, class T, class Fn>
std::vector<ChainPartial> cpu_per_layer(const Fn& fn, const ChainArgs<T>& a,
                                        const ProgressFn& progress) {
  const std::int64_t chunks = (a.paths + kChainCpuChunk - 1) / kChainCpuChunk;
  const std::int64_t groups = std::min(chunks, kChainCpuGroups);
  std::vector<ChainState<T>> state(std::size_t(a.paths));
#pragma omp parallel for
  for (std::int64_t i = 0; i < a.paths; ++i) chain_start(state[std::size_t(i)], a, i);
  std::vector<std::vector<ChainPartial>> part(std::size_t(groups),
                                              std::vector<ChainPartial>(std::size_t(a.depth)));
  for (std::int64_t l = 1; l <= a.depth; ++l) {
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t g = 0; g < groups; ++g) {
      ChainPartial sum = chain_partial_empty();
      const Fn f = fn;
      for (std::int64_t c = g * chunks / groups; c < (g + 1) * chunks / groups; ++c) {
        const std::int64_t p0 = c * kChainCpuChunk;
        const std::int64_t n = std::min(kChainCpuChunk, a.paths - p0);
        ChainState<T>* st = state.data() + p0;
        const ChainPartial p = chunk_layer(st, n, [&](std::int64_t i) {
          const Fused<T> phi = chain_phi_hat<K>(f, a, st[i].z);
          const T bias = a.sigma_b != T(0) ? chain_normal<T>(a.seed, p0 + i, l) : T(0);
          return chain_apply(st[i], a, phi, bias);
        });
        sum = chain_merge(sum, p);
      }
      part[std::size_t(g)][std::size_t(l - 1)] = sum;
    }
    if (progress) progress(l, a.depth);
  }
  std::vector<ChainPartial> total(std::size_t(a.depth), chain_partial_empty());
  for (const auto& sums : part)
    for (std::size_t l = 0; l < total.size(); ++l) total[l] = chain_merge(total[l], sums[l]);
  return total;
}

template <class T>
std::vector<ChainPartial> cpu_run(const DecayConfig& cfg, ChainVariant variant,
                                  const ProgressFn& progress) {
  const ChainArgs<T> a = chain_args<T>(cfg);
  return visit_activation(cfg.act.id(), [&](auto tag) {
    using Tag = decltype(tag);
    using Fn = typename Tag::template op<T>;
    const Fn fn(cfg.act.params());
    return variant == ChainVariant::fused ? cpu_fused<Tag::kind>(fn, a, progress)
                                          : cpu_per_layer<Tag::kind>(fn, a, progress);
  });
}

} // namespace

std::vector<LayerStats> chain_cpu(const DecayConfig& cfg, ChainVariant variant,
                                  const ProgressFn& progress) {
  const std::vector<ChainPartial> sums = cfg.dtype == DType::f64
                                             ? cpu_run<double>(cfg, variant, progress)
                                             : cpu_run<float>(cfg, variant, progress);
  return chain_layer_stats(sums, cfg.batch);
}

} // namespace detail

std::int64_t default_batch(DecayModel model) { return model == DecayModel::dense ? 64 : 65536; }

std::uint64_t chain_memory_bytes(const DecayConfig& cfg) {
  DecayConfig c = cfg;
  if (c.batch == 0) c.batch = default_batch(DecayModel::chain);
  if (c.device.kind == DeviceKind::cuda)
    return detail::chain_cuda_bytes(c, detail::ChainVariant::fused);
  // Per group: the depth-long partial sums (kChainCpuGroups of them).
  return std::uint64_t(detail::kChainCpuGroups) * std::uint64_t(c.depth) *
         sizeof(detail::ChainPartial);
}

double saturation_threshold(const Activation& act) {
  return 0.01 * detail::max_abs_derivative(act);
}

std::vector<LayerStats> simulate_chain(const DecayConfig& cfg, const ProgressFn& progress) {
  DecayConfig c = cfg;
  if (c.batch == 0) c.batch = default_batch(DecayModel::chain);
  if (c.device.kind == DeviceKind::cuda)
    return detail::chain_cuda(c, detail::ChainVariant::fused, progress);
  return detail::chain_cpu(c, detail::ChainVariant::fused, progress);
}

namespace detail {

#if !ACTGRAD_WITH_CUDA
std::vector<LayerStats> chain_cuda(const DecayConfig&, ChainVariant, const ProgressFn&) {
  throw Error("decay: device cuda: actgrad was built without CUDA support; use --device cpu or "
              "auto",
              Error::Kind::unavailable);
}
std::uint64_t chain_cuda_bytes(const DecayConfig&, ChainVariant) { return 0; }
#endif

} // namespace detail
} // namespace actgrad
