// Saturation analysis and atlas rows (host/analysis/saturation.cpp): known closed-form values, the
// catalogue's traits for every entry, region bounds against f' itself, and bad arguments.
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"
#include "actgrad/saturation.hpp"
#include "actgrad/scalar.hpp"

namespace {

using actgrad::Activation;
using actgrad::Error;
using actgrad::Moment;
using actgrad::Saturation;

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kPi = std::acos(-1.0);

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

TEST(Saturation, SigmoidKnownValues) {
  const auto r = actgrad::saturation(Activation::parse("sigmoid"));
  EXPECT_DOUBLE_EQ(r.max_abs_derivative, 0.25);
  EXPECT_EQ(r.argmax, 0.0);
  EXPECT_DOUBLE_EQ(r.threshold, 0.0025);
  EXPECT_EQ(r.left.type, Saturation::soft);
  EXPECT_EQ(r.right.type, Saturation::soft);
  // s (1 - s) = 0.0025 at s = (1 - sqrt(0.99)) / 2, x = logit(s) = -5.98645...
  const double s = (1 - std::sqrt(0.99)) / 2, x = std::log(s / (1 - s));
  EXPECT_NEAR(r.left.bound, x, 1e-12);
  EXPECT_NEAR(r.right.bound, -x, 1e-12);
  EXPECT_NEAR(r.right.bound, 5.98645, 5e-6);
  EXPECT_NEAR(r.left.mass, normal_cdf(x), 1e-15);
  EXPECT_NEAR(r.right.mass, normal_cdf(x), 1e-15);
  const auto a = actgrad::atlas_entry(Activation::parse("sigmoid"));
  EXPECT_DOUBLE_EQ(a.f0, 0.5);
  EXPECT_DOUBLE_EQ(a.df0, 0.25);
  EXPECT_NEAR(a.mean_f, 0.5, 1e-13);
  EXPECT_EQ(a.f_min, 0.0);
  EXPECT_EQ(a.f_max, 1.0);
  EXPECT_EQ(a.df_min, 0.0);
  EXPECT_DOUBLE_EQ(a.df_max, 0.25);
}

TEST(Saturation, TanhKnownValues) {
  const auto r = actgrad::saturation(Activation::parse("tanh"));
  EXPECT_DOUBLE_EQ(r.max_abs_derivative, 1.0);
  EXPECT_EQ(actgrad::evaluate(Activation::parse("tanh"), 0).dy, 1.0);
  const double x = std::atanh(std::sqrt(0.99)); // 1 - tanh^2 = 0.01
  EXPECT_NEAR(r.right.bound, x, 1e-12);
  EXPECT_NEAR(r.left.bound, -x, 1e-12);
  EXPECT_NEAR(x, 2.99322, 5e-6);
  EXPECT_EQ(r.left.type, Saturation::soft);
  EXPECT_EQ(r.right.type, Saturation::soft);
  // tanh is odd: E[tanh(z)] = 0.
  EXPECT_NEAR(actgrad::atlas_entry(Activation::parse("tanh")).mean_f, 0.0, 1e-14);
}

TEST(Saturation, ReluKnownValues) {
  const Activation relu = Activation::parse("relu");
  const auto r = actgrad::saturation(relu);
  EXPECT_EQ(r.max_abs_derivative, 1.0);
  EXPECT_EQ(r.left.type, Saturation::hard);
  EXPECT_EQ(r.right.type, Saturation::none);
  EXPECT_EQ(r.left.bound, 0.0); // relu'(0) = 0: the region is x <= 0
  EXPECT_EQ(r.right.bound, kInf);
  EXPECT_DOUBLE_EQ(r.left.mass, 0.5);
  EXPECT_EQ(r.right.mass, 0.0);
  EXPECT_NEAR(actgrad::gaussian_expectation(relu, Moment::df2), 0.5, 1e-14);
  EXPECT_NEAR(actgrad::gaussian_expectation(relu, Moment::f), 1 / std::sqrt(2 * kPi), 1e-14);
  EXPECT_NEAR(actgrad::gaussian_expectation(relu, Moment::f2), 0.5, 1e-14);
  // Shifted input: E[relu'(x)^2] = P(x > 0) = Phi(mean / std).
  EXPECT_NEAR(actgrad::gaussian_expectation(relu, Moment::df2, 0.3, 2), normal_cdf(0.15), 1e-14);
}

TEST(Saturation, KinksAndParameters) {
  const auto h = actgrad::saturation(Activation::parse("hardtanh:min_val=-2,max_val=3"));
  EXPECT_EQ(h.left.type, Saturation::hard);
  EXPECT_EQ(h.right.type, Saturation::hard);
  EXPECT_EQ(h.left.bound, -2.0);
  EXPECT_EQ(h.right.bound, 3.0);
  // A kink far outside the uniform grid is still found to the last bit.
  const auto far = actgrad::saturation(Activation::parse("hardtanh:min_val=-1,max_val=1234.5"));
  EXPECT_EQ(far.right.bound, 1234.5);
  // hardswish: sup f' = 1.5, approached at 3 from the left; region x <= -3 on the left.
  const auto hs = actgrad::saturation(Activation::parse("hardswish"));
  EXPECT_NEAR(hs.max_abs_derivative, 1.5, 1e-12);
  EXPECT_NEAR(hs.argmax, 3.0, 1e-9);
  EXPECT_EQ(hs.left.bound, -3.0);
  // leaky_relu: no asymptotic saturation, but a region once eps exceeds the slope.
  const auto lr = actgrad::saturation(Activation::parse("leaky_relu"), 0.02);
  EXPECT_EQ(lr.left.type, Saturation::none);
  EXPECT_EQ(lr.left.bound, 0.0);
  EXPECT_EQ(actgrad::saturation(Activation::parse("leaky_relu"), 0.01).left.bound, -kInf);
  // gelu: E[z Phi(z)] = E[phi(z)] = 1 / (2 sqrt(pi)).
  EXPECT_NEAR(actgrad::gaussian_expectation(Activation::parse("gelu"), Moment::f),
              1 / (2 * std::sqrt(kPi)), 1e-14);
  // identity under N(1, 2^2): E[x^2] = 5.
  EXPECT_NEAR(actgrad::gaussian_expectation(Activation::parse("identity"), Moment::f2, 1, 2), 5.0,
              1e-12);
  // Unbounded f': no threshold, masses undefined, types still known.
  const auto e = actgrad::saturation(Activation::parse("exp"));
  EXPECT_EQ(e.max_abs_derivative, kInf);
  EXPECT_TRUE(std::isnan(e.left.bound));
  EXPECT_TRUE(std::isnan(e.left.mass));
  EXPECT_EQ(e.left.type, Saturation::soft);
  EXPECT_EQ(e.right.type, Saturation::none);
  EXPECT_NEAR(actgrad::gaussian_expectation(Activation::parse("exp"), Moment::f), std::exp(0.5),
              1e-13);
}

TEST(Saturation, MassUnderShiftedInput) {
  const auto r = actgrad::saturation(Activation::parse("tanh"), 0.05, 1.5, 0.5);
  EXPECT_NEAR(r.left.mass, normal_cdf((r.left.bound - 1.5) / 0.5), 1e-15);
  EXPECT_NEAR(r.right.mass, normal_cdf(-(r.right.bound - 1.5) / 0.5), 1e-15);
  EXPECT_GT(r.right.mass, r.left.mass);
}

// Every catalogue entry at default parameters: the computed types match the traits, f'(0) and
// max|f'| match them where the traits describe the same function, and the bounds are right
// about f' itself on both sides of them.
TEST(Saturation, MatchesCatalogueTraits) {
  for (const actgrad::ActId id : actgrad::catalogue()) {
    const Activation act(id);
    const auto& info = act.info();
    SCOPED_TRACE(info.name);
    const auto r = actgrad::saturation(act);
    EXPECT_EQ(r.left.type, info.traits.left)
        << "computed " << saturation_name(r.left.type) << ", traits say "
        << saturation_name(info.traits.left);
    EXPECT_EQ(r.right.type, info.traits.right)
        << "computed " << saturation_name(r.right.type) << ", traits say "
        << saturation_name(info.traits.right);
    const double d0 = actgrad::evaluate(act, 0).dy;
    if (!act.is_gated()) {
      if (std::isnan(info.traits.d_at_zero)) {
        EXPECT_TRUE(std::isnan(d0));
      } else {
        EXPECT_EQ(d0, info.traits.d_at_zero);
      }
    }
    // The traits describe act(a); evaluate() is the unit at b = 1, which is act(a) except for
    // clamped_swiglu ((b_c + 1) = 2 times the gate).
    const std::string name = info.name;
    const double trait_max = std::max(std::fabs(info.traits.dmin), std::fabs(info.traits.dmax));
    if (name == "clamped_swiglu") {
      EXPECT_NEAR(r.max_abs_derivative, 2 * trait_max, 1e-9 * trait_max);
    } else if (std::isinf(trait_max)) {
      EXPECT_EQ(r.max_abs_derivative, kInf);
    } else {
      EXPECT_NEAR(r.max_abs_derivative, trait_max, 1e-9 * trait_max);
    }
    if (!std::isfinite(r.threshold)) continue;
    const auto df = [&](double x) { return std::fabs(actgrad::evaluate(act, x).dy); };
    for (const int dir : {-1, 1}) {
      const double b = dir < 0 ? r.left.bound : r.right.bound;
      if (std::isinf(b)) {
        if (b == dir * kInf) {
          EXPECT_FALSE(df(dir * 1e6) < r.threshold) << "side " << dir;
        }
        continue;
      }
      // Beyond the bound (and at it) f' is below the threshold; just inside it is not.
      for (const double off : {0.0, 1e-6, 0.01, 0.5, 3.0, 40.0})
        EXPECT_LT(df(b + dir * off * (1 + std::fabs(b))), r.threshold)
            << "side " << dir << " bound " << b << " offset " << off;
      EXPECT_FALSE(df(std::nextafter(b, -dir * kInf)) < r.threshold)
          << "side " << dir << " bound " << b;
    }
  }
}

TEST(Saturation, AtlasRowsAreConsistent) {
  for (const actgrad::ActId id : actgrad::catalogue()) {
    const Activation act(id);
    SCOPED_TRACE(act.name());
    const auto a = actgrad::atlas_entry(act);
    EXPECT_LE(a.df_min, a.df_max);
    EXPECT_LE(a.f_min, a.f_max);
    // E[.] is NaN exactly where f is undefined on part of the line (sqrt, log for x < 0).
    const bool defined = !std::isnan(actgrad::evaluate(act, -1.5).y);
    EXPECT_EQ(std::isnan(a.mean_f), !defined);
    EXPECT_EQ(std::isnan(a.mean_df2), !defined);
    if (defined) {
      EXPECT_GE(a.mean_df2, 0.0);
    }
    // E[f'^2] <= max|f'|^2 wherever it is defined.
    if (std::isfinite(a.max_abs_derivative)) {
      EXPECT_LE(a.mean_df2, a.max_abs_derivative * a.max_abs_derivative * (1 + 1e-12));
    }
  }
}

// Activations with huge Gaussian moments used to hang the quadrature: its absolute tolerance of
// 1e-15 could never be met by an integral of 1e16, and an overflowing f'^2 gave a NaN error
// estimate that never passed, so it bisected down to the width guard (~2^46 pieces). Now each
// atlas row finishes at once with the right value, or inf where the moment overflows a double.
TEST(Saturation, HugeMomentsFinishWithDefinedResults) {
  const auto rel = [](double got, double want) { return std::fabs(got - want) / std::fabs(want); };
  const auto timed = [](const char* spec) {
    const auto t0 = std::chrono::steady_clock::now();
    const actgrad::AtlasEntry e = actgrad::atlas_entry(Activation::parse(spec));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 10.0) << spec << " took " << s << " s";
    return e;
  };
  // linear: f = alpha x, E[f] = 0, E[f'^2] = alpha^2.
  const actgrad::AtlasEntry lin = timed("linear:alpha=1e8");
  EXPECT_LT(rel(lin.mean_df2, 1e16), 1e-13);
  EXPECT_LT(std::fabs(lin.mean_f), 1e-6);
  // pow: f = x^150, E[f] = 149!! ~ 6.1e130; E[f'^2] = 150^2 * 297!! ~ 8e308 overflows.
  double dfact = 1;
  for (int k = 3; k <= 149; k += 2) dfact *= k;
  const actgrad::AtlasEntry pw = timed("pow:alpha=1,beta=150");
  EXPECT_LT(rel(pw.mean_f, dfact), 1e-12) << pw.mean_f;
  EXPECT_EQ(pw.mean_df2, kInf);
  // softplus with beta -> 0: f ~ log(2) / beta + x / 2, f' ~ 1/2.
  const actgrad::AtlasEntry sp = timed("softplus:beta=1e-100");
  EXPECT_LT(rel(sp.mean_f, std::log(2.0) * 1e100), 1e-13);
  EXPECT_LT(rel(sp.mean_df2, 0.25), 1e-13);
  // elu: E[f] = alpha (e^(1/2) Phi(-1) - 1/2) (+ E[z; z > 0] = 1/sqrt(2 pi), lost next to
  // 1e307); f'^2 = alpha^2 e^(2x) overflows for x < 0.
  const actgrad::AtlasEntry el = timed("elu:alpha=1e308");
  EXPECT_LT(rel(el.mean_f, 1e308 * (std::exp(0.5) * 0.5 * std::erfc(1 / std::sqrt(2.0)) - 0.5)),
            1e-12)
      << el.mean_f;
  EXPECT_EQ(el.mean_df2, kInf);
  // Known values of order 1 are as before.
  EXPECT_NEAR(actgrad::gaussian_expectation(Activation::parse("relu"), Moment::df2), 0.5, 1e-15);
  EXPECT_NEAR(actgrad::gaussian_expectation(Activation::parse("sigmoid"), Moment::f), 0.5, 1e-15);
  EXPECT_NEAR(actgrad::gaussian_expectation(Activation::parse("tanh"), Moment::f), 0.0, 1e-15);
}

TEST(Saturation, BadArguments) {
  const Activation act = Activation::parse("tanh");
  for (const double eps : {0.0, 1.0, -0.5, 2.0, std::nan("")})
    EXPECT_THROW(actgrad::saturation(act, eps), Error) << eps;
  EXPECT_THROW(actgrad::saturation(act, 0.01, 0, 0), Error);
  EXPECT_THROW(actgrad::saturation(act, 0.01, 0, -1), Error);
  EXPECT_THROW(actgrad::saturation(act, 0.01, kInf, 1), Error);
  EXPECT_THROW(actgrad::gaussian_expectation(act, Moment::f, 0, std::nan("")), Error);
  try {
    actgrad::saturation(act, 1.5);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(0, 1)"), std::string::npos) << e.what();
  }
}

} // namespace
