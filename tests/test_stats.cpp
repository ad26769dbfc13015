// saturation_stats on the CPU: counts, moments and histogram against a plain double loop over
// evaluate(), every dtype, NaNs, thread-count independence, 2^24-element accuracy against a
// long double reference, bit-identical repeats, bad options.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"
#include "actgrad/detail/dispatch.hpp"
#include "actgrad/saturation.hpp"
#include "actgrad/scalar.hpp"
#include "storage_compare.hpp"

namespace {

using actgrad::Activation;
using actgrad::bfloat16_t;
using actgrad::Error;
using actgrad::half_t;
using actgrad::SaturationStats;
using actgrad::SaturationStatsOptions;
using actgrad_test::from_double;
using actgrad_test::to_double;

bool quick() {
  const char* q = std::getenv("ACTGRAD_QUICK");
  return q && *q && std::string(q) != "0";
}

// Elements whose f' lies so close to the threshold, a bin edge or 0 that the tensor path's
// compute type (float for f32 and 16-bit storage) may put them on the other side.
struct Ambiguous {
  std::int64_t small = 0, dead = 0;
  std::vector<std::int64_t> edge; // per bin: elements near one of its edges
};

// The same statistics by the definition, in double through evaluate(), with two-pass moments.
// `rel` is the compute type's relative error allowance for f'.
SaturationStats reference(const Activation& act, const std::vector<double>& x,
                          const SaturationStats& got, int bins, double rel, Ambiguous& amb) {
  amb.edge.assign(std::size_t(bins), 0);
  const double width = (got.hist_hi - got.hist_lo) / bins;
  SaturationStats r;
  r.n = std::int64_t(x.size());
  r.histogram.assign(std::size_t(bins), 0);
  std::vector<double> f, d;
  for (const double v : x) {
    const actgrad::Fused<double> e = actgrad::evaluate(act, v);
    if (std::isnan(v) || std::isnan(e.y) || std::isnan(e.dy)) {
      ++r.nan;
      continue;
    }
    f.push_back(e.y);
    d.push_back(e.dy);
    const double w = rel * std::fabs(e.dy) + 1e-30;
    amb.small += std::fabs(std::fabs(e.dy) - got.threshold) <= w;
    amb.dead += std::fabs(e.dy) <= (rel > 1e-10 ? 1e-36 : 0.0);
    const double tt = (e.dy - got.hist_lo) / width;
    const double near_edge = std::round(tt);
    if (std::fabs(tt - near_edge) * width <= w) {
      for (const double b : {near_edge - 1, near_edge})
        if (b >= 0 && b < bins) ++amb.edge[std::size_t(b)];
    }
    const bool small = std::fabs(e.dy) < got.threshold;
    r.small_derivative += small;
    r.saturated_left += small && v <= got.left_bound;
    r.saturated_right += small && v >= got.right_bound;
    r.dead += e.dy == 0;
    const double t = (e.dy - got.hist_lo) / (got.hist_hi - got.hist_lo) * bins;
    if (t < 0)
      ++r.below;
    else if (t > bins)
      ++r.above;
    else
      ++r.histogram[std::size_t(std::min<double>(t, bins - 1))];
  }
  r.count = std::int64_t(f.size());
  const auto moments = [](const std::vector<double>& v, double& mean, double& var) {
    mean = 0;
    for (const double a : v) mean += a;
    mean /= double(v.size());
    var = 0;
    for (const double a : v) var += (a - mean) * (a - mean);
    var /= double(v.size());
  };
  moments(f, r.mean_f, r.var_f);
  moments(d, r.mean_df, r.var_df);
  return r;
}

template <class S>
void check_against_reference(const std::string& name, double mean, double std, double tol,
                             double rel) {
  SCOPED_TRACE(name + " " + actgrad::dtype_name(actgrad::Storage<S>::dtype));
  const Activation act = Activation::parse(name);
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal(mean, std);
  const std::size_t n = 100'003;
  std::vector<S> xs(n);
  std::vector<double> xd(n);
  for (std::size_t i = 0; i < n; ++i) {
    xs[i] = from_double<S>(normal(rng));
    xd[i] = to_double(xs[i]);
  }
  // A few specials: NaN is excluded and counted; 0 and the ends are counted.
  xs[7] = from_double<S>(std::nan(""));
  xd[7] = to_double(xs[7]);
  xs[8] = from_double<S>(0.0);
  xd[8] = 0.0;
  SaturationStatsOptions opt;
  opt.bins = 32;
  const SaturationStats got = actgrad::saturation_stats(act, actgrad::view(xs.data(), n), opt);
  Ambiguous amb;
  const SaturationStats want = reference(act, xd, got, opt.bins, rel, amb);
  EXPECT_EQ(got.n, std::int64_t(n));
  EXPECT_EQ(got.nan, want.nan);
  EXPECT_EQ(got.count, want.count);
  // Only elements within rounding of a threshold, bin edge or 0 may differ.
  EXPECT_NEAR(double(got.small_derivative), double(want.small_derivative), double(amb.small));
  EXPECT_NEAR(double(got.saturated_left), double(want.saturated_left), double(amb.small));
  EXPECT_NEAR(double(got.saturated_right), double(want.saturated_right), double(amb.small));
  EXPECT_NEAR(double(got.dead), double(want.dead), double(amb.dead));
  std::int64_t hist_total = got.below + got.above;
  for (std::size_t b = 0; b < got.histogram.size(); ++b) {
    EXPECT_NEAR(double(got.histogram[b]), double(want.histogram[b]), double(amb.edge[b]))
        << "bin " << b;
    hist_total += got.histogram[b];
  }
  EXPECT_EQ(hist_total, got.count);
  const auto close = [&](double g, double w, const char* what) {
    if (std::isnan(w) || std::isinf(w)) {
      // sqrt'(0) = inf: the mean is inf and the variance undefined in both.
      EXPECT_EQ(std::isnan(g), std::isnan(w)) << what << " got " << g << " want " << w;
      if (std::isinf(w)) {
        EXPECT_EQ(g, w) << what;
      }
    } else {
      EXPECT_NEAR(g, w, tol * (1 + std::fabs(w))) << what;
    }
  };
  close(got.mean_f, want.mean_f, "mean_f");
  close(got.var_f, want.var_f, "var_f");
  close(got.mean_df, want.mean_df, "mean_df");
  close(got.var_df, want.var_df, "var_df");
  EXPECT_DOUBLE_EQ(got.frac_small, double(got.small_derivative) / double(got.count));
}

TEST(SaturationStats, MatchesDefinitionEveryDtype) {
  for (const char* name : {"sigmoid", "tanh", "relu", "gelu", "hardswish", "hardshrink", "swiglu",
                           "exp", "sqrt", "leaky_relu:negative_slope=0.2"}) {
    // Wide input so that both tails are populated.
    check_against_reference<double>(name, 0.5, 4, 1e-12, 1e-13);
    // f32 storage is computed in float, as the 16-bit types are: the same tolerances.
    check_against_reference<float>(name, 0.5, 4, 1e-5, 1e-5);
    check_against_reference<half_t>(name, 0.5, 4, 1e-5, 1e-5);
    check_against_reference<bfloat16_t>(name, 0.5, 4, 1e-5, 1e-5);
  }
}

TEST(SaturationStats, KnownCounts) {
  // relu on [-5, 5): half the elements have x <= 0: f' = 0, saturated (left) and dead.
  std::vector<float> x;
  for (int i = -500; i < 500; ++i) x.push_back(float(i) / 100);
  const auto st = actgrad::saturation_stats(Activation::parse("relu"),
                                            actgrad::view(x.data(), std::int64_t(x.size())));
  EXPECT_EQ(st.count, 1000);
  EXPECT_EQ(st.dead, 501); // -5.00 .. 0.00
  EXPECT_EQ(st.saturated_left, 501);
  EXPECT_EQ(st.saturated_right, 0);
  EXPECT_DOUBLE_EQ(st.frac_dead, 0.501);
  EXPECT_DOUBLE_EQ(st.mean_df, 0.499);
  // The automatic histogram range of relu' is [0, 1]: 501 zeros in bin 0, 499 ones in the last.
  EXPECT_EQ(st.hist_lo, 0.0);
  EXPECT_EQ(st.hist_hi, 1.0);
  EXPECT_EQ(st.histogram.front(), 501);
  EXPECT_EQ(st.histogram.back(), 499);
  // Empty tensor.
  const auto empty =
      actgrad::saturation_stats(Activation::parse("relu"), actgrad::view(x.data(), 0));
  EXPECT_EQ(empty.count, 0);
  EXPECT_EQ(empty.frac_small, 0.0);
}

TEST(SaturationStats, ThreadCountDoesNotChangeCounts) {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0, 3);
  std::vector<float> x(300'000);
  for (float& v : x) v = normal(rng);
  SaturationStatsOptions one, two;
  one.exec.threads = 1;
  two.exec.threads = 2;
  const Activation act = Activation::parse("tanh");
  const auto a =
      actgrad::saturation_stats(act, actgrad::view(x.data(), std::int64_t(x.size())), one);
  const auto b =
      actgrad::saturation_stats(act, actgrad::view(x.data(), std::int64_t(x.size())), two);
  EXPECT_EQ(a.small_derivative, b.small_derivative);
  EXPECT_EQ(a.saturated_left, b.saturated_left);
  EXPECT_EQ(a.histogram, b.histogram);
  EXPECT_NEAR(a.mean_f, b.mean_f, 1e-14);
  EXPECT_NEAR(a.var_df, b.var_df, 1e-14);
}

// Accumulation over many elements: x alternates +-1, so mean sigmoid = 1/2 and the variance is
// (sigmoid(1) - 1/2)^2 exactly; a plain float or naive sum would drift visibly.
TEST(SaturationStats, LongSumsStayAccurate) {
  const std::int64_t n = quick() ? (std::int64_t(1) << 20) : (std::int64_t(1) << 24);
  std::vector<half_t> x(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) x[std::size_t(i)] = actgrad::to_half(i % 2 ? 1.0f : -1.0f);
  const Activation act = Activation::parse("sigmoid");
  const auto st = actgrad::saturation_stats(act, actgrad::view(x.data(), n));
  // Computed in float for f16 storage: f(+-1) carries float rounding, the sums must add none.
  const float s1 = 1 / (1 + std::exp(-1.0f)), sm1 = 1 / (1 + std::exp(1.0f));
  const double mean = (double(s1) + double(sm1)) / 2;
  const double var = (double(s1) - mean) * (double(s1) - mean);
  EXPECT_NEAR(st.mean_f, mean, 1e-7);
  EXPECT_NEAR(st.var_f, var, 1e-7 * var);
  EXPECT_EQ(st.count, n);
}

// The sums of a large f32 tensor against a two-pass long double reference over the same f and f'
// (forward_with_derivative runs the same vector code as the statistics loop): |error| <= 1e-10
// (1 + |value|) for the means and variances at n = 2^24 + 3 (the blocked double sums reach about
// 1e-15). The result does not change from run to run nor with the thread count (sums are added
// in chunk order), bit for bit.
TEST(SaturationStats, LargeSumsMatchReferenceAndRepeat) {
  const std::int64_t n = (quick() ? (std::int64_t(1) << 20) : (std::int64_t(1) << 24)) + 3;
  std::mt19937_64 rng(2024);
  std::normal_distribution<float> normal(0.3f, 2.5f);
  std::vector<float> x(static_cast<std::size_t>(n)), y(x.size()), d(x.size());
  for (float& v : x) v = normal(rng);
  for (const char* name : {"tanh", "gelu", "relu"}) {
    SCOPED_TRACE(name);
    const Activation act = Activation::parse(name);
    actgrad::forward_with_derivative(act, actgrad::view(x.data(), n), actgrad::view(y.data(), n),
                                     actgrad::view(d.data(), n));
    const auto moments = [&](const std::vector<float>& v, double& mean, double& var) {
      long double s = 0;
      for (const float a : v) s += a;
      const long double m = s / n;
      long double q = 0;
      for (const float a : v) q += (a - m) * (a - m);
      mean = double(m);
      var = double(q / n);
    };
    double mf, vf, md, vd;
    moments(y, mf, vf);
    moments(d, md, vd);
    SaturationStatsOptions opt;
    opt.exec.threads = 2;
    const SaturationStats a = actgrad::saturation_stats(act, actgrad::view(x.data(), n), opt);
    EXPECT_EQ(a.count, n);
    EXPECT_NEAR(a.mean_f, mf, 1e-10 * (1 + std::fabs(mf)));
    EXPECT_NEAR(a.var_f, vf, 1e-10 * (1 + vf));
    EXPECT_NEAR(a.mean_df, md, 1e-10 * (1 + std::fabs(md)));
    EXPECT_NEAR(a.var_df, vd, 1e-10 * (1 + vd));
    for (const int threads : {2, 1, 3}) {
      opt.exec.threads = threads;
      const SaturationStats b = actgrad::saturation_stats(act, actgrad::view(x.data(), n), opt);
      EXPECT_EQ(a.mean_f, b.mean_f) << threads << " threads";
      EXPECT_EQ(a.var_f, b.var_f) << threads << " threads";
      EXPECT_EQ(a.mean_df, b.mean_df) << threads << " threads";
      EXPECT_EQ(a.var_df, b.var_df) << threads << " threads";
      EXPECT_EQ(a.small_derivative, b.small_derivative);
      EXPECT_EQ(a.saturated_left, b.saturated_left);
      EXPECT_EQ(a.saturated_right, b.saturated_right);
      EXPECT_EQ(a.dead, b.dead);
      EXPECT_EQ(a.histogram, b.histogram);
    }
  }
}

TEST(SaturationStats, BadOptions) {
  std::vector<double> x(4, 0.0);
  const Activation act = Activation::parse("tanh");
  SaturationStatsOptions o;
  o.bins = 0;
  EXPECT_THROW(actgrad::saturation_stats(act, actgrad::view(x.data(), 4), o), Error);
  o = {};
  o.eps = 1;
  EXPECT_THROW(actgrad::saturation_stats(act, actgrad::view(x.data(), 4), o), Error);
  o = {};
  o.hist_lo = -std::numeric_limits<double>::infinity();
  o.hist_hi = 1;
  EXPECT_THROW(actgrad::saturation_stats(act, actgrad::view(x.data(), 4), o), Error);
  actgrad::ConstTensorView v = actgrad::view(x.data(), 4);
  v.n = -1;
  EXPECT_THROW(actgrad::saturation_stats(act, v), Error);
  if (!actgrad::Device::cuda_available()) {
    v = actgrad::view(x.data(), 4);
    v.device = actgrad::Device::cuda(0);
    try {
      actgrad::saturation_stats(act, v);
      FAIL() << "no throw";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::unavailable) << e.what();
    }
  }
}

} // namespace
