// Chain model tests (SPEC §6) on the CPU: fixed-point decay, relu's indicator, exact products at
// depth 10 000, bias statistics, reproducibility across thread counts and the unfused variant.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <omp.h>

#include "actgrad/decay.hpp"
#include "actgrad/detail/decay_chain.hpp"
#include "actgrad/error.hpp"
#include "decay_test_config.hpp"

namespace {

using actgrad::DecayConfig;
using actgrad::DecayModel;
using actgrad::Device;
using actgrad::DType;
using actgrad::Error;
using actgrad::LayerStats;
using actgrad::detail::ChainVariant;

bool quick() {
  const char* q = std::getenv("ACTGRAD_QUICK");
  return q != nullptr && std::string(q) == "1";
}

DecayConfig chain(const char* act, std::int64_t depth, std::int64_t paths, double S = 1.0,
                  double T = 0.0, DType dtype = DType::f64) {
  return actgrad_test::decay_config(DecayModel::chain, act, depth, paths, S, T, dtype, 0,
                                    Device::cpu());
}

void expect_same(const std::vector<LayerStats>& a, const std::vector<LayerStats>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].layer, b[i].layer);
    EXPECT_EQ(a[i].log10_grad_norm2, b[i].log10_grad_norm2) << "layer " << i + 1;
    EXPECT_EQ(a[i].q, b[i].q) << "layer " << i + 1;
    EXPECT_EQ(a[i].saturated_fraction, b[i].saturated_fraction) << "layer " << i + 1;
  }
}

// sigmoid with S = 1, T = 0: every path converges to x* = sigmoid(x*), after which D^2 shrinks
// by exactly sigmoid'(x*)^2 = (x* (1 - x*))^2 per layer and q = x*^2.
TEST(DecayChain, SigmoidFixedPointDecay) {
  double x = 0.5;
  for (int i = 0; i < 200; ++i) x = 1.0 / (1.0 + std::exp(-x)); // contraction, rate ~0.22
  const double per_layer = 2.0 * std::log10(x * (1.0 - x));
  for (const DType dtype : {DType::f64, DType::f32}) {
    const double tol = dtype == DType::f64 ? 1e-12 : 2e-6;
    const auto rows = actgrad::simulate_chain(chain("sigmoid", 80, 4096, 1.0, 0.0, dtype), {});
    ASSERT_EQ(rows.size(), 80u);
    for (std::size_t l = 50; l < rows.size(); ++l) {
      EXPECT_NEAR(rows[l].log10_grad_norm2 - rows[l - 1].log10_grad_norm2, per_layer,
                  tol * std::fabs(per_layer))
          << "layer " << l + 1;
      EXPECT_NEAR(rows[l].q, x * x, tol);
      EXPECT_EQ(rows[l].saturated_fraction, 0.0); // sigmoid'(x*) ~ 0.22 of max 0.25
    }
    // The first layers differ from the limit (paths start spread as N(0,1)).
    EXPECT_GT(std::fabs(rows[1].log10_grad_norm2 - rows[0].log10_grad_norm2 - per_layer), 1e-3);
  }
}

// relu with S = 1, T = 0: z_l = relu(z_{l-1}) so D_l = 1[z_0 > 0] for every l; mean D^2 is the
// fraction of positive z_0, q the mean of relu(z_0)^2, and the rest sit at relu'(0) = 0.
TEST(DecayChain, ReluIsTheIndicatorOfThePositiveStart) {
  const std::int64_t paths = 10000;
  const DecayConfig cfg = chain("relu", 30, paths);
  std::int64_t positive = 0;
  double q = 0.0;
  for (std::int64_t p = 0; p < paths; ++p) {
    const double z0 = actgrad::detail::chain_normal<double>(cfg.seed, p, 0);
    positive += z0 > 0 ? 1 : 0;
    q += z0 > 0 ? z0 * z0 : 0.0;
  }
  ASSERT_GT(positive, paths / 2 - 300);
  ASSERT_LT(positive, paths / 2 + 300);
  const auto rows = actgrad::simulate_chain(cfg, {});
  for (const LayerStats& r : rows) {
    EXPECT_NEAR(r.log10_grad_norm2, std::log10(double(positive) / double(paths)), 1e-14)
        << "layer " << r.layer;
    EXPECT_NEAR(r.q, q / double(paths), 1e-12 * q / double(paths));
    EXPECT_EQ(r.saturated_fraction, double(paths - positive) / double(paths));
  }
}

// identity with S = 0.5: D_l = 0.5^(l/2) on every path, so log10 mean D^2 = l log10 0.5 exactly;
// at depth 10 000 that is 1e-3010, far below double, still finite through the exponent.
TEST(DecayChain, DeepProductsStayFiniteAndExact) {
  const std::int64_t depth = 10000;
  for (const DType dtype : {DType::f64, DType::f32}) {
    const auto rows = actgrad::simulate_chain(chain("identity", depth, 64, 0.5, 0.0, dtype), {});
    ASSERT_EQ(rows.size(), std::size_t(depth));
    for (const LayerStats& r : rows) {
      ASSERT_TRUE(std::isfinite(r.log10_grad_norm2)) << "layer " << r.layer;
      // sqrt(0.5) is rounded to the dtype once, and each layer's product m * sqrt(S) rounds
      // (relative 2^-53 or 2^-24): log10 D^2 moves by at most 2 u / ln 10 per layer.
      const double factor = dtype == DType::f64 ? std::sqrt(0.5) : double(std::sqrt(0.5f));
      const double u = dtype == DType::f64 ? 0x1p-53 : 0x1p-24;
      const double expect = 2.0 * double(r.layer) * std::log10(factor);
      // (plus the roundings of the logarithms themselves)
      ASSERT_NEAR(r.log10_grad_norm2, expect,
                  double(r.layer) * 2.0 * u / std::log(10.0) + 1e-14 * std::fabs(expect))
          << "layer " << r.layer;
    }
    EXPECT_LT(rows.back().log10_grad_norm2, -3000.0);
  }
  // A saturating unit at depth 10 000 with noise: finite everywhere, and decaying.
  const auto rows = actgrad::simulate_chain(chain("tanh", depth, 64, 1.0, 0.05, DType::f32), {});
  for (const LayerStats& r : rows) {
    ASSERT_TRUE(std::isfinite(r.log10_grad_norm2)) << "layer " << r.layer;
    ASSERT_TRUE(std::isfinite(r.q));
  }
  EXPECT_LT(rows.back().log10_grad_norm2, -100.0);
}

// identity with a bias: z_l = sqrt(S) z_{l-1} + b_l gives q_l = S q_{l-1} + T in expectation,
// which checks that the per-layer normals have variance 1 and are independent of z.
TEST(DecayChain, BiasHasTheRequestedVariance) {
  const std::int64_t paths = quick() ? 16384 : 65536;
  const double S = 0.8, T = 0.3;
  const auto rows = actgrad::simulate_chain(chain("identity", 12, paths, S, T), {});
  double q = 1.0;
  for (const LayerStats& r : rows) {
    q = S * q + T;
    // q is a mean of squared normals of variance q: standard error q sqrt(2 / paths).
    EXPECT_NEAR(r.q, q, 5.0 * q * std::sqrt(2.0 / double(paths))) << "layer " << r.layer;
  }
}

TEST(DecayChain, ReproducibleAcrossThreadCountsAndVariants) {
  const DecayConfig cfg = chain("tanh", 40, 3000, 1.5, 0.1, DType::f32);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = actgrad::detail::chain_cpu(cfg, ChainVariant::fused, {});
  omp_set_num_threads(3);
  const auto three = actgrad::detail::chain_cpu(cfg, ChainVariant::fused, {});
  omp_set_num_threads(threads);
  expect_same(one, three);
  // The unfused variant draws each bias alone instead of by pairs: the same numbers.
  expect_same(one, actgrad::detail::chain_cpu(cfg, ChainVariant::per_layer, {}));
  // Another seed gives other numbers.
  DecayConfig other = cfg;
  other.seed = 1;
  EXPECT_NE(actgrad::simulate_chain(other, {})[5].q, one[5].q);
}

TEST(DecayChain, NormalsAreStandard) {
  const std::int64_t n = 200000;
  double sum = 0.0, sum2 = 0.0, sum4 = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double z = actgrad::detail::chain_normal<double>(7, i / 16, i % 16);
    sum += z;
    sum2 += z * z;
    sum4 += z * z * z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 5.0 / std::sqrt(double(n)));
  EXPECT_NEAR(sum2 / n, 1.0, 5.0 * std::sqrt(2.0 / double(n)));
  EXPECT_NEAR(sum4 / n, 3.0, 5.0 * std::sqrt(96.0 / double(n)));
  // f32 draws take the same leading bits as f64 draws.
  EXPECT_NEAR(actgrad::detail::chain_normal<float>(7, 3, 5),
              actgrad::detail::chain_normal<double>(7, 3, 5), 1e-5);
}

TEST(DecayChain, MergeKeepsFarApartExponents) {
  using actgrad::detail::chain_merge;
  using actgrad::detail::ChainPartial;
  const ChainPartial a{0.5, -5000, 1.0, 1}, b{0.75, 10, 2.0, 2}, zero{0.0, -7, 0.5, 0};
  const ChainPartial ab = chain_merge(a, b), ba = chain_merge(b, a);
  EXPECT_EQ(ab.s, 0.75);
  EXPECT_EQ(ab.e, 10);
  EXPECT_EQ(ab.q, 3.0);
  EXPECT_EQ(ab.sat, 3);
  EXPECT_EQ(ba.s, ab.s);
  const ChainPartial c = chain_merge(ChainPartial{0.5, 3, 0, 0}, ChainPartial{0.5, 2, 0, 0});
  EXPECT_EQ(std::ldexp(c.s, int(c.e)), 6.0);
  const ChainPartial z = chain_merge(zero, a);
  EXPECT_EQ(z.s, a.s);
  EXPECT_EQ(z.e, a.e);
  EXPECT_EQ(z.q, 1.5);
}

TEST(DecayChain, ZeroGradientIsMinusInfinity) {
  // hardtanh beyond its kinks has f' = 0: with S = 100 every path leaves (-1, 1) at once.
  const auto rows = actgrad::simulate_chain(chain("hardtanh", 5, 1000, 1e6), {});
  EXPECT_TRUE(std::isinf(rows[4].log10_grad_norm2) && rows[4].log10_grad_norm2 < 0);
  EXPECT_EQ(rows[4].saturated_fraction, 1.0);
}

TEST(DecayChain, RejectsBadConfigurations) {
  auto expect_invalid = [](DecayConfig c, const char* word) {
    try {
      actgrad::simulate_decay(c);
      ADD_FAILURE() << "accepted a bad " << word;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
    }
  };
  DecayConfig c = chain("tanh", 10, 100);
  c.depth = 0;
  expect_invalid(c, "depth");
  c = chain("tanh", 10, 100);
  c.batch = -1;
  expect_invalid(c, "batch");
  c = chain("tanh", 10, 100, -1.0);
  expect_invalid(c, "sigma_w2");
  c = chain("tanh", 10, 100, 1.0, -0.5);
  expect_invalid(c, "sigma_b2");
  c = chain("tanh", 10, 100, std::nan(""), 0.0);
  expect_invalid(c, "sigma_w2");
  c = chain("tanh", 10, 100);
  c.dtype = DType::f16;
  expect_invalid(c, "dtype");
  // Partial sums beyond any machine: the message says how much is needed.
  c = chain("tanh", std::int64_t(1) << 50, 100);
  expect_invalid(c, "needs");
  if (!Device::cuda_available()) {
    c = chain("tanh", 10, 100);
    c.device = Device::cuda();
    try {
      actgrad::simulate_decay(c);
      ADD_FAILURE() << "ran on cuda without a device";
    } catch (const Error& e) {
      EXPECT_NE(e.kind(), Error::Kind::invalid_argument) << e.what();
    }
  }
}

TEST(DecayChain, DefaultsAndProgress) {
  EXPECT_EQ(actgrad::default_batch(DecayModel::chain), 65536);
  EXPECT_EQ(actgrad::default_batch(DecayModel::dense), 64);
  std::int64_t last = -1, calls = 0;
  const auto rows =
      actgrad::simulate_decay(chain("gelu", 20, 2000), [&](std::int64_t d, std::int64_t t) {
        EXPECT_EQ(t, 20);
        EXPECT_GE(d, last);
        last = d;
        ++calls;
      });
  EXPECT_EQ(rows.size(), 20u);
  EXPECT_GT(calls, 0);
  EXPECT_LE(last, 20);
  // Gated units run through their gate.
  EXPECT_EQ(actgrad::simulate_chain(chain("swiglu", 3, 100), {}).size(), 3u);
}

} // namespace
