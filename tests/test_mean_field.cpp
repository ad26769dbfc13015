// Mean-field theory tests: closed forms (relu, hardtanh, identity), the q-map against an
// independent long-double trapezoid quadrature for tanh and sigmoid, fixed points and criticality.
#include <cmath>
#include <functional>

#include <gtest/gtest.h>

#include "actgrad/decay.hpp"
#include "actgrad/error.hpp"

namespace {

using actgrad::Activation;

// E[g(sqrt(q) z)], z ~ N(0,1), by the trapezoid rule on [-40, 40] in long double: exponentially
// convergent for smooth g (independent of the library's quadrature and functors).
double trapezoid(const std::function<long double(long double)>& g, double q) {
  const long double h = 1.0L / 512, s = std::sqrt((long double)q);
  long double sum = 0;
  for (long i = -40 * 512; i <= 40 * 512; ++i) {
    const long double z = i * h;
    sum += g(s * z) * std::exp(-z * z / 2);
  }
  return double(sum * h / std::sqrt(2 * 3.14159265358979323846264338327950288L));
}

TEST(MeanField, ReluChiIsHalfTheWeightVariance) {
  const Activation relu = Activation::parse("relu");
  for (const double S : {0.5, 1.0, 2.0, 3.0})
    for (const double T : {0.0, 0.1}) {
      const actgrad::MeanField m = actgrad::mean_field(relu, S, T);
      EXPECT_NEAR(m.chi1, S / 2, 1e-12) << "S=" << S << " T=" << T;
    }
  // relu's q-map is exact too: S q / 2 + T.
  EXPECT_NEAR(actgrad::mean_field_qmap(relu, 1.7, 0.2, 3.0), 1.7 * 1.5 + 0.2, 1e-12);
  // At S = 2, T = 0 every q is a fixed point and chi1 = 1: the critical line of He init.
  const actgrad::MeanField he = actgrad::mean_field(relu, 2.0, 0.0);
  EXPECT_TRUE(he.converged);
  EXPECT_NEAR(he.q_star, 2.0, 1e-12);
  EXPECT_TRUE(std::isinf(he.depth_scale) || std::fabs(he.depth_scale) > 1e10);
}

// hardtanh: phi' = 1 on (-1, 1), so chi(q) = S P(|sqrt(q) z| < 1) = S erf(1 / sqrt(2 q)); the
// kinks at +-1 / sqrt(q) are not at the split point, so this checks the adaptive bisection.
TEST(MeanField, HardtanhKinksAwayFromZero) {
  const Activation ht = Activation::parse("hardtanh");
  for (const double q : {0.3, 1.0, 2.5})
    EXPECT_NEAR(actgrad::mean_field_chi(ht, 1.3, q), 1.3 * std::erf(1.0 / std::sqrt(2.0 * q)),
                1e-12)
        << "q=" << q;
}

TEST(MeanField, QMapAgreesWithIndependentQuadrature) {
  const auto sig = [](long double x) { return 1.0L / (1.0L + std::exp(-x)); };
  const auto th = [](long double x) { return std::tanh(x); };
  for (const double q : {0.05, 1.0, 4.0, 30.0}) {
    const double S = 1.5, T = 0.05;
    const double tanh_q = S * trapezoid([&](long double x) { return th(x) * th(x); }, q) + T;
    const double tanh_chi = S * trapezoid(
                                    [&](long double x) {
                                      const long double d = 1 - th(x) * th(x);
                                      return d * d;
                                    },
                                    q);
    const double sig_q = S * trapezoid([&](long double x) { return sig(x) * sig(x); }, q) + T;
    const double sig_chi = S * trapezoid(
                                   [&](long double x) {
                                     const long double d = sig(x) * (1 - sig(x));
                                     return d * d;
                                   },
                                   q);
    const Activation tanh_act = Activation::parse("tanh"), sig_act = Activation::parse("sigmoid");
    EXPECT_NEAR(actgrad::mean_field_qmap(tanh_act, S, T, q), tanh_q, 1e-12 * tanh_q) << q;
    EXPECT_NEAR(actgrad::mean_field_chi(tanh_act, S, q), tanh_chi, 1e-12 * tanh_chi) << q;
    EXPECT_NEAR(actgrad::mean_field_qmap(sig_act, S, T, q), sig_q, 1e-12 * sig_q) << q;
    EXPECT_NEAR(actgrad::mean_field_chi(sig_act, S, q), sig_chi, 1e-12 * sig_chi) << q;
  }
}

TEST(MeanField, FixedPointAndDepthScale) {
  const Activation tanh_act = Activation::parse("tanh");
  const actgrad::MeanField m = actgrad::mean_field(tanh_act, 2.0, 0.1);
  ASSERT_TRUE(m.converged);
  EXPECT_NEAR(actgrad::mean_field_qmap(tanh_act, 2.0, 0.1, m.q_star), m.q_star, 1e-10 * m.q_star);
  EXPECT_NEAR(m.chi1, actgrad::mean_field_chi(tanh_act, 2.0, m.q_star), 1e-15);
  EXPECT_NEAR(m.depth_scale, -1.0 / std::log(m.chi1), 1e-12 * std::fabs(m.depth_scale));
  // tanh at S = 1, T = 0: q* = 0 (reached only like 1/l; found to the quadrature's 1e-14
  // relative accuracy, where q - qmap(q) ~ 2 q^2 drowns) and chi1 = tanh'(0)^2 = 1, critical.
  const actgrad::MeanField c = actgrad::mean_field(tanh_act, 1.0, 0.0);
  EXPECT_TRUE(c.converged);
  EXPECT_GE(c.q_star, 0.0);
  EXPECT_LT(c.q_star, 1e-12);
  EXPECT_NEAR(c.chi1, 1.0, 1e-12);
  // Ordered (S < 1) and chaotic (S = 4) phases.
  EXPECT_LT(actgrad::mean_field(tanh_act, 0.5, 0.0).chi1, 1.0);
  EXPECT_GT(actgrad::mean_field(tanh_act, 4.0, 0.0).chi1, 1.0);
  // Near-critical slow convergence still finds the root (T > 0 gives a positive q*).
  const actgrad::MeanField s = actgrad::mean_field(tanh_act, 1.0, 1e-4);
  ASSERT_TRUE(s.converged);
  EXPECT_GT(s.q_star, 0.0);
  EXPECT_NEAR(actgrad::mean_field_qmap(tanh_act, 1.0, 1e-4, s.q_star), s.q_star, 1e-9 * s.q_star);
  // relu above S = 2 diverges: q* = inf, chi1 still S/2 (scale invariance).
  const actgrad::MeanField d = actgrad::mean_field(Activation::parse("relu"), 3.0, 0.0);
  EXPECT_TRUE(std::isinf(d.q_star));
  EXPECT_FALSE(d.converged);
  EXPECT_NEAR(d.chi1, 1.5, 1e-12);
}

TEST(MeanField, TrajectoryStartsAtSPlusT) {
  const Activation id = Activation::parse("identity");
  const auto t = actgrad::mean_field_trajectory(id, 0.9, 0.2, 6);
  ASSERT_EQ(t.q.size(), 6u);
  double q = 1.1;
  for (std::size_t l = 0; l < 6; ++l) {
    EXPECT_NEAR(t.q[l], q, 1e-12 * q);
    EXPECT_NEAR(t.chi[l], 0.9, 1e-13);
    q = 0.9 * q + 0.2;
  }
}

TEST(MeanField, EveryCatalogueEntryGivesANumberOrNan) {
  // No entry may hang or throw; domains like log's give NaN.
  for (const actgrad::ActId id : actgrad::catalogue()) {
    const Activation a(id);
    const actgrad::MeanField m = actgrad::mean_field(a, 1.0, 0.05);
    EXPECT_FALSE(std::isinf(m.chi1) && m.chi1 < 0) << a.name();
  }
  EXPECT_THROW(actgrad::mean_field(Activation::parse("tanh"), -1.0, 0.0), actgrad::Error);
}

} // namespace
