// Initialisation from mean-field theory (include/actgrad/shaping.hpp) and `actgrad shape`: the
// gain against calculate_gain's closed forms and an independent quadrature, the critical points
// against the mean-field code the phase diagram uses, and refusals.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <vector>
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

// --- DKS and TAT --------------------------------------------------------------------------

// The DKS reference implementation's parameter test (google-deepmind/dks,
// tests/test_activation_transform.py): a ResNet-101-like net (stages of 3, 4, 23, 3 blocks,
// shortcut weight 0.6, three nonlinear layers per branch), DKS zeta = 1.2, TAT tau = 0.2 and
// eta = 0.75. Its "gelu" is the tanh approximation (our gelu_tanh) and its "gelu_exact" our gelu.
// Checked as the reference checks itself: |ours - theirs| < 1.5e-7 (assert_almost_equal, 7
// decimals).
actgrad::NetworkShape reference_resnet() {
  actgrad::NetworkShape net;
  net.resnet_blocks = {3, 4, 23, 3};
  net.shortcut_weight = 0.6;
  net.branch_depth = 3;
  return net;
}

void expect_transform(const actgrad::ActivationTransform& t, double a, double b, double d, double g,
                      const std::string& what, double tol = 1.5e-7) {
  EXPECT_NEAR(t.input_scale, a, tol) << what;
  EXPECT_NEAR(t.input_shift, b, tol) << what;
  EXPECT_NEAR(t.output_shift, d, tol) << what;
  EXPECT_NEAR(t.output_scale, g, tol) << what;
}

TEST(Dks, ReferenceParameterTest) {
  const actgrad::NetworkShape net = reference_resnet();
  auto dks = [&](const char* spec) {
    return actgrad::dks_transform(Activation::parse(spec), net, 1.2);
  };
  expect_transform(dks("softplus"), 0.18761008168267976, 0.40688063442262007, -0.9213466151411376,
                   8.878672543665223, "softplus");
  expect_transform(dks("tanh"), 0.07461073057540868, 0.5566915199964182, -0.5034378768692127,
                   18.002635964442558, "tanh");
  expect_transform(dks("gelu_tanh"), 0.07036271496383567, 0.2586837248593587, -0.15758328114374964,
                   20.249573305194307, "gelu (tanh approximation)");
  expect_transform(dks("gelu"), 0.07043253126531114, 0.259489297927707, -0.15815378961903598,
                   20.21158902315857, "gelu_exact");
  const actgrad::ActivationTransform lr = dks("leaky_relu");
  EXPECT_NEAR(lr.negative_slope, 0.8761257073473065, 1.5e-7);
  expect_transform(lr, 1.0, -6.372924855154692e-13, -0.049418692997275034, 1.0651832705682147,
                   "leaky_relu");
  // relu: the reference's numbers carry its quadrature's error on relu's step-shaped f'^2 (a
  // 100000-point Gauss-Legendre rule on [-10, 10] puts ~1e-5 on a step away from a node):
  // input_scale 0.3685360046708044 and output_scale 2.721729988761473, where the exact
  // integrals (Gauss-Kronrod split at the kink, as here) give 0.3685436 and 2.7216751. The
  // output_shift, a smooth integral, agrees to 1e-7.
  const actgrad::ActivationTransform r = dks("relu");
  EXPECT_EQ(r.input_shift, 1.0);
  EXPECT_NEAR(r.input_scale, 0.3685360046708044, 1e-5);
  EXPECT_NEAR(r.output_shift, -1.000373858553784, 1.5e-7);
  EXPECT_NEAR(r.output_scale, 2.721729988761473, 1e-4);
}

TEST(Tat, ReferenceParameterTest) {
  const actgrad::NetworkShape net = reference_resnet();
  auto tat = [&](const char* spec) {
    return actgrad::tat_transform(Activation::parse(spec), net, 0.2, 0.75);
  };
  expect_transform(tat("softplus"), 0.15011489794748328, 0.5374599901127068, -0.996481014465811,
                   10.54880187880574, "softplus");
  // tanh's mirror pair: the reference reports the positive input_shift here, as we always do.
  expect_transform(tat("tanh"), 0.0580205218578313, 0.5218639804099805, -0.4796430704354356,
                   22.36066261763117, "tanh");
  const actgrad::ActivationTransform lr = tat("leaky_relu");
  EXPECT_NEAR(lr.output_scale, 1.196996549778802, 1.5e-7);
  EXPECT_NEAR(lr.negative_slope, 0.6291800290346146, 1.5e-7);
}

TEST(DksTat, PlainMlpOfDepth100) {
  // The reference run on a chain of 100 nonlinear layers (DKS zeta = 1.5, TAT tau = 0.3,
  // eta = 0.9), computed with the reference code (dks 0.1.2) for this test.
  actgrad::NetworkShape mlp;
  mlp.depth = 100;
  expect_transform(actgrad::dks_transform(Activation::parse("tanh"), mlp, 1.5), 0.09043794488904135,
                   0.5601066908545733, -0.5050043766915877, 14.90252581282328, "tanh dks");
  expect_transform(actgrad::tat_transform(Activation::parse("softplus"), mlp, 0.3),
                   0.14912473982518515, 0.537425584076225, -0.9964733447980851, 10.61903876170063,
                   "softplus tat");
  expect_transform(actgrad::tat_transform(Activation::parse("gelu"), mlp, 0.3),
                   0.057671665567451576, 0.3270488137340762, -0.2049561360619354, 23.0519464217461,
                   "gelu (exact) tat");
  const actgrad::ActivationTransform lr =
      actgrad::tat_transform(Activation::parse("leaky_relu"), mlp, 0.3, 0.9);
  EXPECT_NEAR(lr.negative_slope, 0.5704395323991776, 1.5e-7);
  EXPECT_NEAR(lr.output_scale, 1.2284042441106242, 1.5e-7);
}

TEST(DksTat, TransformedActivationMeetsTheConditions) {
  // Independent of the reference: the DKS conditions checked by the Simpson rule above.
  actgrad::NetworkShape mlp;
  mlp.depth = 20;
  const actgrad::ActivationTransform t =
      actgrad::dks_transform(Activation::parse("softplus"), mlp, 1.5);
  auto phi = [&](double z) {
    return t.output_scale *
           (std::log1p(std::exp(t.input_scale * z + t.input_shift)) + t.output_shift);
  };
  auto dphi = [&](double z) {
    return t.output_scale * t.input_scale / (1 + std::exp(-(t.input_scale * z + t.input_shift)));
  };
  EXPECT_NEAR(simpson_gauss([&](double z) { return phi(z) * phi(z); }), 1.0, 1e-9);      // Q(1)
  EXPECT_NEAR(simpson_gauss([&](double z) { return phi(z); }), 0.0, 1e-9);               // C(0)
  EXPECT_NEAR(simpson_gauss([&](double z) { return phi(z) * dphi(z) * z; }), 1.0, 1e-9); // Q'
  const double local_slope = simpson_gauss([&](double z) { return dphi(z) * dphi(z); });
  EXPECT_NEAR(std::pow(local_slope, 20), 1.5, 1e-6); // the net's slope: zeta
}

TEST(DksTat, Refusals) {
  actgrad::NetworkShape mlp;
  mlp.depth = 10;
  EXPECT_THROW(actgrad::dks_transform(Activation::parse("tanh"), mlp, 1.0), actgrad::Error);
  EXPECT_THROW(actgrad::tat_transform(Activation::parse("tanh"), mlp, 0.0), actgrad::Error);
  EXPECT_THROW(actgrad::tat_transform(Activation::parse("leaky_relu"), mlp, 0.3, 1.0),
               actgrad::Error);
  EXPECT_THROW(actgrad::tat_transform(Activation::parse("relu"), mlp), actgrad::Error);
  EXPECT_THROW(actgrad::dks_transform(Activation::parse("swiglu"), mlp), actgrad::Error);
  EXPECT_THROW(actgrad::dks_transform(Activation::parse("sqrt"), mlp), actgrad::Error);
  mlp.depth = 0;
  EXPECT_THROW(actgrad::dks_transform(Activation::parse("tanh"), mlp), actgrad::Error);
}

TEST(DksTat, EveryCatalogueEntryAnswersOrRefuses) {
  // Every method on every unary entry returns finite numbers or throws actgrad::Error with a
  // reason, never NaN, a crash or an endless search. ACTGRAD_QUICK (the sanitizer pass) takes
  // every fourth entry.
  const char* quick = std::getenv("ACTGRAD_QUICK");
  const int stride = quick && std::string(quick) == "1" ? 4 : 1;
  actgrad::NetworkShape mlp;
  mlp.depth = 20;
  int i = 0, answered = 0;
  for (const actgrad::ActId id : actgrad::catalogue()) {
    const Activation act(id);
    if (act.is_gated() || i++ % stride) continue;
    const std::function<std::vector<double>()> methods[] = {
        [&] { return std::vector<double>{actgrad::variance_gain(act)}; },
        [&] {
          const CriticalPoint c = actgrad::critical_point_at_q_star(act, 1.0);
          return std::vector<double>{c.sigma_w2, c.sigma_b2, c.chi1};
        },
        [&] {
          const CriticalPoint c = actgrad::critical_point_at_sigma_b2(act, 0.05);
          return std::vector<double>{c.sigma_w2, c.q_star, c.chi1};
        },
        [&] {
          const auto t = actgrad::dks_transform(act, mlp);
          return std::vector<double>{t.input_scale, t.input_shift, t.output_shift, t.output_scale};
        },
        [&] {
          const auto t = actgrad::tat_transform(act, mlp);
          return std::vector<double>{t.input_scale, t.input_shift, t.output_shift, t.output_scale};
        }};
    for (const auto& m : methods) {
      try {
        for (const double v : m()) EXPECT_TRUE(std::isfinite(v)) << act.to_string();
        ++answered;
      } catch (const actgrad::Error& e) {
        EXPECT_EQ(e.kind(), actgrad::Error::Kind::invalid_argument) << e.what();
        EXPECT_NE(std::string(e.what()).find(act.to_string()), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_GT(answered, 0);
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
  expect_usage_error(run_cli({"shape", "tanh", "--method", "dks"}, ""), {"--depth"});
  expect_usage_error(
      run_cli({"shape", "tanh", "--method", "dks", "--depth", "5", "--zeta", "1"}, ""), {"--zeta"});
  expect_usage_error(
      run_cli({"shape", "tanh", "--method", "tat", "--depth", "5", "--tau", "0"}, ""), {"--tau"});
  expect_usage_error(
      run_cli({"shape", "leaky_relu", "--method", "tat", "--depth", "5", "--eta", "1"}, ""),
      {"--eta"});
  expect_usage_error(run_cli({"shape", "relu", "--method", "tat", "--depth", "5"}, ""), {"ACT"});
  expect_usage_error(run_cli({"shape", "tanh", "--method", "dks", "--resnet", "3,x"}, ""),
                     {"--resnet"});
  expect_usage_error(run_cli({"shape", "tanh", "--method", "gain", "--depth", "3"}, ""),
                     {"--depth"});
}

TEST(CliShape, DksAsJson) {
  const auto r = run_cli({"shape", "tanh", "--method", "dks", "--resnet", "3,4,23,3", "--zeta",
                          "1.2", "--format", "json"},
                         "");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["method"], "dks");
  EXPECT_NEAR(j["input_scale"].get<double>(), 0.07461073057540868, 1.5e-7);
  EXPECT_NEAR(j["output_scale"].get<double>(), 18.002635964442558, 1.5e-7);
  EXPECT_FALSE(j.contains("depth")); // a resnet: no single depth
  EXPECT_FALSE(j.contains("negative_slope"));
}

TEST(CliShape, ShapePrintsADecayCommandThatRuns) {
  const auto r = run_cli({"shape", "tanh", "--method", "dks", "--depth", "5"}, "");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::size_t at = r.out.find("--transform ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string tr = r.out.substr(at + 12, r.out.find(' ', at + 12) - at - 12);
  const auto d = run_cli({"decay", "tanh", "--model", "dense", "--depth", "5", "--width", "16",
                          "--batch", "4", "--device", "cpu", "--transform", tr},
                         "");
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(std::count(d.out.begin(), d.out.end(), '\n'), 6); // header + 5 layers
  const auto chain = run_cli(
      {"decay", "tanh", "--model", "chain", "--depth", "3", "--batch", "64", "--transform", tr},
      "");
  EXPECT_EQ(chain.status, 0) << chain.err;
  EXPECT_EQ(std::count(chain.out.begin(), chain.out.end(), '\n'), 4);
  expect_usage_error(
      run_cli({"decay", "tanh", "--model", "dense", "--depth", "3", "--transform", "1,0,0"}, ""),
      {"--transform"});
  expect_usage_error(run_cli({"decay", "tanh", "--model", "dense", "--depth", "3", "--transform",
                              "1,0,0,2", "--summary"},
                             ""),
                     {"--transform", "--summary"});
}

} // namespace
