// Finite-width statistics over independent dense networks (issue 17): digamma/trigamma, the exact
// rectifier law of ln(|x^L|^2/|x^0|^2) against a Monte Carlo of its own formula and Hanin's
// asymptote, simulate_networks against the law and a plain reference, and `actgrad decay
// --networks`.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actgrad/decay.hpp"
#include "actgrad/detail/philox_normal.hpp"
#include "actgrad/error.hpp"
#include "actgrad/scalar.hpp"
#ifdef ACTGRAD_CLI_PATH
#include "cli_run.hpp"
#endif

namespace {

using actgrad::Activation;
using actgrad::DecayConfig;
using actgrad::DecayModel;
using actgrad::DType;
using actgrad::Error;
using actgrad::NetworkStats;
using actgrad::detail::DenseStream;
using actgrad::detail::network_stream;
using actgrad::detail::philox_normal;

constexpr double kEulerGamma = 0.57721566490153286061;

// Mean, unbiased variance and the standard errors of both: se_mean = sqrt(var / m) and, from the
// 4th central moment m4, se_var = sqrt((m4 - var^2 (m - 3) / (m - 1)) / m) (the sampling variance
// of the sample variance; no normality assumed).
struct Moments {
  double mean, var, se_mean, se_var;
};
Moments moments(const std::vector<double>& v) {
  const double m = double(v.size());
  double mean = 0;
  for (double x : v) mean += x;
  mean /= m;
  double s2 = 0, s4 = 0;
  for (double x : v) {
    const double d = (x - mean) * (x - mean);
    s2 += d, s4 += d * d;
  }
  const double var = s2 / (m - 1), m4 = s4 / m;
  return {mean, var, std::sqrt(var / m), std::sqrt((m4 - var * var * (m - 3) / (m - 1)) / m)};
}

DecayConfig dense(const char* act, std::int64_t width, std::int64_t depth, double s, double t,
                  DType dtype = DType::f32, std::uint64_t seed = 2024) {
  DecayConfig c;
  c.act = Activation::parse(act);
  c.model = DecayModel::dense;
  c.width = width;
  c.depth = depth;
  c.sigma_w2 = s;
  c.sigma_b2 = t;
  c.dtype = dtype;
  c.seed = seed;
  c.device = actgrad::Device::cpu();
  return c;
}

// --- digamma and trigamma -------------------------------------------------------------------

TEST(SpecialFunctions, KnownValuesAndRecurrence) {
  // Closed forms: psi(1) = -gamma, psi(1/2) = -gamma - 2 ln 2, psi'(1) = pi^2/6,
  // psi'(1/2) = pi^2/2. Tolerance 1e-13: the series is used at x >= 10, where its first
  // omitted term is below 1e-14 x^-14 ~ 1e-28, so what is left is the rounding of the ~10-step
  // recurrence (~10 ulp of values of order 1-10, i.e. ~1e-14).
  EXPECT_NEAR(actgrad::digamma(1.0), -kEulerGamma, 1e-13);
  EXPECT_NEAR(actgrad::digamma(0.5), -kEulerGamma - 2 * std::log(2.0), 1e-13);
  EXPECT_NEAR(actgrad::trigamma(1.0), M_PI * M_PI / 6, 1e-13);
  EXPECT_NEAR(actgrad::trigamma(0.5), M_PI * M_PI / 2, 1e-13);
  // psi(x + 1) = psi(x) + 1/x and psi'(x + 1) = psi'(x) - 1/x^2, across the x = 10 switch from
  // recurrence to series (9.5 -> 10.5) and far into the series (123.25).
  for (double x : {0.3, 3.7, 9.5, 123.25}) {
    EXPECT_NEAR(actgrad::digamma(x + 1), actgrad::digamma(x) + 1 / x, 1e-13) << x;
    EXPECT_NEAR(actgrad::trigamma(x + 1), actgrad::trigamma(x) - 1 / (x * x), 1e-13) << x;
  }
  EXPECT_TRUE(std::isnan(actgrad::digamma(0.0)));
  EXPECT_TRUE(std::isnan(actgrad::trigamma(-1.0)));
}

// --- the rectifier law ----------------------------------------------------------------------

// ln of one layer's ratio (S/n) sum_i g_i^2 s_i^2 drawn directly: g ~ N(0,1) from <random>,
// s_i = 1 for g_i > 0 else a. For relu (a = 0) a draw with no positive g (ratio 0) is skipped:
// the law is conditioned on K >= 1.
std::vector<double> layer_draws(double a, double S, int n, int m, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> z;
  std::vector<double> out;
  out.reserve(std::size_t(m));
  while (int(out.size()) < m) {
    double r = 0;
    for (int i = 0; i < n; ++i) {
      const double g = z(gen);
      r += g > 0 ? g * g : a * a * g * g;
    }
    if (r > 0) out.push_back(std::log(S / n * r));
  }
  return out;
}

// The law's one-layer mean and variance against 200 000 direct draws of the formula, at widths
// small enough that the law is far from normal. 4 standard errors (se from the draws' own
// moments, above): a false alarm has probability ~6e-5 per comparison.
TEST(RectifierLaw, MatchesMonteCarloOfTheLayerFormula) {
  struct Case {
    double a, S;
    int n;
  };
  std::uint64_t seed = 11;
  for (const Case c : {Case{0.0, 2.0, 1}, Case{0.0, 2.0, 3}, Case{0.0, 1.3, 8}, Case{0.2, 2.0, 5},
                       Case{-0.5, 1.0, 8}, Case{0.05, 1.0, 2}}) {
    const Moments mc = moments(layer_draws(c.a, c.S, c.n, 200000, seed++));
    const actgrad::LogRatioLaw law = actgrad::rectifier_log_ratio_law(c.a, c.S, c.n, 1);
    EXPECT_NEAR(law.mean, mc.mean, 4 * mc.se_mean) << "a " << c.a << " n " << c.n;
    EXPECT_NEAR(law.variance, mc.var, 4 * mc.se_var) << "a " << c.a << " n " << c.n;
    // Depth multiplies both (independent layers).
    const actgrad::LogRatioLaw deep = actgrad::rectifier_log_ratio_law(c.a, c.S, c.n, 7);
    EXPECT_NEAR(deep.mean, 7 * law.mean, 1e-12 * (1 + std::fabs(deep.mean)));
    EXPECT_NEAR(deep.variance, 7 * law.variance, 1e-12 * deep.variance);
  }
}

// Hanin's asymptote (S = 2): mean -beta/2, variance beta with beta = 5/n per layer. The exact law
// differs from it by O(1/n^2), i.e. by a relative O(1/n): its relative error must be small and
// shrink by a factor 4 (to O(1/n), so within [3.5, 4.5] at these widths) when n grows 4-fold.
TEST(RectifierLaw, ApproachesFiveOverWidth) {
  double prev_m = 0, prev_v = 0;
  for (std::int64_t n : {1024, 4096}) {
    const actgrad::LogRatioLaw law = actgrad::rectifier_log_ratio_law(0.0, 2.0, n, 1);
    const actgrad::LogRatioLaw asym = actgrad::relu_log_ratio_asymptote(2.0, n, 1);
    EXPECT_DOUBLE_EQ(asym.variance, 5.0 / double(n));
    const double em = std::fabs(law.mean / asym.mean - 1),
                 ev = std::fabs(law.variance / asym.variance - 1);
    // A relative O(1/n): below 10/n, with room for the next order's constant (a few /n).
    EXPECT_LT(em, 10.0 / double(n)) << n;
    EXPECT_LT(ev, 10.0 / double(n)) << n;
    if (prev_m > 0) {
      EXPECT_GT(prev_m / em, 3.5);
      EXPECT_LT(prev_m / em, 4.5);
      EXPECT_GT(prev_v / ev, 3.5);
      EXPECT_LT(prev_v / ev, 4.5);
    }
    prev_m = em, prev_v = ev;
  }
}

TEST(RectifierLaw, BadInput) {
  EXPECT_THROW(actgrad::rectifier_log_ratio_law(0.0, 2.0, 0, 1), Error);
  EXPECT_THROW(actgrad::rectifier_log_ratio_law(0.0, 2.0, 4, 0), Error);
  EXPECT_THROW(actgrad::rectifier_log_ratio_law(0.0, 0.0, 4, 1), Error);
  EXPECT_THROW(actgrad::rectifier_log_ratio_law(NAN, 2.0, 4, 1), Error);
}

// --- simulate_networks against the law ------------------------------------------------------

// K = 2000 networks of width 64 and depth 16: the measured mean and variance of ln forward ratio
// within 3 standard errors of the exact law (se from the sample's own moments, above; the law
// is exact here, so only sampling error remains: f32 rounding adds ~1e-6 per layer, far below
// se_mean ~ 0.025). The gradient follows the same law only asymptotically; its mean must still
// sit within 3 se plus the law's O(1/n) scale (depth / n = 0.25) of it.
void check_against_law(const char* act, double S) {
  const std::int64_t K = 2000, n = 64, L = 16;
  const NetworkStats r = actgrad::simulate_networks(dense(act, n, L, S, 0.0), K);
  ASSERT_EQ(r.log_forward_ratio.size(), std::size_t(K));
  const Moments f = moments(r.log_forward_ratio);
  const actgrad::LogRatioLaw law = r.forward.theory.law;
  ASSERT_TRUE(r.forward.theory.law_exact);
  EXPECT_NEAR(f.mean, law.mean, 3 * f.se_mean) << act;
  EXPECT_NEAR(f.var, law.variance, 3 * f.se_var) << act;
  // The library's own statistics are these moments.
  EXPECT_EQ(r.forward.stats.count, K);
  EXPECT_NEAR(r.forward.stats.mean, f.mean, 1e-12 * std::fabs(f.mean));
  EXPECT_NEAR(r.forward.stats.variance, f.var, 1e-10 * f.var);
  EXPECT_NEAR(r.forward.c_phi, double(n) * f.var / double(L), 1e-10 * f.var);
  EXPECT_LE(r.forward.stats.q05, r.forward.stats.q25);
  EXPECT_LE(r.forward.stats.q25, r.forward.stats.q50);
  EXPECT_LE(r.forward.stats.q50, r.forward.stats.q75);
  EXPECT_LE(r.forward.stats.q75, r.forward.stats.q95);
  const Moments g = moments(r.log_grad_ratio);
  EXPECT_NEAR(g.mean, law.mean, 3 * g.se_mean + double(L) / double(n)) << act;
  EXPECT_EQ(r.grad.theory.law.mean, law.mean);
  EXPECT_FALSE(r.grad.theory.law_exact);
}

TEST(Networks, ReluFollowsTheExactLaw) { check_against_law("relu", 2.0); }
TEST(Networks, LeakyReluFollowsTheExactLaw) {
  // The critical S = 2 / (1 + a^2) for a = 0.2.
  check_against_law("leaky_relu:negative_slope=0.2", 2.0 / 1.04);
}

// The mean-field value is the log of the MEAN ratio: for relu with Gaussian weights E[ratio] =
// (S/2)^L exactly, so mean-field ln = L ln(S/2); the mean of the log is smaller (Jensen), by
// about beta/2 = 2.5 L / n here. The measured mean log sits below it by many standard errors,
// while ln(mean of the ratios) agrees with it within 3 standard errors of that sample mean.
TEST(Networks, MeanFieldIsTheLogOfTheMean) {
  const std::int64_t K = 2000, n = 32, L = 8;
  const double S = 1.7;
  const NetworkStats r = actgrad::simulate_networks(dense("relu", n, L, S, 0.0), K);
  const double mf = r.forward.theory.mean_field_log_mean;
  EXPECT_NEAR(mf, double(L) * std::log(S / 2), 1e-9);
  EXPECT_NEAR(r.grad.theory.mean_field_log_mean, double(L) * std::log(S / 2), 1e-9);
  EXPECT_LT(r.forward.theory.law.mean, mf);
  EXPECT_LT(r.forward.stats.mean + 5 * r.forward.stats.se_mean, mf);
  std::vector<double> ratio;
  for (double x : r.log_forward_ratio) ratio.push_back(std::exp(x - mf));
  const Moments m = moments(ratio); // E = 1 exactly
  EXPECT_NEAR(m.mean, 1.0, 3 * m.se_mean);
}

// Smooth activations, bias and orthogonal weights: no law (nan), the mean-field value and c_phi
// still reported; the forward pass without rescaling stays finite.
TEST(Networks, NoLawWhereItDoesNotApply) {
  DecayConfig c = dense("tanh", 32, 6, 1.5, 0.1);
  NetworkStats r = actgrad::simulate_networks(c, 50);
  EXPECT_TRUE(std::isnan(r.forward.theory.law.mean));
  EXPECT_TRUE(std::isfinite(r.forward.theory.mean_field_log_mean));
  EXPECT_TRUE(std::isfinite(r.forward.c_phi));
  EXPECT_EQ(r.forward.stats.count, 50);
  c = dense("relu", 32, 6, 2.0, 0.0);
  c.init = actgrad::WeightInit::orthogonal;
  r = actgrad::simulate_networks(c, 20);
  EXPECT_TRUE(std::isnan(r.forward.theory.law.variance));
  EXPECT_EQ(r.forward.stats.count, 20);
  // sqrt(S) Q keeps |W x|^2 = S |x|^2 exactly, so a relu layer's ratio is S * (fraction of |h|^2
  // on positive units) <= S: the log ratio is at most L ln S.
  for (double x : r.log_forward_ratio) EXPECT_LE(x, 6 * std::log(2.0) + 1e-5);
}

// --- determinism and the draws --------------------------------------------------------------

// Network k computed with plain loops in double from philox_normal (column-major W, element
// (i, j) at j n + i): ln forward ratio, ln |J^T v|^2, and for k = 0 what a single run of batch 1
// reports at layer 1 (q^1 = |h^1|^2 / n; log10 |delta^1|^2 / n with delta^L = the raw readout,
// not multiplied by phi'(h^L)).
struct Reference {
  double fwd, grad, q1, log10_g1;
};
Reference reference(const DecayConfig& c, std::uint32_t k) {
  const auto n = std::size_t(c.width), L = std::size_t(c.depth);
  const auto st = [&](DenseStream s) { return network_stream(s, k); };
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = philox_normal(c.seed, 0, st(DenseStream::input), i);
  double x0 = 0;
  for (double v : x) x0 += v * v;
  std::vector<std::vector<double>> W(L + 1), D(L + 1);
  double q1 = 0;
  for (std::size_t l = 1; l <= L; ++l) {
    W[l].resize(n * n);
    for (std::size_t e = 0; e < n * n; ++e)
      W[l][e] = std::sqrt(c.sigma_w2 / double(n)) *
                philox_normal(c.seed, std::uint32_t(l), st(DenseStream::weight), e);
    std::vector<double> h(n);
    for (std::size_t i = 0; i < n; ++i) {
      h[i] =
          std::sqrt(c.sigma_b2) * philox_normal(c.seed, std::uint32_t(l), st(DenseStream::bias), i);
      for (std::size_t j = 0; j < n; ++j) h[i] += W[l][j * n + i] * x[j];
    }
    if (l == 1)
      for (double v : h) q1 += v * v / double(n);
    D[l].resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto e = actgrad::evaluate(c.act, h[i]);
      x[i] = e.y;
      D[l][i] = e.dy;
    }
  }
  double xl = 0;
  for (double v : x) xl += v * v;
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = philox_normal(c.seed, std::uint32_t(L), st(DenseStream::readout), i);
  const auto back = [&](std::vector<double> delta, bool with_dl, std::size_t stop) {
    if (with_dl)
      for (std::size_t i = 0; i < n; ++i) delta[i] *= D[L][i];
    for (std::size_t l = L; l > stop; --l) { // g = W^l^T delta, then delta = D^(l-1) g
      std::vector<double> g(n, 0.0);
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < n; ++i) g[j] += W[l][j * n + i] * delta[i];
      if (l > 1)
        for (std::size_t j = 0; j < n; ++j) g[j] *= D[l - 1][j];
      delta = g;
    }
    double s = 0;
    for (double d : delta) s += d * d;
    return s;
  };
  double v2 = 0;
  for (double u : v) v2 += u * u;
  const double jtv = back(v, true, 0) / v2;
  // The single run: delta^1 = D^1 W^2^T ... D^(L-1) W^L^T v (stop after the W^2 step).
  const double g1 = back(v, false, 1) / double(n);
  return {std::log(xl / x0), std::log(jtv), q1, std::log10(g1)};
}

TEST(Networks, DrawsMatchAPlainReferenceAndTheSingleRun) {
  // f64 throughout: the library and the reference differ only in summation order (~1e-16
  // relative per operation, ~1e-14 over these few hundred operations), so 1e-10 absolute on
  // logs of order 1-10 is a failure only for a wrong draw or a wrong product.
  for (const char* act : {"tanh", "relu"}) {
    const DecayConfig c =
        dense(act, 8, 4, 1.7, std::string(act) == "tanh" ? 0.2 : 0.0, DType::f64, 99);
    const NetworkStats r = actgrad::simulate_networks(c, 3);
    for (std::uint32_t k = 0; k < 3; ++k) {
      const Reference ref = reference(c, k);
      EXPECT_NEAR(r.log_forward_ratio[k], ref.fwd, 1e-10) << act << " network " << k;
      EXPECT_NEAR(r.log_grad_ratio[k], ref.grad, 1e-10) << act << " network " << k;
    }
    // Network 0 draws what the single run draws: its batch-1 rows agree with the reference.
    DecayConfig single = c;
    single.batch = 1;
    const auto rows = actgrad::simulate_decay(single);
    const Reference ref0 = reference(c, 0);
    EXPECT_NEAR(rows[0].q, ref0.q1, 1e-12 * ref0.q1) << act;
    EXPECT_NEAR(rows[0].log10_grad_norm2, ref0.log10_g1, 1e-10) << act;
  }
}

TEST(Networks, SameSeedSameNumbersOtherSeedOthers) {
  const DecayConfig c = dense("gelu", 16, 5, 1.5, 0.05);
  const NetworkStats a = actgrad::simulate_networks(c, 6), b = actgrad::simulate_networks(c, 6);
  EXPECT_EQ(a.log_forward_ratio, b.log_forward_ratio);
  EXPECT_EQ(a.log_grad_ratio, b.log_grad_ratio);
  // A prefix: K = 2 gives networks 0 and 1 of K = 6.
  const NetworkStats p = actgrad::simulate_networks(c, 2);
  EXPECT_EQ(p.log_forward_ratio[1], a.log_forward_ratio[1]);
  DecayConfig o = c;
  o.seed = c.seed + 1;
  const NetworkStats d = actgrad::simulate_networks(o, 6);
  for (std::size_t k = 0; k < 6; ++k) EXPECT_NE(d.log_forward_ratio[k], a.log_forward_ratio[k]);
  // Networks differ from each other.
  EXPECT_NE(a.log_forward_ratio[0], a.log_forward_ratio[1]);
}

TEST(Networks, BadInput) {
  const auto expect_error = [](const DecayConfig& c, std::int64_t k, const char* fragment) {
    try {
      actgrad::simulate_networks(c, k);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(int(e.kind()), int(Error::Kind::invalid_argument));
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  const DecayConfig ok = dense("relu", 8, 3, 2.0, 0.0);
  expect_error(ok, 0, "networks");
  expect_error(ok, -5, "-5");
  expect_error(dense("relu", 100000, 200, 2.0, 0.0), 1000, "1e+12");
  DecayConfig c = ok;
  c.depth = 0;
  expect_error(c, 2, "depth");
  c = ok;
  c.model = DecayModel::chain;
  expect_error(c, 2, "dense");
}

// --- the CLI ----------------------------------------------------------------------------------
#ifdef ACTGRAD_CLI_PATH
using actgrad_test::CliRun;
using actgrad_test::lines;
using actgrad_test::run_cli;

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> v;
  std::istringstream in(line);
  for (std::string f; std::getline(in, f, ',');) v.push_back(f);
  return v;
}

TEST(NetworksCli, RowsSummaryAndTheLibrary) {
  const CliRun r =
      run_cli({"decay", "relu", "--model", "dense", "--width", "16", "--depth", "4", "--networks",
               "30", "--sigma-w2", "2", "--seed", "5", "--device", "cpu", "--summary"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 1u + 30u + 1u + 1u + 2u);
  EXPECT_EQ(ls[0], "network,log_forward_ratio,log_grad_ratio");
  const NetworkStats lib =
      actgrad::simulate_networks(dense("relu", 16, 4, 2.0, 0.0, DType::f32, 5), 30);
  for (std::size_t k = 0; k < 30; ++k) {
    const auto f = fields(ls[k + 1]);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0], std::to_string(k));
    EXPECT_EQ(std::strtod(f[1].c_str(), nullptr), lib.log_forward_ratio[k]);
    EXPECT_EQ(std::strtod(f[2].c_str(), nullptr), lib.log_grad_ratio[k]);
  }
  EXPECT_EQ(ls[31], "");
  EXPECT_EQ(ls[32], "quantity,networks,mean,variance,se_mean,q05,q25,q50,q75,q95,"
                    "mean_field_log_mean,law_mean,law_variance,c_phi");
  const auto fw = fields(ls[33]), gr = fields(ls[34]);
  ASSERT_EQ(fw.size(), 14u);
  ASSERT_EQ(gr.size(), 14u);
  EXPECT_EQ(fw[0], "forward");
  EXPECT_EQ(gr[0], "grad");
  EXPECT_EQ(fw[1], "30");
  EXPECT_EQ(std::strtod(fw[2].c_str(), nullptr), lib.forward.stats.mean);
  EXPECT_EQ(std::strtod(fw[12].c_str(), nullptr), lib.forward.theory.law.variance);
  EXPECT_EQ(std::strtod(gr[13].c_str(), nullptr), lib.grad.c_phi);
}

TEST(NetworksCli, SeveralActivationsAndNan) {
  const CliRun r = run_cli({"decay", "tanh,relu", "--model", "dense", "--width", "8", "--depth",
                            "3", "--networks", "4", "--device", "cpu", "--summary"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 1u + 8u + 1u + 1u + 4u);
  EXPECT_EQ(ls[0], "activation,network,log_forward_ratio,log_grad_ratio");
  EXPECT_EQ(ls[1].rfind("tanh,0,", 0), 0u);
  EXPECT_EQ(ls[5].rfind("relu,0,", 0), 0u);
  EXPECT_EQ(ls[10].rfind("activation,quantity,networks,", 0), 0u);
  const auto tanh_fw = fields(ls[11]);
  ASSERT_EQ(tanh_fw.size(), 15u);
  EXPECT_EQ(tanh_fw[12], "nan");        // no law for tanh
  EXPECT_NE(fields(ls[13])[12], "nan"); // relu has one
}

TEST(NetworksCli, OneNetworkIsTodaysOutput) {
  const std::vector<std::string> base = {"decay",    "relu",    "--model",  "dense",   "--width",
                                         "16",       "--depth", "5",        "--batch", "4",
                                         "--device", "cpu",     "--summary"};
  auto with = base;
  with.insert(with.end(), {"--networks", "1", "--init", "gaussian"});
  const CliRun a = run_cli(base), b = run_cli(with);
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  auto orth = base;
  orth.insert(orth.end(), {"--init", "orthogonal"});
  const CliRun o = run_cli(orth);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out, a.out);
}

TEST(NetworksCli, UsageErrors) {
  using actgrad_test::expect_usage_error;
  const std::vector<std::string> dense_args = {"decay", "relu",    "--model", "dense",    "--depth",
                                               "3",     "--width", "8",       "--device", "cpu"};
  auto a = dense_args;
  a.insert(a.end(), {"--networks", "0"});
  expect_usage_error(run_cli(a), {"--networks"});
  expect_usage_error(
      run_cli({"decay", "relu", "--model", "chain", "--depth", "3", "--networks", "5"}),
      {"--networks"});
  expect_usage_error(
      run_cli({"decay", "relu", "--model", "chain", "--depth", "3", "--init", "orthogonal"}),
      {"--init"});
  a = dense_args;
  a.insert(a.end(), {"--init", "uniform"});
  expect_usage_error(run_cli(a), {"--init"});
  a = dense_args;
  a.insert(a.end(), {"--networks", "3", "--plot", "/tmp/x.png"});
  expect_usage_error(run_cli(a), {"--plot"});
  a = dense_args;
  a.insert(a.end(), {"--networks", "3", "--batch", "2"});
  expect_usage_error(run_cli(a), {"--batch"});
  expect_usage_error(run_cli({"decay", "relu", "--model", "dense", "--depth", "1000", "--width",
                              "1000", "--networks", "100000000", "--device", "cpu"}),
                     {"networks", "1e+12"});
}
#endif

} // namespace
