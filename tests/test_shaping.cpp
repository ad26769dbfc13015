// Initialisation from mean-field theory (include/actgrad/shaping.hpp) and `actgrad shape`: the
// gain against calculate_gain's closed forms and an independent quadrature, the critical points
// against the mean-field code the phase diagram uses, and refusals.
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actgrad/actgrad.hpp"
#include "actgrad/decay.hpp"
#include "actgrad/shaping.hpp"
#include "cli_run.hpp"

namespace {

using actgrad::Activation;
using actgrad::CriticalPoint;

// E[g(z)], z ~ N(0,1), by composite Simpson on [-12, 12] with 24000 panels: independent of the
// library's adaptive Gauss-Kronrod, accurate to ~1e-12 for the smooth integrands used here.
template <class G>
double simpson_gauss(G&& g) {
  const int n = 24000;
  const double a = -12, b = 12, h = (b - a) / n;
  double s = 0;
  for (int i = 0; i <= n; ++i) {
    const double z = a + h * i;
    const double w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
    s += w * g(z) * std::exp(-0.5 * z * z);
  }
  return s * h / 3 / std::sqrt(2 * M_PI);
}

TEST(Gain, ClosedFormsOfCalculateGain) {
  EXPECT_NEAR(actgrad::variance_gain(Activation::parse("relu")), std::sqrt(2.0), 1e-13);
  EXPECT_NEAR(actgrad::variance_gain(Activation::parse("identity")), 1.0, 1e-13);
  EXPECT_NEAR(actgrad::variance_gain(Activation::parse("linear")), 1.0, 1e-13);
  for (double a : {0.01, 0.2, 0.5}) {
    const Activation act = Activation::parse("leaky_relu:negative_slope=" + std::to_string(a));
    EXPECT_NEAR(actgrad::variance_gain(act), std::sqrt(2.0 / (1.0 + a * a)), 1e-13) << a;
  }
  // Kaiming-style fan-in std.
  EXPECT_NEAR(actgrad::fan_in_std(Activation::parse("relu"), 512), std::sqrt(2.0 / 512), 1e-15);
  EXPECT_THROW(actgrad::fan_in_std(Activation::parse("relu"), 0), actgrad::Error);
}

TEST(Gain, SmoothActivationsAgainstAnIndependentQuadrature) {
  struct Case {
    const char* spec;
    double (*f)(double);
  };
  const Case cases[] = {
      {"tanh", [](double x) { return std::tanh(x); }},
      {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }},
      {"gelu", [](double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }},
      {"softplus", [](double x) { return std::log1p(std::exp(x)); }},
      {"mish", [](double x) { return x * std::tanh(std::log1p(std::exp(x))); }},
  };
  for (const Case& c : cases) {
    const double m2 = simpson_gauss([&](double z) { return c.f(z) * c.f(z); });
    EXPECT_NEAR(actgrad::variance_gain(Activation::parse(c.spec)), 1 / std::sqrt(m2),
                1e-10 / std::sqrt(m2))
        << c.spec;
  }
}

TEST(Gain, Refusals) {
  EXPECT_THROW(actgrad::variance_gain(Activation::parse("swiglu")), actgrad::Error);
  EXPECT_THROW(actgrad::variance_gain(Activation::parse("sqrt")), actgrad::Error);
  EXPECT_THROW(actgrad::variance_gain(Activation::parse("log")), actgrad::Error);
}

// A critical point must be a fixed point of the mean-field code's own iteration with chi1 = 1.
void expect_on_the_edge(const Activation& act, const CriticalPoint& c) {
  const actgrad::MeanField mf = actgrad::mean_field(act, c.sigma_w2, c.sigma_b2);
  EXPECT_NEAR(c.chi1, 1.0, 1e-12) << act.to_string();
  EXPECT_NEAR(actgrad::mean_field_qmap(act, c.sigma_w2, c.sigma_b2, c.q_star), c.q_star,
              1e-11 * std::max(1.0, c.q_star))
      << act.to_string();
  EXPECT_NEAR(actgrad::mean_field_chi(act, c.sigma_w2, c.q_star), 1.0, 1e-12) << act.to_string();
  if (c.chi_q < 0.999) { // a stable fixed point: plain iteration finds it too
    EXPECT_NEAR(mf.q_star, c.q_star, 1e-8 * std::max(1.0, c.q_star)) << act.to_string();
    EXPECT_NEAR(mf.chi1, 1.0, 1e-8) << act.to_string();
  }
  EXPECT_TRUE(std::isinf(c.xi_c)) << act.to_string();
}

TEST(Critical, AtAChosenQStarIsOnTheEdge) {
  for (const char* spec : {"tanh", "sigmoid", "gelu", "silu", "elu", "softplus", "mish", "selu"}) {
    const Activation act = Activation::parse(spec);
    for (double q : {0.5, 1.0, 3.0}) {
      CriticalPoint c;
      try {
        c = actgrad::critical_point_at_q_star(act, q);
      } catch (const actgrad::Error& e) {
        // Only allowed where sigma_b2 would be negative, and the message says so.
        EXPECT_NE(std::string(e.what()).find("sigma_b2 = -"), std::string::npos) << e.what();
        continue;
      }
      EXPECT_EQ(c.q_star, q);
      EXPECT_GE(c.sigma_b2, 0.0);
      expect_on_the_edge(act, c);
    }
  }
}

TEST(Critical, AtAChosenSigmaB2IsOnTheEdge) {
  for (const char* spec : {"tanh", "gelu_tanh", "elu", "selu", "softsign"}) {
    const Activation act = Activation::parse(spec);
    for (double t : {0.01, 0.05, 0.3}) {
      const CriticalPoint c = actgrad::critical_point_at_sigma_b2(act, t);
      EXPECT_EQ(c.sigma_b2, t);
      expect_on_the_edge(act, c);
      // and the same point comes back from its q*
      const CriticalPoint back = actgrad::critical_point_at_q_star(act, c.q_star);
      EXPECT_NEAR(back.sigma_w2, c.sigma_w2, 1e-12 * c.sigma_w2) << spec;
      EXPECT_NEAR(back.sigma_b2, t, 1e-10) << spec;
    }
  }
}

TEST(Critical, TanhAtZeroBiasSitsAtTheOrigin) {
  const CriticalPoint c = actgrad::critical_point_at_sigma_b2(Activation::parse("tanh"), 0.0);
  EXPECT_EQ(c.q_star, 0.0);
  EXPECT_NEAR(c.sigma_w2, 1.0, 1e-12);
  EXPECT_NEAR(c.chi1, 1.0, 1e-12);
}

TEST(Critical, AtZeroBiasAgainstThePhaseDiagram) {
  // sigmoid: f(0) = 1/2, so the edge at sigma_b2 = 0 has q* > 0; `actgrad phase` (mean_field on
  // a grid, chi1 interpolated along sigma_w2) puts the crossing at sigma_w2 = 103.0.
  const Activation sig = Activation::parse("sigmoid");
  const CriticalPoint c = actgrad::critical_point_at_sigma_b2(sig, 0.0);
  EXPECT_NEAR(c.sigma_w2, 103.0, 0.05);
  expect_on_the_edge(sig, c);
  // gelu: h(q) = q - E[f^2]/E[f'^2] > 0 for every q > 0, so the only edge point at sigma_b2 = 0
  // is q* = 0 with sigma_w2 = 1 / gelu'(0)^2 = 4.
  const CriticalPoint g = actgrad::critical_point_at_sigma_b2(Activation::parse("gelu"), 0.0);
  EXPECT_EQ(g.q_star, 0.0);
  EXPECT_NEAR(g.sigma_w2, 4.0, 1e-12);
}

TEST(Critical, RectifiersAreScaleFree) {
  for (const char* spec : {"relu", "leaky_relu:negative_slope=0.2"}) {
    const Activation act = Activation::parse(spec);
    const double a = std::string(spec) == "relu" ? 0.0 : 0.2;
    const CriticalPoint c = actgrad::critical_point_at_sigma_b2(act, 0.0);
    EXPECT_NEAR(c.sigma_w2, 2.0 / (1 + a * a), 1e-12) << spec;
    EXPECT_EQ(c.sigma_b2, 0.0);
    const CriticalPoint q = actgrad::critical_point_at_q_star(act, 7.0);
    EXPECT_NEAR(q.sigma_w2, 2.0 / (1 + a * a), 1e-12) << spec;
    EXPECT_EQ(q.sigma_b2, 0.0) << spec;
    try {
      actgrad::critical_point_at_sigma_b2(act, 0.5);
      ADD_FAILURE() << spec << " has no critical point at sigma_b2 > 0";
    } catch (const actgrad::Error& e) {
      EXPECT_NE(std::string(e.what()).find("no critical point"), std::string::npos) << e.what();
    }
  }
}

TEST(Critical, PyTorchsTanhDefaultIsChaotic) {
  // The reading of torch's default: tanh with gain 5/3 and zero bias sits at
  // q* ~ 1.18 with chi1 ~ 1.21 (chaotic), while the edge at sigma_b2 = 0 is sigma_w2 = 1.
  const actgrad::MeanField mf = actgrad::mean_field(Activation::parse("tanh"), 25.0 / 9.0, 0.0);
  EXPECT_NEAR(mf.q_star, 1.18, 0.01);
  EXPECT_NEAR(mf.chi1, 1.21, 0.01);
}

TEST(Critical, Refusals) {
  EXPECT_THROW(actgrad::critical_point_at_q_star(Activation::parse("glu"), 1), actgrad::Error);
  EXPECT_THROW(actgrad::critical_point_at_q_star(Activation::parse("tanh"), 0), actgrad::Error);
  EXPECT_THROW(actgrad::critical_point_at_q_star(Activation::parse("tanh"), NAN), actgrad::Error);
  EXPECT_THROW(actgrad::critical_point_at_sigma_b2(Activation::parse("tanh"), -1), actgrad::Error);
  // sigmoid is not zero at 0: at small q* the edge needs a negative bias variance.
  EXPECT_THROW(actgrad::critical_point_at_q_star(Activation::parse("sigmoid"), 0.01),
               actgrad::Error);
}

// --- the CLI ------------------------------------------------------------------------------

using actgrad_test::expect_usage_error;
using actgrad_test::run_cli;

TEST(CliShape, GainAndCriticalAsJson) {
  auto r = run_cli({"shape", "relu", "--method", "gain", "--format", "json"}, "");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["activation"], "relu");
  EXPECT_EQ(j["method"], "gain");
  EXPECT_NEAR(j["gain"].get<double>(), std::sqrt(2.0), 1e-12);
  EXPECT_FALSE(j.contains("sigma_w2"));

  r = run_cli({"shape", "tanh", "--method", "critical", "--sigma-b2", "0.05", "--format", "json"},
              "");
  ASSERT_EQ(r.status, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  const CriticalPoint c = actgrad::critical_point_at_sigma_b2(Activation::parse("tanh"), 0.05);
  for (const char* k : {"sigma_w2", "sigma_b2", "q_star", "chi1", "xi_q"})
    EXPECT_NEAR(j[k].get<double>(),
                k == std::string("sigma_w2")   ? c.sigma_w2
                : k == std::string("sigma_b2") ? c.sigma_b2
                : k == std::string("q_star")   ? c.q_star
                : k == std::string("chi1")     ? c.chi1
                                               : c.xi_q,
                1e-12)
        << k;
  EXPECT_EQ(j["xi_c"], "inf");
  EXPECT_FALSE(j.contains("gain"));

  r = run_cli({"shape", "elu"}, ""); // default: gain, table
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("gain"), std::string::npos);
}

TEST(CliShape, BadInputExitsTwoWithOneLine) {
  expect_usage_error(run_cli({"shape", "relu", "--method", "critical", "--sigma-b2", "0.5"}, ""),
                     {"--sigma-b2", "no critical point"});
  expect_usage_error(run_cli({"shape", "sigmoid", "--method", "critical", "--q-star", "0.01"}, ""),
                     {"--q-star", "sigma_b2"});
  expect_usage_error(run_cli({"shape", "tanh", "--method", "fancy"}, ""), {"--method"});
  expect_usage_error(run_cli({"shape", "swiglu"}, ""), {"gated"});
  expect_usage_error(run_cli({"shape", "sqrt"}, ""), {"ACT"});
  expect_usage_error(run_cli({"shape", "tanh", "--method", "critical", "--q-star", "-1"}, ""),
                     {"--q-star"});
  expect_usage_error(
      run_cli({"shape", "tanh", "--method", "critical", "--q-star", "1", "--sigma-b2", "0"}, ""),
      {"--q-star", "--sigma-b2"});
  expect_usage_error(run_cli({"shape", "tanh", "--q-star", "1"}, ""), {"--q-star"});
}

} // namespace
