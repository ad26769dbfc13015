// Dense gradient-decay model on the CPU: mean-field agreement, depth 10 000, checkpointing, errors.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actgrad/decay.hpp"
#include "actgrad/detail/decay_dense.hpp"
#include "actgrad/error.hpp"
#include "actgrad/scalar.hpp"
#include "decay_test_config.hpp"

namespace {

using actgrad::Activation;
using actgrad::DecayConfig;
using actgrad::DecayModel;
using actgrad::DType;
using actgrad::Error;
using actgrad::LayerStats;

bool quick_mode() {
  const char* q = std::getenv("ACTGRAD_QUICK");
  return q && std::string(q) == "1";
}

DecayConfig dense(const char* act, std::int64_t width, std::int64_t batch, std::int64_t depth,
                  double s, double t, DType dtype = DType::f32) {
  DecayConfig c = actgrad_test::decay_config(DecayModel::dense, act, depth, batch, s, t, dtype,
                                             12345, actgrad::Device::cpu());
  c.width = width;
  return c;
}

// E[g(sqrt(q) z)], z ~ N(0, 1), by composite Simpson on [-12, 12] (the tails beyond are < 1e-30).
double gauss(const std::function<double(double)>& g, double q) {
  constexpr int n = 4000; // even
  constexpr double a = -12.0, h = 24.0 / n;
  double s = 0;
  for (int i = 0; i <= n; ++i) {
    const double z = a + i * h;
    const double w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
    s += w * g(std::sqrt(q) * z) * std::exp(-0.5 * z * z);
  }
  return s * h / 3.0 / std::sqrt(2.0 * M_PI);
}

// The four Gaussian moments of phi and phi' at variance q that the tolerances below need.
struct Moments {
  double f2, f4, d2, d4;
};
Moments moments(const Activation& act, double q) {
  const auto f = [&](double x) { return actgrad::evaluate(act, x).y; };
  const auto d = [&](double x) { return actgrad::evaluate(act, x).dy; };
  return {gauss([&](double x) { return std::pow(f(x), 2); }, q),
          gauss([&](double x) { return std::pow(f(x), 4); }, q),
          gauss([&](double x) { return std::pow(d(x), 2); }, q),
          gauss([&](double x) { return std::pow(d(x), 4); }, q)};
}

// --- mean-field agreement -------------------------------------------------------------------
//
// Tolerances are 5 standard deviations of the finite-width sampling error, derived here for
// N = width samples per layer. N = width, not width * batch: every batch item passes through
// the same weights, and deep layers correlate the items, so the batch is not counted as
// independent samples (conservative).
//  * q step: given layer l, q^{l+1} = mean of h^2 with h_i ~ N(0, (S/W)|phi(h^l)|^2 + T): the
//    Gaussian draw gives relative variance 2/N, the sum over units of phi(h^l)^2 adds
//    (E phi^4 / (E phi^2)^2 - 1)/N. So the measured q^{l+1} is compared with the q-map applied to
//    the measured q^l: F(q) = S E[phi(sqrt(q) z)^2] + T, within 5 sd.
//  * accumulated q (the trajectory from q^1 = S + T): the step errors propagate through the
//    map's log-slope rho = d ln F / d ln q (1 for relu at S = 2, < 1 at an attracting fixed
//    point), so var_l = rho^2 var_{l-1} + step variance.
//  * gradient factor grad_norm2^l / grad_norm2^{l+1} = S mean(phi'(h^l)^2 g^2) with g = W^T
//    delta, compared with chi(q^l) = S E[phi'^2] at the measured q^l: phi'^2 over N units gives
//    (E phi'^4 / (E phi'^2)^2 - 1)/N, the Gaussian g^2 3 E phi'^4 / (E phi'^2)^2 / (N batch)
//    (the readouts are independent per item).
//  * the mean over layers of those log errors is checked at 5 sd / sqrt(layers), as each layer
//    draws fresh weights.
//  * saturated_fraction is a binomial proportion over N units: sd sqrt(p (1 - p) / N), with p
//    the Gaussian mass of |phi'| < 0.01 max|phi'| at the measured q.
struct MeanFieldCase {
  const char* act;
  double s, t;
};

void check_mean_field(const MeanFieldCase& mc) {
  const std::int64_t width = quick_mode() ? 256 : 1024, batch = 16;
  const std::int64_t depth = quick_mode() ? 10 : 24;
  const DecayConfig cfg = dense(mc.act, width, batch, depth, mc.s, mc.t);
  const std::vector<LayerStats> r = actgrad::simulate_dense(cfg, {});
  ASSERT_EQ(r.size(), std::size_t(depth));
  const Activation& act = cfg.act;
  const double n = double(width), S = mc.s, T = mc.t;
  const auto F = [&](double q) { return S * moments(act, q).f2 + T; };
  const double dmax = actgrad::detail::max_abs_derivative(act);

  // Library theory: the q trajectory and chi along it.
  const actgrad::MeanFieldTrajectory mf = actgrad::mean_field_trajectory(act, S, T, depth);
  ASSERT_EQ(mf.q.size(), std::size_t(depth));
  ASSERT_EQ(mf.chi.size(), std::size_t(depth));

  // q^1 = S mean(x^2) + T: sd from the W x draw (2/N) and the input draw (2/(N batch)).
  const double sd1 = std::sqrt(2.0 / n + 2.0 / (n * batch));
  EXPECT_NEAR(r[0].q / (S + T), 1.0, 5 * sd1) << mc.act;
  double var_acc = sd1 * sd1, sum_qerr = 0, sum_qvar = 0, sum_gerr = 0, sum_gvar = 0;
  for (std::int64_t l = 1; l < depth; ++l) {
    const double q = r[std::size_t(l - 1)].q, q_next = r[std::size_t(l)].q;
    const Moments m = moments(act, q);
    // q step.
    const double var_q = (2.0 + (m.f4 / (m.f2 * m.f2) - 1.0)) / n;
    const double qerr = std::log(q_next / F(q));
    EXPECT_LT(std::fabs(qerr), 5 * std::sqrt(var_q)) << mc.act << " q step at layer " << l;
    sum_qerr += qerr;
    sum_qvar += var_q;
    // Accumulated q against the library's trajectory.
    const double rho = (std::log(F(q * 1.01)) - std::log(F(q / 1.01))) / (2 * std::log(1.01));
    var_acc = rho * rho * var_acc + var_q;
    EXPECT_LT(std::fabs(std::log(q_next / mf.q[std::size_t(l)])), 5 * std::sqrt(var_acc))
        << mc.act << " q at layer " << l + 1 << " vs mean_field_trajectory";
    // Gradient factor.
    const double chi = S * m.d2;
    const double k4 = m.d4 / (m.d2 * m.d2);
    const double var_g = (k4 - 1.0) / n + 3.0 * k4 / (n * batch);
    const double ratio =
        std::pow(10.0, r[std::size_t(l - 1)].log10_grad_norm2 - r[std::size_t(l)].log10_grad_norm2);
    const double gerr = std::log(ratio / chi);
    EXPECT_LT(std::fabs(gerr), 5 * std::sqrt(var_g)) << mc.act << " gradient factor, layer " << l;
    sum_gerr += gerr;
    sum_gvar += var_g;
    // The library's chi along its trajectory is the chi used here (5e-3: this file's Simpson
    // rule is only first-order accurate across relu's kink).
    EXPECT_NEAR(mf.chi[std::size_t(l - 1)] / (S * moments(act, mf.q[std::size_t(l - 1)]).d2), 1.0,
                5e-3)
        << mc.act << " mean_field_trajectory chi at layer " << l;
    // Saturated fraction.
    const double p = gauss(
        [&](double x) { return std::fabs(actgrad::evaluate(act, x).dy) < 0.01 * dmax ? 1.0 : 0.0; },
        q);
    EXPECT_NEAR(r[std::size_t(l - 1)].saturated_fraction, p,
                5 * std::sqrt(std::max(p * (1 - p), 1.0 / n) / n) + 1e-3)
        << mc.act << " saturated fraction at layer " << l;
  }
  const double layers = double(depth - 1);
  EXPECT_LT(std::fabs(sum_qerr / layers), 5 * std::sqrt(sum_qvar) / layers) << mc.act;
  EXPECT_LT(std::fabs(sum_gerr / layers), 5 * std::sqrt(sum_gvar) / layers) << mc.act;
}

TEST(DenseMeanField, Tanh) { check_mean_field({"tanh", 2.0, 0.05}); }
TEST(DenseMeanField, Relu) { check_mean_field({"relu", 2.0, 0.0}); }
TEST(DenseMeanField, Sigmoid) { check_mean_field({"sigmoid", 1.0, 0.0}); }

// --- magnitudes, reproducibility, checkpointing -----------------------------------------------

TEST(DenseModel, Depth10000StaysFinite) {
  // tanh at S = 0.5: chi ~ 0.5 per layer, so the gradient falls ~3000 decades over 10 000
  // layers, far below double's 1e-308: only the log-space renormalisation keeps it finite.
  const std::int64_t depth = quick_mode() ? 2000 : 10000;
  const DecayConfig cfg = dense("tanh", 16, 4, depth, 0.5, 0.0);
  std::int64_t calls = 0, last_done = 0, last_total = 0;
  const auto r = actgrad::simulate_dense(cfg, [&](std::int64_t done, std::int64_t total) {
    ++calls;
    EXPECT_GT(done, last_done);
    last_done = done;
    last_total = total;
  });
  ASSERT_EQ(r.size(), std::size_t(depth));
  EXPECT_GT(calls, 0);
  EXPECT_EQ(last_done, last_total);
  for (const LayerStats& s : r) {
    ASSERT_TRUE(std::isfinite(s.log10_grad_norm2)) << "layer " << s.layer;
    ASSERT_TRUE(std::isfinite(s.q)) << "layer " << s.layer;
    ASSERT_GE(s.saturated_fraction, 0.0);
    ASSERT_LE(s.saturated_fraction, 1.0);
  }
  EXPECT_EQ(r.front().layer, 1);
  EXPECT_EQ(r.back().layer, depth);
  // At least 0.1 decade per layer on average: well beyond what a plain double could hold.
  EXPECT_LT(r.front().log10_grad_norm2 - r.back().log10_grad_norm2, -0.1 * double(depth));
  EXPECT_LT(r.front().log10_grad_norm2, -400.0);
}

TEST(DenseModel, ZeroGradientIsMinusInfinity) {
  // threshold at 30 sd: every unit is below it, so f' = 0 and the gradient is exactly 0.
  DecayConfig cfg = dense("threshold:threshold=30,value=0", 32, 4, 5, 1.0, 0.0);
  const auto r = actgrad::simulate_dense(cfg, {});
  EXPECT_TRUE(std::isfinite(r[4].log10_grad_norm2));
  for (int l = 0; l < 4; ++l) {
    EXPECT_TRUE(std::isinf(r[std::size_t(l)].log10_grad_norm2) &&
                r[std::size_t(l)].log10_grad_norm2 < 0)
        << l;
    EXPECT_EQ(r[std::size_t(l)].saturated_fraction, 1.0);
  }
}

TEST(DenseModel, SeedReproducesAndChanges) {
  DecayConfig cfg = dense("tanh", 64, 8, 6, 1.5, 0.1, DType::f64);
  const auto a = actgrad::simulate_dense(cfg, {});
  const auto b = actgrad::simulate_dense(cfg, {});
  cfg.seed += 1;
  const auto c = actgrad::simulate_dense(cfg, {});
  for (std::size_t l = 0; l < a.size(); ++l) {
    EXPECT_EQ(a[l].q, b[l].q);
    EXPECT_EQ(a[l].log10_grad_norm2, b[l].log10_grad_norm2);
    EXPECT_NE(a[l].q, c[l].q);
  }
}

TEST(DenseModel, F32AgreesWithF64) {
  const auto a = actgrad::simulate_dense(dense("gelu", 128, 8, 12, 2.0, 0.1, DType::f32), {});
  const auto b = actgrad::simulate_dense(dense("gelu", 128, 8, 12, 2.0, 0.1, DType::f64), {});
  for (std::size_t l = 0; l < a.size(); ++l) {
    EXPECT_NEAR(a[l].q / b[l].q, 1.0, 1e-4) << l;
    EXPECT_NEAR(a[l].log10_grad_norm2, b[l].log10_grad_norm2, 1e-4) << l;
  }
}

void expect_same(const std::vector<LayerStats>& a, const std::vector<LayerStats>& b,
                 const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t l = 0; l < a.size(); ++l) {
    EXPECT_EQ(a[l].layer, b[l].layer) << what;
    EXPECT_EQ(a[l].q, b[l].q) << what << " layer " << l + 1;
    EXPECT_EQ(a[l].log10_grad_norm2, b[l].log10_grad_norm2) << what << " layer " << l + 1;
    EXPECT_EQ(a[l].saturated_fraction, b[l].saturated_fraction) << what << " layer " << l + 1;
  }
}

TEST(DenseModel, CheckpointingGivesTheStoredNumbers) {
  for (DType dt : {DType::f32, DType::f64}) {
    const DecayConfig cfg = dense("softplus", 48, 6, 37, 1.8, 0.05, dt);
    const auto stored = actgrad::detail::simulate_dense(cfg, {}, {});
    actgrad::detail::DenseOptions tiny;
    tiny.store_budget = 1; // nothing fits: checkpoint every ceil(sqrt(36)) = 6 layers
    expect_same(stored, actgrad::detail::simulate_dense(cfg, {}, tiny), "auto interval");
    for (std::int64_t k : {1, 5, 35, 36}) {
      tiny.checkpoint_every = k;
      expect_same(stored, actgrad::detail::simulate_dense(cfg, {}, tiny), "forced interval");
    }
  }
}

TEST(DenseModel, MemoryPlan) {
  // f32, W = 8, B = 2, L = 3: weights 64 + bias 8 + 4 work arrays of 16 + 2 stored f' arrays.
  const DecayConfig small = dense("tanh", 8, 2, 3, 1.0, 0.0);
  EXPECT_EQ(actgrad::dense_memory_bytes(small), 4u * (64 + 8 + 4 * 16 + 2 * 16));
  // Deep: checkpointing needs ~2 sqrt(L) arrays instead of L.
  const DecayConfig deep = dense("tanh", 8, 2, 10001, 1.0, 0.0);
  const auto plan = actgrad::detail::dense_plan(deep);
  EXPECT_EQ(plan.k, 100);
  EXPECT_EQ(plan.checkpointed, 4u * (64 + 8 + 4 * 16 + (100 + 100) * 16));
  EXPECT_EQ(plan.stored, 4u * (64 + 8 + 4 * 16 + 10000 * 16));
  EXPECT_EQ(actgrad::dense_memory_bytes(deep), plan.checkpointed);
  // f64 doubles it; batch 0 means 64.
  DecayConfig d64 = small;
  d64.dtype = DType::f64;
  EXPECT_EQ(actgrad::dense_memory_bytes(d64), 2 * actgrad::dense_memory_bytes(small));
  DecayConfig b0 = small, b64 = small;
  b0.batch = 0;
  b64.batch = 64;
  EXPECT_EQ(actgrad::dense_memory_bytes(b0), actgrad::dense_memory_bytes(b64));
}

TEST(DenseModel, MaxAbsDerivative) {
  EXPECT_NEAR(actgrad::detail::max_abs_derivative(Activation::parse("tanh")), 1.0, 1e-12);
  EXPECT_NEAR(actgrad::detail::max_abs_derivative(Activation::parse("sigmoid")), 0.25, 1e-12);
  EXPECT_NEAR(actgrad::detail::max_abs_derivative(Activation::parse("relu")), 1.0, 0.0);
  // gelu (erf form) peaks at x = sqrt(2) with 1 + sqrt(2) phi(sqrt(2)) = 1.12880...
  const double x = std::sqrt(2.0);
  EXPECT_NEAR(actgrad::detail::max_abs_derivative(Activation::parse("gelu")),
              0.5 * std::erfc(-x / std::sqrt(2.0)) +
                  x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI),
              1e-9);
}

TEST(DenseModel, PhiloxNormalsAreStandardAndAddressable) {
  // 2^18 draws: mean within 5 sd (1/sqrt(n)), variance within 5 sd (sqrt(2/n)); element i drawn
  // alone equals lane i % 4 of block i / 4; streams and layers differ.
  using actgrad::detail::DenseStream;
  constexpr int n = 1 << 18;
  double s1 = 0, s2 = 0;
  for (int b = 0; b < n / 4; ++b) {
    const auto z = actgrad::detail::philox_normal4(99, 3, DenseStream::weight, std::uint64_t(b));
    for (double v : z.v) s1 += v, s2 += v * v;
    EXPECT_EQ(actgrad::detail::philox_normal(99, 3, DenseStream::weight, 4u * b + 2), z.v[2]);
  }
  EXPECT_NEAR(s1 / n, 0.0, 5.0 / std::sqrt(double(n)));
  EXPECT_NEAR(s2 / n, 1.0, 5.0 * std::sqrt(2.0 / n));
  EXPECT_NE(actgrad::detail::philox_normal(99, 3, DenseStream::weight, 0),
            actgrad::detail::philox_normal(99, 3, DenseStream::bias, 0));
  EXPECT_NE(actgrad::detail::philox_normal(99, 3, DenseStream::weight, 0),
            actgrad::detail::philox_normal(99, 4, DenseStream::weight, 0));
}

// --- bad input ---------------------------------------------------------------------------------

template <class F>
void expect_error(F&& f, Error::Kind kind, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "no actgrad::Error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(int(e.kind()), int(kind)) << e.what();
    for (const std::string& frag : fragments)
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)
          << "message '" << e.what() << "' lacks '" << frag << "'";
  }
}

TEST(DenseModel, BadInput) {
  const auto run = [](DecayConfig c) { return [c] { actgrad::simulate_dense(c, {}); }; };
  const Error::Kind bad = Error::Kind::invalid_argument;
  const DecayConfig ok = dense("tanh", 16, 4, 3, 1.0, 0.0);
  DecayConfig c = ok;
  for (std::int64_t w : {0, -1}) {
    c = ok;
    c.width = w;
    expect_error(run(c), bad, {"width", std::to_string(w)});
    expect_error([c] { actgrad::dense_memory_bytes(c); }, bad, {"width"});
  }
  c = ok;
  c.batch = -3;
  expect_error(run(c), bad, {"batch", "-3"});
  for (std::int64_t d : {0, -2}) {
    c = ok;
    c.depth = d;
    expect_error(run(c), bad, {"depth"});
  }
  c = ok;
  c.sigma_w2 = -1;
  expect_error(run(c), bad, {"sigma_w2", ">= 0"});
  c = ok;
  c.sigma_b2 = -0.5;
  expect_error(run(c), bad, {"sigma_b2"});
  c = ok;
  c.sigma_b2 = std::nan("");
  expect_error(run(c), bad, {"sigma_b2"});
  c = ok;
  c.dtype = DType::f16;
  expect_error(run(c), bad, {"dtype", "f32 or f64"});
  c = ok;
  c.act = Activation::parse("glu");
  expect_error(run(c), bad, {"glu", "unary"});
  c = ok;
  c.device = actgrad::Device::cuda();
  if (!actgrad::Device::cuda_available()) expect_error(run(c), Error::Kind::unavailable, {"cuda"});
}

TEST(DenseModel, BeyondTheMachine) {
  // 2^20 x 2^20 activations of f32 are 4 TiB per array.
  const DecayConfig c = dense("tanh", std::int64_t(1) << 20, std::int64_t(1) << 20, 4, 1.0, 0.0);
  const std::uint64_t need = actgrad::dense_memory_bytes(c);
  EXPECT_GT(need, std::uint64_t(1) << 44);
  expect_error([c] { actgrad::simulate_dense(c, {}); }, Error::Kind::invalid_argument,
               {std::to_string(need) + " bytes", "available"});
}

} // namespace

namespace {

// The DKS-transformed activation of `actgrad shape` (issue 16) runs in the dense model: with
// Q(1) = 1 and Q'(1) = 1 the pre-activation variance stays near 1, and the net's gradient grows
// by the chosen zeta overall, where the plain tanh net at sigma_w2 = 1 lets it vanish.
TEST(DenseModel, DksTransformedTanhKeepsItsPromise) {
  const std::int64_t L = 40, width = 1024, batch = 64;
  actgrad::NetworkShape mlp;
  mlp.depth = L;
  const double zeta = 1.5;
  DecayConfig c = dense("tanh", width, batch, L, 1.0, 0.0);
  c.transform = actgrad::dks_transform(Activation::parse("tanh"), mlp, zeta);
  const std::vector<LayerStats> r = actgrad::simulate_decay(c, {});
  // Tolerances from finite size: one layer's q = tr(W^T W A) / (width batch) has relative noise
  // ~ sqrt(2 / (width batch)) = 0.0055, and with Q'(1) = 1 nothing pulls q back, so after l
  // layers its spread is ~ 0.0055 sqrt(l) <= 0.035; 0.12 is over 3 of those. The gradient's
  // log10 growth carries a like spread (0.035 / ln 10 per direction, forward and backward).
  for (const LayerStats& s : r) EXPECT_NEAR(s.q, 1.0, 0.12) << "layer " << s.layer;
  // From layer L back to layer 1 the L - 1 per-layer factors zeta^(1/L) multiply.
  const double growth = r.front().log10_grad_norm2 - r.back().log10_grad_norm2;
  EXPECT_NEAR(growth, (L - 1.0) / L * std::log10(zeta), 0.06);
  // The same net untransformed at sigma_w2 = 1: q collapses and the gradient vanishes.
  const std::vector<LayerStats> plain =
      actgrad::simulate_decay(dense("tanh", width, batch, L, 1.0, 0.0), {});
  EXPECT_LT(plain.back().q, 0.1);
  EXPECT_LT(plain.front().log10_grad_norm2 - plain.back().log10_grad_norm2, -0.5);
}

TEST(DenseModel, IdentityTransformChangesNothingAndScalingIsExact) {
  DecayConfig c = dense("gelu", 32, 8, 6, 1.7, 0.1);
  const std::vector<LayerStats> a = actgrad::simulate_decay(c, {});
  c.transform = actgrad::ActivationTransform{}; // identity
  const std::vector<LayerStats> b = actgrad::simulate_decay(c, {});
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].log10_grad_norm2, b[i].log10_grad_norm2);
    EXPECT_EQ(a[i].q, b[i].q);
  }
  // output_scale 2 doubles phi and phi' after layer 1's pre-activation: in a two-layer net the
  // one backward factor f'(h^1) gains 4, and layer 1's q does not change.
  DecayConfig one = dense("relu", 32, 8, 2, 2.0, 0.0);
  const std::vector<LayerStats> base = actgrad::simulate_decay(one, {});
  one.transform.output_scale = 2.0;
  const std::vector<LayerStats> scaled = actgrad::simulate_decay(one, {});
  EXPECT_EQ(base[0].q, scaled[0].q); // layer 1's pre-activation does not see the transform
  EXPECT_NEAR(scaled[0].log10_grad_norm2 - scaled[1].log10_grad_norm2,
              base[0].log10_grad_norm2 - base[1].log10_grad_norm2 + std::log10(4.0), 1e-5);
  // The chain model: an identity transform changes nothing, and relu's positive homogeneity
  // makes output_scale 2 (zero bias) multiply every path's D by 2 per layer exactly, so the
  // log10 mean D^2 of layer l rises by l log10 4.
  DecayConfig chain = actgrad_test::decay_config(DecayModel::chain, "relu", 6, 512, 2.0, 0.0,
                                                 DType::f64, 1, actgrad::Device::cpu());
  const std::vector<LayerStats> plain_chain = actgrad::simulate_decay(chain, {});
  chain.transform = actgrad::ActivationTransform{};
  const std::vector<LayerStats> same_chain = actgrad::simulate_decay(chain, {});
  chain.transform.output_scale = 2.0;
  const std::vector<LayerStats> scaled_chain = actgrad::simulate_decay(chain, {});
  for (std::size_t i = 0; i < plain_chain.size(); ++i) {
    EXPECT_EQ(same_chain[i].log10_grad_norm2, plain_chain[i].log10_grad_norm2);
    EXPECT_NEAR(scaled_chain[i].log10_grad_norm2,
                plain_chain[i].log10_grad_norm2 + double(i + 1) * std::log10(4.0), 1e-12)
        << "layer " << i + 1;
  }
  c.transform.input_scale = NAN;
  EXPECT_THROW(actgrad::simulate_decay(c, {}), Error);
}

// Orthogonal weights (issue 17): a linear net with W = Q keeps every norm, so the backward
// gradient and q are the same at every layer to rounding (f64: ~L 1e-16 relative), where
// Gaussian weights change them by ~1/sqrt(width batch) per layer. Checkpointing recomputes the
// same orthogonal draws, so it changes no number.
TEST(DenseModel, OrthogonalWeightsPreserveNormsExactly) {
  DecayConfig c = dense("linear", 64, 8, 20, 1.0, 0.0, DType::f64);
  c.init = actgrad::WeightInit::orthogonal;
  const auto rows = actgrad::simulate_decay(c, {});
  for (const LayerStats& r : rows) {
    EXPECT_NEAR(r.log10_grad_norm2, rows.back().log10_grad_norm2, 1e-12) << r.layer;
    EXPECT_NEAR(r.q / rows.front().q, 1.0, 1e-12) << r.layer;
  }
  c.init = actgrad::WeightInit::gaussian;
  const auto g = actgrad::simulate_decay(c, {});
  EXPECT_GT(std::fabs(g.front().log10_grad_norm2 - g.back().log10_grad_norm2), 1e-3);

  c.init = actgrad::WeightInit::orthogonal;
  c.act = Activation::parse("tanh");
  actgrad::detail::DenseOptions opt;
  opt.store_budget = 1; // forces checkpointing
  const auto stored = actgrad::detail::simulate_dense(c, {}, {});
  const auto ckpt = actgrad::detail::simulate_dense(c, {}, opt);
  for (std::size_t i = 0; i < stored.size(); ++i)
    EXPECT_EQ(stored[i].log10_grad_norm2, ckpt[i].log10_grad_norm2) << i;

  c.model = DecayModel::chain; // no weight matrices there
  EXPECT_THROW(actgrad::simulate_decay(c, {}), Error);
}

} // namespace
