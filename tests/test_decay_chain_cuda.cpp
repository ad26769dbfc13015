// GPU chain kernel against the CPU path (same seed, same Philox numbers, same body): the per-layer
// statistics agree to rounding. Each test skips, with the reason, when no CUDA device is usable.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actgrad/decay.hpp"
#include "actgrad/detail/decay_chain.hpp"
#include "actgrad/error.hpp"
#include "decay_test_config.hpp"

namespace {

using actgrad::DecayConfig;
using actgrad::Device;
using actgrad::DType;
using actgrad::LayerStats;
using actgrad::detail::ChainVariant;

DecayConfig chain(const char* act, std::int64_t depth, std::int64_t paths, double S, double T,
                  DType dtype) {
  return actgrad_test::decay_config(actgrad::DecayModel::chain, act, depth, paths, S, T, dtype,
                                    12345, Device::cpu());
}

// rel: relative tolerance on the statistics (sums over paths in another order, and libm
// differences of an ulp in float that contracting dynamics keep at that size).
void expect_close(const std::vector<LayerStats>& cpu, const std::vector<LayerStats>& gpu,
                  double rel, const std::string& what) {
  ASSERT_EQ(cpu.size(), gpu.size()) << what;
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    const LayerStats &c = cpu[i], &g = gpu[i];
    EXPECT_EQ(c.layer, g.layer);
    EXPECT_NEAR(g.log10_grad_norm2, c.log10_grad_norm2,
                rel * std::max(1.0, std::fabs(c.log10_grad_norm2)))
        << what << " layer " << c.layer;
    // q may overflow to inf in f32 on both (relu at S = 2 doubles z^2 every layer).
    if (!(g.q == c.q)) {
      EXPECT_NEAR(g.q, c.q, rel * std::max(1e-300, std::fabs(c.q))) << what << " layer " << c.layer;
    }
    EXPECT_NEAR(g.saturated_fraction, c.saturated_fraction, 1e-3) << what << " layer " << c.layer;
  }
}

TEST(DecayChainCuda, AgreesWithCpu) {
  ACTGRAD_SKIP_WITHOUT_GPU();
  struct Case {
    const char* act;
    double S, T;
  };
  // Ordered or marginal settings, where an ulp of difference stays an ulp.
  const Case cases[] = {{"sigmoid", 1.0, 0.0},
                        {"tanh", 1.0, 0.05},
                        {"relu", 2.0, 0.0},
                        {"gelu", 1.5, 0.01},
                        {"swiglu", 1.0, 0.0}};
  for (const Case& k : cases)
    for (const DType dtype : {DType::f64, DType::f32}) {
      DecayConfig c = chain(k.act, 300, 20000, k.S, k.T, dtype);
      const auto cpu = actgrad::detail::chain_cpu(c, ChainVariant::fused, {});
      c.device = Device::cuda();
      const auto gpu = actgrad::simulate_decay(c);
      expect_close(cpu, gpu, dtype == DType::f64 ? 1e-11 : 1e-4,
                   std::string(k.act) + (dtype == DType::f64 ? " f64" : " f32"));
    }
}

TEST(DecayChainCuda, PerLayerVariantAndSlices) {
  ACTGRAD_SKIP_WITHOUT_GPU();
  // More paths than one launch holds (slices merged into the same partials), and the unfused
  // variant, against the CPU.
  DecayConfig c = chain("tanh", 50, 1 << 20, 1.2, 0.02, DType::f32);
  const auto cpu = actgrad::detail::chain_cpu(c, ChainVariant::fused, {});
  c.device = Device::cuda();
  std::int64_t calls = 0;
  const auto fused = actgrad::detail::chain_cuda(c, ChainVariant::fused,
                                                 [&](std::int64_t, std::int64_t) { ++calls; });
  const auto unfused = actgrad::detail::chain_cuda(c, ChainVariant::per_layer, {});
  expect_close(cpu, fused, 1e-4, "fused");
  expect_close(cpu, unfused, 1e-4, "per-layer");
  EXPECT_GE(calls, 1);
}

TEST(DecayChainCuda, Depth10000StaysFinite) {
  ACTGRAD_SKIP_WITHOUT_GPU();
  DecayConfig c = chain("sigmoid", 10000, 4096, 1.0, 0.1, DType::f32);
  c.device = Device::cuda();
  const auto rows = actgrad::simulate_decay(c);
  ASSERT_EQ(rows.size(), 10000u);
  for (const LayerStats& r : rows) ASSERT_TRUE(std::isfinite(r.log10_grad_norm2)) << r.layer;
  EXPECT_LT(rows.back().log10_grad_norm2, -1000.0);
}

} // namespace
