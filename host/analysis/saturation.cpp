// Scalar saturation analysis and Gaussian moments on the library's own f and f'
// (include/actgrad/saturation.hpp): grid scans, bisection and adaptive Gauss-Kronrod.
#include "actgrad/saturation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "actgrad/error.hpp"
#include "actgrad/scalar.hpp"
#include "quadrature.hpp"

namespace actgrad {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The scan grid: uniform with step 1/128 on [-kLinear, kLinear] (every kink of the default
// parameters lies there, on a grid point or between two), geometric with ratio 1.02 out to
// +-kFar. Parameters that move a kink further out are found between two geometric points and
// then bisected, so the grid only has to bracket each change, not hit it.
constexpr double kLinear = 20;
constexpr double kLinearStep = 1.0 / 128;
constexpr double kGeometricRatio = 1.02;
constexpr double kFar = 1e24;
// f' beyond this many times the grid's largest |f'| (at +-1e300 or +-1e-300) means unbounded.
constexpr double kUnboundedFactor = 1e3;
// Just inside the start of an exactly-zero tail of f', |f'| above this (relative to max|f'|, or
// absolute where that is unbounded) means f' jumps or ramps to 0: hard saturation. Below it the
// zero is the underflow of a decaying f' (sigmoid at -745, gelu at -38.6): soft.
constexpr double kHardJump = 1e-100;
// f' at +-kFar below this (relative) means f' -> 0 on that side.
constexpr double kTendsToZero = 1e-10;
// gaussian_expectation's quadrature: the error allowed per piece is max(kQuadAbsTol,
// kQuadRelTol * S), never halved below max(kQuadFloor, kQuadFloor * S), where S estimates the
// integral of |g|; at most kQuadMaxSplits bisections per integral (the catalogue's defaults need
// at most about a thousand), after which the result is NaN rather than a hang.
constexpr double kQuadAbsTol = 1e-15;
constexpr double kQuadRelTol = 1e-15;
constexpr double kQuadFloor = 1e-18;
constexpr int kQuadMaxSplits = 1 << 14;

const std::vector<double>& grid() {
  static const std::vector<double> g = [] {
    std::vector<double> pos; // geometric part, ascending, > kLinear
    for (double x = kLinear * kGeometricRatio; x < kFar; x *= kGeometricRatio) pos.push_back(x);
    pos.push_back(kFar);
    std::vector<double> out;
    for (auto it = pos.rbegin(); it != pos.rend(); ++it) out.push_back(-*it);
    const int steps = int(kLinear / kLinearStep);
    for (int i = -steps; i <= steps; ++i) out.push_back(i * kLinearStep);
    out.insert(out.end(), pos.begin(), pos.end());
    return out;
  }();
  return g;
}

double df_abs(const Activation& act, double x) { return std::fabs(evaluate(act, x).dy); }

// Bisects [a, b] (in any order) where in(a) holds and in(b) does not, down to adjacent doubles.
// Returns the last point known to satisfy `in`.
template <class Pred>
double bisect(double a, double b, Pred&& in) {
  for (int i = 0; i < 2100; ++i) {
    const double m = a + (b - a) / 2;
    if (m == a || m == b) break;
    (in(m) ? a : b) = m;
  }
  return a;
}

// Golden-section search for a local maximum of g on [a, b], returning {x, g(x)}.
template <class G>
std::pair<double, double> golden_max(double a, double b, G&& g) {
  const double r = (std::sqrt(5.0) - 1) / 2;
  double c = b - r * (b - a), d = a + r * (b - a);
  double gc = g(c), gd = g(d);
  for (int i = 0; i < 200 && c < d; ++i) {
    if (gc >= gd) {
      b = d, d = c, gd = gc;
      c = b - r * (b - a);
      gc = g(c);
    } else {
      a = c, c = d, gc = gd;
      d = a + r * (b - a);
      gd = g(d);
    }
  }
  return gc >= gd ? std::make_pair(c, gc) : std::make_pair(d, gd);
}

// sup of s * g over the line (s = +1 for max, -1 for min of g), by the grid, then golden
// section between the neighbours of the best grid point, then +-inf. NaN values are skipped.
// Returns {x, s * g(x)}; ties go to the point nearest 0.
template <class G>
std::pair<double, double> extremum(G&& g, double s) {
  const std::vector<double>& x = grid();
  std::size_t best = x.size();
  double bv = -kInf;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = s * g(x[i]);
    if (std::isnan(v)) continue;
    if (v > bv || (v == bv && std::fabs(x[i]) < std::fabs(x[best]))) best = i, bv = v;
  }
  if (best == x.size()) return {kNaN, kNaN};
  double bx = x[best];
  if (best > 0 && best + 1 < x.size()) {
    const auto r = golden_max(x[best - 1], x[best + 1], [&](double t) {
      const double v = s * g(t);
      return std::isnan(v) ? -kInf : v;
    });
    if (r.second > bv) bx = r.first, bv = r.second;
  }
  for (const double e : {-kInf, kInf}) {
    const double v = s * g(e);
    if (v > bv) bx = e, bv = v;
  }
  return {bx, bv};
}

struct MaxAbs {
  double value, at;
};

MaxAbs max_abs_derivative(const Activation& act) {
  const auto d = [&](double t) { return df_abs(act, t); };
  // Plain variables, not a structured binding: lambdas below capture m (C++20 for bindings).
  const std::pair<double, double> best = extremum(d, 1.0);
  double at = best.first;
  const double m = best.second;
  // Unbounded: |f'| far beyond the grid's maximum at an extreme scale.
  for (const double e : {-1e300, 1e300, -1e-300, 1e-300}) {
    const double v = d(e);
    if (!std::isnan(v) && (std::isinf(v) || v > kUnboundedFactor * m)) {
      return {kInf, std::fabs(e) < 1 ? 0.0 : e > 0 ? kInf : -kInf};
    }
  }
  if (std::isinf(m)) return {kInf, at};
  // On a plateau (relu: |f'| = 1 for all x > 0) report its inner edge.
  const std::vector<double>& x = grid();
  const auto it = std::lower_bound(x.begin(), x.end(), at);
  if (it != x.end() && *it == at && std::isfinite(at)) {
    const double inner = at > 0 ? *(it - 1) : at < 0 ? *(it + 1) : at;
    const auto top = [&](double t) { return d(t) >= m * (1 - 1e-12); };
    if (inner != at && !top(inner)) at = bisect(at, inner, top);
  }
  if (std::fabs(at) < 1e-300) at = 0;
  return {m, at};
}

// Asymptotic saturation type on one side (dir = -1 left, +1 right); see SaturationSide::type.
Saturation side_type(const Activation& act, int dir, double ref) {
  const double far = df_abs(act, dir * kFar);
  if (std::isnan(far) || !(far <= kTendsToZero * ref)) return Saturation::none;
  if (far != 0) return Saturation::soft;
  // Exactly-zero tail: find where it starts by walking the grid inward, then bisect.
  const std::vector<double>& x = grid();
  const std::size_t n = x.size();
  double zero = dir * kFar, nonzero = kNaN;
  for (std::size_t k = 0; k < n; ++k) {
    const double t = dir < 0 ? x[k] : x[n - 1 - k];
    const double v = df_abs(act, t);
    if (v != 0) {
      nonzero = t;
      break;
    }
    zero = t;
  }
  if (std::isnan(nonzero)) return Saturation::hard; // f' = 0 everywhere on the grid
  const double start = bisect(zero, nonzero, [&](double t) { return df_abs(act, t) == 0; });
  const double h = 1e-6 * (1 + std::fabs(start));
  const double inside = df_abs(act, start - dir * h);
  return inside > kHardJump * ref ? Saturation::hard : Saturation::soft;
}

// Bound of the saturated region on one side for |f'| < thr (see SaturationSide::bound).
double side_bound(const Activation& act, int dir, double thr) {
  const auto in = [&](double t) { return df_abs(act, t) < thr; }; // false for NaN
  const std::vector<double>& x = grid();
  const std::size_t n = x.size();
  if (!in(dir * kInf) && !in(dir * kFar)) return dir * kInf;
  double last_in = dir * kFar;
  for (std::size_t k = 0; k < n; ++k) {
    const double t = dir < 0 ? x[k] : x[n - 1 - k];
    if (!in(t)) return bisect(last_in, t, in);
    last_in = t;
  }
  return -dir * kInf; // the whole line is saturated
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

void check_distribution(double mean, double std) {
  if (!std::isfinite(mean))
    throw Error("saturation: mean " + std::to_string(mean) + " must be a finite number");
  if (!(std > 0) || !std::isfinite(std))
    throw Error("saturation: std " + std::to_string(std) +
                " must be a finite number greater than 0");
}

} // namespace

double gaussian_expectation(const Activation& act, Moment which, double mean, double std) {
  check_distribution(mean, std);
  const double inv_sqrt_2pi = 0.3989422804014326779399460599343819;
  // Integrate over z ~ N(0, 1) with x = mean + std z; |z| <= 40 holds all the mass that a
  // double can see (phi(40) ~ 1e-348) for f growing at most exponentially.
  const auto g = [&](double z) {
    const Fused<double> r = evaluate(act, mean + std * z);
    const double v = which == Moment::f ? r.y : which == Moment::f2 ? r.y * r.y : r.dy * r.dy;
    const double w = inv_sqrt_2pi * std::exp(-0.5 * z * z);
    return w == 0 ? 0.0 : v * w;
  };
  std::vector<double> cuts = {-40, -20, -10, -6, -3, -1, 0, 1, 3, 6, 10, 20, 40};
  // Kinks at x = 0 (most rectifiers) map to z = -mean/std.
  const double z0 = -mean / std;
  if (z0 > -40 && z0 < 40) cuts.push_back(z0);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  // Tolerances relative to a coarse estimate of the integral of |g| (an activation such as
  // linear:alpha=1e8 has E[f'^2] = 1e16, far past any absolute tolerance), never below the
  // absolute 1e-15 that integrals of order 1 have always used.
  double scale = 0;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
    scale +=
        detail::gauss_kronrod15([&](double z) { return std::fabs(g(z)); }, cuts[i], cuts[i + 1])
            .value;
  const double tol = std::max(kQuadAbsTol, kQuadRelTol * scale);
  const double floor = std::max(kQuadFloor, kQuadFloor * scale);
  detail::LocalBudget budget{kQuadMaxSplits};
  double sum = 0;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
    sum += detail::integrate_local(g, cuts[i], cuts[i + 1], tol, floor, 60, budget);
  // Out of splits: the estimate did not meet its tolerance; say so rather than guess.
  return budget.converged ? sum : kNaN;
}

SaturationReport saturation(const Activation& act, double eps, double mean, double std) {
  if (!(eps > 0 && eps < 1))
    throw Error("saturation: eps " + std::to_string(eps) +
                " is outside (0, 1); eps is the fraction of max|f'| below which f is saturated, "
                "e.g. 0.01");
  check_distribution(mean, std);
  SaturationReport r;
  r.eps = eps;
  r.mean = mean;
  r.std = std;
  const MaxAbs m = max_abs_derivative(act);
  r.max_abs_derivative = m.value;
  r.argmax = m.at;
  const double ref = std::isfinite(m.value) && m.value > 0 ? m.value : 1.0;
  r.left.type = side_type(act, -1, ref);
  r.right.type = side_type(act, +1, ref);
  if (!std::isfinite(m.value)) {
    r.threshold = kNaN;
    r.left.bound = r.right.bound = r.left.mass = r.right.mass = kNaN;
    return r;
  }
  r.threshold = eps * m.value;
  r.left.bound = side_bound(act, -1, r.threshold);
  r.right.bound = side_bound(act, +1, r.threshold);
  r.left.mass = normal_cdf((r.left.bound - mean) / std);
  r.right.mass = normal_cdf(-(r.right.bound - mean) / std);
  return r;
}

AtlasEntry atlas_entry(const Activation& act) {
  AtlasEntry e;
  const Fused<double> z = evaluate(act, 0.0);
  e.f0 = z.y;
  e.df0 = z.dy;
  e.saturation = saturation(act, 0.01, 0, 1);
  e.max_abs_derivative = e.saturation.max_abs_derivative;
  e.argmax = e.saturation.argmax;
  const auto f = [&](double t) { return evaluate(act, t).y; };
  const auto df = [&](double t) { return evaluate(act, t).dy; };
  e.f_max = extremum(f, 1.0).second;
  e.f_min = -extremum(f, -1.0).second;
  e.df_max = extremum(df, 1.0).second;
  e.df_min = -extremum(df, -1.0).second;
  // Unbounded growth past the grid (exp, square): the far scales say so.
  for (const double t : {-1e300, -1e-300, 1e-300, 1e300}) {
    const Fused<double> v = evaluate(act, t);
    if (v.y > e.f_max) e.f_max = v.y > 1e3 * std::fabs(e.f_max) ? kInf : v.y;
    if (v.y < e.f_min) e.f_min = v.y < -1e3 * std::fabs(e.f_min) ? -kInf : v.y;
    if (v.dy > e.df_max) e.df_max = v.dy > 1e3 * std::fabs(e.df_max) ? kInf : v.dy;
    if (v.dy < e.df_min) e.df_min = v.dy < -1e3 * std::fabs(e.df_min) ? -kInf : v.dy;
  }
  e.mean_f = gaussian_expectation(act, Moment::f);
  e.mean_df2 = gaussian_expectation(act, Moment::df2);
  return e;
}

} // namespace actgrad
