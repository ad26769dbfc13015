// Free-probability (infinite-width) prediction of the Jacobian spectrum (issue 17); see
// spectrum.hpp.
//
// Method (Pennington, Schoenholz and Ganguli 2017, arXiv:1711.04735; 2018, arXiv:1802.09979).
// Everything is done in units of the mean: x = phi'(h)^2 / mu_1 (h ~ N(0, q*)) has mean 1, W W^T
// is divided by sigma_w2, so J J^T / chi1^L has mean 1 and its moments are m_k / m1^k, which stay
// representable at depths where m1 = chi1^L itself overflows.
//
// 1. mu_k = E[phi'(sqrt(q*) z)^(2k)] by the adaptive Gauss-Kronrod half-line quadrature of
//    quadrature.hpp, split at z = 0 (relu's kink) as mean_field.cpp does.
// 2. S-transforms as truncated power series. With M(z) = sum_k m_k z^k and chi = M^{-1}, the
//    S-transform is S(z) = (1 + z) chi(z) / z. Writing M(z) = z / phi(z), Lagrange inversion gives
//    [z^n] chi = (1/n) [z^(n-1)] (M(z)/z)^(-n). The moments of J J^T follow from the same
//    inversion applied to chi_J(z) = z S_J(z) / (1 + z) = z / phi_J(z), phi_J = (1+z) / S_J:
//        m_k(J) = (1/k) [z^(k-1)] (1 + z)^k S_J(z)^(-k),   S_J = (S_D S_W)^L,
//    and S_J^(-k) = exp(-k L log(S_D S_W)) is formed from the series logarithm, so depth 10^4
//    costs no more than depth 1 and no series is raised to a power by repeated products.
// 3. The spectral edge lambda_max = min_{z>0} (1 + z) / (z S_J(z)), with S_D evaluated off the
//    series through the parametrisation z = M_D(w) = E[x w / (1 - x w)], S_D = (1 + z) w / z,
//    w in (0, 1 / max x), minimised in logs over a logit grid then by golden section.
// 4. The density by the Stieltjes transform: see DensitySolver and spectrum_density below.
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "actgrad/error.hpp"
#include "actgrad/scalar.hpp"
#include "actgrad/spectrum.hpp"
#include "quadrature.hpp"

namespace actgrad {
namespace {

using Series = std::vector<double>; // coefficients of z^0, z^1, ...

constexpr double kRelTol = 1e-13;
constexpr int kMaxPieces = 4000;
// gaussian_half_line never evaluates the integrand beyond |z| ~ 38.6 (the weight is 0 there), so
// the law of x seen by every quadrature is that of h = sqrt(q*) z, |z| <= kZEnd.
constexpr double kZEnd = 38.6;

// The law of D^2's entries x = phi'(sqrt(q*) z)^2, z ~ N(0, 1), and expectations over it.
struct DiagLaw {
  const Activation& act;
  double s = 0;    // sqrt(q*)
  double xmax = 0; // sup of x over |z| <= kZEnd

  double x(double z) const {
    const double d = evaluate(act, s * z).dy;
    return d * d;
  }
  // E[g(x)] over [0, inf) and (-inf, 0] (the split puts kinks at 0 at an interval end).
  template <class G>
  double expect(G&& g, double rel_tol = kRelTol) const {
    return detail::gaussian_half_line([&](double z) { return g(x(z)) + g(x(-z)); }, 0.0, 1.0,
                                      rel_tol, kMaxPieces) /
           std::sqrt(2.0 * M_PI);
  }
};

// sup of x: a grid over |z| <= kZEnd, refined by golden section around the best grid point, and
// the values beside z = 0 (a one-sided limit at a kink, as for selu).
double find_xmax(const DiagLaw& d) {
  const int n = 8000;
  const double h = 2 * kZEnd / n;
  double best = -1, bz = 0;
  for (int i = 0; i <= n; ++i) {
    const double z = -kZEnd + h * i, v = d.x(z);
    if (v > best) best = v, bz = z;
  }
  double a = bz - h, b = bz + h;
  const double g = 0.5 * (std::sqrt(5.0) - 1);
  double c = b - g * (b - a), e = a + g * (b - a), fc = d.x(c), fe = d.x(e);
  for (int i = 0; i < 80; ++i) {
    if (fc > fe) {
      b = e, e = c, fe = fc, c = b - g * (b - a), fc = d.x(c);
    } else {
      a = c, c = e, fc = fe, e = a + g * (b - a), fe = d.x(e);
    }
  }
  for (const double v : {fc, fe, d.x(1e-300), d.x(-1e-300)})
    if (v > best) best = v;
  return best;
}

// --- truncated power series, n coefficients ---

// log a for a[0] = 1: n b_n = n a_n - sum_{j=1}^{n-1} j b_j a_{n-j}.
Series series_log(const Series& a, std::size_t n) {
  Series b(n, 0.0);
  for (std::size_t m = 1; m < n; ++m) {
    double s = m * a[m];
    for (std::size_t j = 1; j < m; ++j) s -= double(j) * b[j] * a[m - j];
    b[m] = s / double(m);
  }
  return b;
}

// exp a for a[0] = 0: n e_n = sum_{j=1}^n j a_j e_{n-j}.
Series series_exp(const Series& a, std::size_t n) {
  Series e(n, 0.0);
  e[0] = 1;
  for (std::size_t m = 1; m < n; ++m) {
    double s = 0;
    for (std::size_t j = 1; j <= m; ++j) s += double(j) * a[j] * e[m - j];
    e[m] = s / double(m);
  }
  return e;
}

// log(1 + z), n coefficients.
Series log1p_series(std::size_t n) {
  Series l(n, 0.0);
  for (std::size_t k = 1; k < n; ++k) l[k] = (k % 2 ? 1.0 : -1.0) / double(k);
  return l;
}

// [z^(k-1)] exp(k * (alpha log(1 + z) + beta * ell(z))) / k: Lagrange inversion's coefficient.
double lagrange(const Series& log1p, const Series& ell, double alpha, double beta, std::size_t k) {
  Series a(k, 0.0);
  for (std::size_t j = 1; j < k; ++j) a[j] = double(k) * (alpha * log1p[j] + beta * ell[j]);
  return series_exp(a, k)[k - 1] / double(k);
}

void require(bool ok, const std::string& what) {
  if (!ok) throw Error("spectrum theory: " + what);
}

void validate(const Activation& act, std::int64_t depth, double sigma_w2, double q_star) {
  require(!act.is_gated(), std::string("act must be a unary activation (") + act.name() +
                               " is a gated unit, for which D is not diagonal in the same way)");
  require(depth >= 1, "depth must be >= 1 (got " + std::to_string(depth) + ")");
  require(sigma_w2 > 0 && std::isfinite(sigma_w2), "sigma_w2 must be finite and > 0");
  require(q_star > 0 && std::isfinite(q_star), "q_star must be finite and > 0");
}

// log f(w) = log of (1 + z) / (z S_J(z)) in units of m1, at w = t / xmax' (t = 1 - s, s given
// separately so that 1 - x w keeps its digits near the end), z = M_D(w).
struct EdgeFunction {
  const DiagLaw& d;
  double log_xmax_n; // log(xmax / mu_1)
  double L;
  bool gaussian;

  // z = E[r t / (s + t (1 - r))], r = x / xmax in [0, 1].
  double z_of(double s) const {
    const double t = 1 - s;
    return d.expect([&](double x) {
      const double r = std::min(x / d.xmax, 1.0), omr = std::max(d.xmax - x, 0.0) / d.xmax;
      return r * t / (s + t * omr);
    });
  }
  double log_f(double s, double z) const {
    const double log_w = std::log1p(-s) - log_xmax_n;
    if (gaussian) return std::log1p(z) + (L - 1) * std::log(z) - L * log_w;
    return (L - 1) * (std::log(z) - std::log1p(z)) - L * log_w;
  }
  // s = 1 - t as a function of u = logit(t).
  static double s_of(double u) { return 1.0 / (1.0 + std::exp(u)); }
  double at(double u) const {
    const double s = s_of(u);
    return log_f(s, z_of(s));
  }
};

double lambda_max_of(const DiagLaw& d, double mu1, std::int64_t depth, bool gaussian) {
  const EdgeFunction F{d, std::log(d.xmax / mu1), double(depth), gaussian};
  // One orthogonal layer: J J^T = S D^2, log f = -log w does not involve z, and the edge is the
  // top of D^2's law, max x / mu_1 (the end value below, reached without integrating).
  if (!gaussian && depth == 1) return d.xmax / mu1;
  // u = logit(t) from -30 (w ~ 1e-13 / xmax') to 34.5 (1 - t = 1e-15, the end of what double
  // resolves next to 1).
  const double u0 = -30, u1 = 34.5, du = 0.5;
  const int n = int((u1 - u0) / du + 0.5);
  std::vector<double> v(std::size_t(n) + 1);
  int best = 0;
  // log f -> +inf as w -> 0 and has one minimum (the edge); scan upwards and stop two points
  // past the lowest once the values rise, so the costly end (1 - x w ~ 1e-15, where the
  // integrand peaks sharply) is integrated only when the minimum is near it.
  for (int i = 0; i <= n; ++i) {
    v[std::size_t(i)] = F.at(u0 + du * i);
    if (v[std::size_t(i)] < v[std::size_t(best)]) best = i;
    if (i >= best + 2 && v[std::size_t(i)] > v[std::size_t(i - 1)]) break;
  }
  double log_min = v[std::size_t(best)];
  if (best == n) {
    // The minimum is at the end w -> 1 / max x: the edge is the limit there. If M_D diverges
    // (an atom at max x, as for relu or linear, or a smooth maximum, as for tanh: the law of x
    // piles up at its top), z -> inf and log f -> L log xmax' for orthogonal weights (for
    // Gaussian weights it -> +inf, so the minimum cannot be there). If M_D(1 / max x) is finite
    // (the maximum only approached in the tails, as for softplus), the end value is f at the
    // end, which the last grid point already is to ~1e-15. Divergence is recognised by z still
    // growing by more than 1% between 1 - t = 1e-10 and 1e-15; a finite limit changes there by
    // at most ~ (1e-10)^(1/2) relative for any law with an integrable density near its top.
    const double z_a = F.z_of(1e-10), z_b = F.z_of(EdgeFunction::s_of(u1));
    if (!gaussian && !(z_b <= 1.01 * z_a)) log_min = double(depth) * F.log_xmax_n;
  } else {
    // Golden section on the bracket around the grid minimum (log f is unimodal in u there).
    double a = u0 + du * std::max(best - 1, 0), b = u0 + du * std::min(best + 1, n);
    const double g = 0.5 * (std::sqrt(5.0) - 1);
    double c = b - g * (b - a), e = a + g * (b - a), fc = F.at(c), fe = F.at(e);
    for (int i = 0; i < 60 && b - a > 1e-9; ++i) {
      if (fc < fe) {
        b = e, e = c, fe = fc, c = b - g * (b - a), fc = F.at(c);
      } else {
        a = c, c = e, fc = fe, e = a + g * (b - a), fe = F.at(e);
      }
    }
    log_min = std::min({log_min, fc, fe});
  }
  return std::exp(log_min);
}

// The S-transform of D^2 in units of mu_1, as a series of its logarithm.
struct DiagSeries {
  std::vector<double> mu; // mu_k, k = 1..orders
  Series log_s;           // log S_D(z) = log((1 + z) chi(z) / z), orders coefficients
};

DiagSeries diag_series(const DiagLaw& d, int orders) {
  DiagSeries r;
  const std::size_t n = std::size_t(orders);
  r.mu.resize(n);
  for (std::size_t k = 1; k <= n; ++k) {
    r.mu[k - 1] = d.expect([&](double x) { return std::pow(x, double(k)); });
    require(std::isfinite(r.mu[k - 1]), std::string("E[phi'(h)^") + std::to_string(2 * k) +
                                            "] is not finite for " + d.act.name() +
                                            " at this q_star");
  }
  const double mu1 = r.mu[0];
  require(mu1 > 0, std::string("E[phi'(h)^2] = 0 for ") + d.act.name() + ": J vanishes");
  // M(z) / z = sum_k (mu_k / mu_1^k) z^(k-1).
  Series m(n, 0.0);
  for (std::size_t k = 1; k <= n; ++k) m[k - 1] = r.mu[k - 1] / std::pow(mu1, double(k));
  const Series log_m = series_log(m, n);
  // chi(z) / z: [z^(j)] = [w^(j+1)] chi = (1/(j+1)) [z^j] exp(-(j+1) log(M/z)).
  Series c(n, 0.0);
  c[0] = 1;
  for (std::size_t j = 1; j < n; ++j) {
    Series a(j + 1, 0.0);
    for (std::size_t i = 1; i <= j; ++i) a[i] = -double(j + 1) * log_m[i];
    c[j] = series_exp(a, j + 1)[j] / double(j + 1);
  }
  // S_D = (1 + z) chi / z.
  Series sd(n, 0.0);
  for (std::size_t j = 0; j < n; ++j) sd[j] = c[j] + (j > 0 ? c[j - 1] : 0.0);
  r.log_s = series_log(sd, n);
  return r;
}

DiagLaw make_law(const Activation& act, double q_star) {
  DiagLaw d{act, std::sqrt(q_star), 0};
  d.xmax = find_xmax(d);
  return d;
}

} // namespace

SpectrumTheory spectrum_theory(const Activation& act, WeightInit init, std::int64_t depth,
                               double sigma_w2, double sigma_b2, double q_star, int orders) {
  validate(act, depth, sigma_w2, q_star);
  require(sigma_b2 >= 0 && std::isfinite(sigma_b2), "sigma_b2 must be finite and >= 0");
  require(orders >= 3 && orders <= 32,
          "orders must be in [3, 32] (got " + std::to_string(orders) + ")");
  const DiagLaw d = make_law(act, q_star);
  const DiagSeries ds = diag_series(d, orders);
  const bool gaussian = init == WeightInit::gaussian;

  SpectrumTheory r;
  r.sigma_w2 = sigma_w2;
  r.sigma_b2 = sigma_b2;
  r.q_star = q_star;
  r.init = init;
  r.depth = depth;
  r.mu = ds.mu;
  r.chi1 = sigma_w2 * ds.mu[0];
  r.m1 = std::pow(r.chi1, double(depth)); // may over- or underflow for huge depth
  // In units of m1: S_J = (S_D S_W)^L with log S_W = -g log(1 + z) (g = 1 Gaussian, 0
  // orthogonal), so (1 + z)^k S_J^(-k) = exp(k (log(1 + z) - L (log S_D - g log(1 + z)))). The
  // bracket multiplying L is formed first, so that an isometry (linear orthogonal: log S_D = 0)
  // keeps no rounding of size L eps.
  const double L = double(depth), g = gaussian ? 1.0 : 0.0;
  const Series l1p = log1p_series(std::size_t(orders));
  Series bracket(std::size_t(orders), 0.0);
  for (std::size_t j = 1; j < bracket.size(); ++j) bracket[j] = ds.log_s[j] - g * l1p[j];
  r.moments.resize(std::size_t(orders));
  std::vector<double> ratio(static_cast<std::size_t>(orders), 0.0);
  for (std::size_t k = 1; k <= std::size_t(orders); ++k) {
    ratio[k - 1] = lagrange(l1p, bracket, 1.0, -L, k);
    r.moments[k - 1] = ratio[k - 1] * std::pow(r.m1, double(k)); // inf where it overflows
  }
  r.moments[0] = r.m1;
  r.m2_ratio = ratio[1] - 1;
  r.m3_ratio = ratio[2];
  r.lambda_max = lambda_max_of(d, ds.mu[0], depth, gaussian);
  // P(phi'(h) = 0): x == 0 exactly (relu's negative half, hardtanh's |h| > 1; 0 for tanh, whose
  // phi' underflows to 0 only where the Gaussian weight is ~1e-60 or less).
  r.zero_mass = d.expect([](double x) { return x == 0 ? 1.0 : 0.0; });
  return r;
}

namespace {

using cplx = std::complex<double>;

// The law of x = phi'(h)^2 / mu_1 as a discrete rule {(x_j, p_j)}, built once per call: the
// Gauss-Kronrod 15 nodes of an adaptive partition of the half-line variable t (z = t / (1 - t),
// both signs of z, as DiagLaw::expect) refined until every test function below is integrated to
// 1e-12 in all; nodes with equal x are then merged (relu and hardtanh collapse to two or three
// atoms). The test functions are x / max x and 1 / (1 - x w) for w = e^{-i pi/4} 10^k / max x,
// k = 0..8: they force the partition to resolve x(z) on the scale of its jumps (to ~1e-13 in t)
// and the near-pole 1 / (1 - x w) for |x w| ~ 1 over eight decades of x. M_D and its derivative
// for w off [1 / max x, inf) are then sums over the rule.
struct DiagRule {
  std::vector<double> x, p; // x_j in units of mu_1, weights p_j (sum 1 up to the Gaussian tail)
  double zero = 0;          // sum of p_j with x_j == 0: the atom of D^2 at 0
};

DiagRule make_rule(const DiagLaw& d, double mu1) {
  constexpr int kTests = 10;
  std::vector<cplx> tw(kTests - 1);
  for (int k = 0; k + 1 < kTests; ++k)
    tw[std::size_t(k)] = std::polar(std::pow(10.0, k) / d.xmax, -M_PI / 4);
  // Test values at z (both signs summed), weighted by the normal density and the Jacobian.
  auto tests = [&](double t, double* out) {
    const double u = 1.0 - t, z = t / u, wt = std::exp(-0.5 * z * z) / (u * u);
    for (int k = 0; k < 2 * kTests; ++k) out[k] = 0;
    if (wt == 0.0) return;
    for (const double x : {d.x(z), d.x(-z)}) {
      out[0] += wt * x / d.xmax;
      for (int k = 1; k < kTests; ++k) {
        const cplx q = wt / (1.0 - x * tw[std::size_t(k - 1)]);
        out[2 * k] += q.real();
        out[2 * k + 1] += q.imag();
      }
    }
  };
  struct Piece {
    double a, b, err;
    bool operator<(const Piece& o) const { return err < o.err; }
  };
  auto estimate = [&](double a, double b) {
    const double c = 0.5 * (a + b), r = 0.5 * (b - a);
    double k[2 * kTests] = {}, g[2 * kTests] = {}, v[2 * kTests], v2[2 * kTests];
    tests(c, v);
    for (int i = 0; i < 2 * kTests; ++i) {
      k[i] = v[i] * detail::kGkKronrodWeights[7];
      g[i] = v[i] * detail::kGkGaussWeights[3];
    }
    for (int j = 0; j < 7; ++j) {
      tests(c - r * detail::kGkNodes[j], v);
      tests(c + r * detail::kGkNodes[j], v2);
      for (int i = 0; i < 2 * kTests; ++i) {
        k[i] += detail::kGkKronrodWeights[j] * (v[i] + v2[i]);
        if (j % 2 == 1) g[i] += detail::kGkGaussWeights[j / 2] * (v[i] + v2[i]);
      }
    }
    double e = 0;
    for (int i = 0; i < 2 * kTests; ++i) e += std::fabs(k[i] - g[i]) * r;
    return Piece{a, b, std::isfinite(e) ? e : 1.0};
  };
  std::priority_queue<Piece> heap;
  double err = 0;
  for (int i = 0; i < 16; ++i) {
    const Piece p = estimate(i / 16.0, (i + 1) / 16.0);
    err += p.err;
    heap.push(p);
  }
  const double norm = 1.0 / std::sqrt(2.0 * M_PI);
  for (int count = 16; err * norm > 1e-12 && count < 6000; ++count) {
    const Piece p = heap.top();
    heap.pop();
    const double m = 0.5 * (p.a + p.b);
    if (!(m > p.a && m < p.b)) { // too narrow to split: keep it as it is
      err -= p.err;
      heap.push(Piece{p.a, p.b, 0});
      continue;
    }
    const Piece l = estimate(p.a, m), r = estimate(m, p.b);
    err += l.err + r.err - p.err;
    heap.push(l);
    heap.push(r);
  }
  std::vector<std::pair<double, double>> nodes;
  auto add = [&](double t, double weight) {
    const double u = 1.0 - t, z = t / u, wt = weight * norm * std::exp(-0.5 * z * z) / (u * u);
    if (wt == 0.0) return;
    nodes.emplace_back(d.x(z) / mu1, wt);
    nodes.emplace_back(d.x(-z) / mu1, wt);
  };
  for (; !heap.empty(); heap.pop()) {
    const Piece& p = heap.top();
    const double c = 0.5 * (p.a + p.b), r = 0.5 * (p.b - p.a);
    add(c, r * detail::kGkKronrodWeights[7]);
    for (int j = 0; j < 7; ++j) {
      add(c - r * detail::kGkNodes[j], r * detail::kGkKronrodWeights[j]);
      add(c + r * detail::kGkNodes[j], r * detail::kGkKronrodWeights[j]);
    }
  }
  std::sort(nodes.begin(), nodes.end());
  DiagRule rule;
  for (const auto& [x, p] : nodes) {
    if (!rule.x.empty() && rule.x.back() == x) {
      rule.p.back() += p;
    } else {
      rule.x.push_back(x);
      rule.p.push_back(p);
    }
  }
  for (std::size_t j = 0; j < rule.x.size(); ++j)
    if (rule.x[j] == 0) rule.zero += rule.p[j];
  return rule;
}

// The Stieltjes-transform solver of spectrum_density, in units of m1. For lambda off the real
// axis, z = M_J(1 / lambda) = lambda G(lambda) - 1 solves lambda z S_J(z) = 1 + z; with
// z = M_D(w) = E[x w / (1 - x w)] (x in units of mu_1) and S_D = (1 + z) w / z this is, divided
// by L, in u = log w and ell = log lambda,
//   R(u) = ell / L + (1/L - 1) log z + u + (o - 1/L) log(1 + z) = 0,
// o = 1 for orthogonal and 0 for Gaussian weights. The branch is fixed: on the real axis right of
// the spectrum every quantity is real and positive, and for lambda in the upper half plane z,
// 1 + z and w (the subordination function) stay in the lower half plane, so with principal logs
// R is single-valued and analytic along every path in the upper half plane: no 2 pi i / L
// ambiguity, whose spurious roots crowd together as L grows (the cause of the old solver's
// failures at depth). R and dR/du are O(1) for every L, so one Newton tolerance serves all
// depths, and log w follows |w| ~ lambda^(-1/(L+1)) near 0 over hundreds of decades.
struct DensitySolver {
  const DiagRule& rule;
  double L;
  bool orth;

  struct State {
    cplx ell, u; // log lambda, log w
    cplx a, z;   // 1 + z = E[1 / (1 - x w)] and z, each summed directly (for their own digits)
    cplx slope;  // du / d ell at (ell, u)
  };

  // R(u) at ell and dR/du; fills s.a, s.z. false if not finite.
  bool eval(const cplx& ell, const cplx& u, cplx& R, cplx& dR, State& s) const {
    const cplx w = std::exp(u);
    cplx a = 0, z = 0, wdz = 0;
    for (std::size_t j = 0; j < rule.x.size(); ++j) {
      const double x = rule.x[j], p = rule.p[j];
      const cplx xw = x * w, q = 1.0 / (1.0 - xw);
      a += p * q;
      // x w q = q - 1, the first form for small |x w| (q ~ 1), the second beyond: every term
      // of Im z (and of Im a) then has the sign of Im q <= 0 to its last digits, so the sum keeps
      // z in the lower half plane when z ~ -1 (lambda -> 0), where a product x w q's rounding
      // would flip the sign of a tiny Im z and principal log z would jump by 2 pi i.
      const cplx zt = std::norm(xw) < 0.25 ? xw * q : q - 1.0;
      z += p * zt;
      wdz += p * (zt * q); // w dz/dw = E[x w / (1 - x w)^2]; x q^2 would underflow for huge w
    }
    const double o = orth ? 1.0 : 0.0;
    R = ell / L + (1.0 / L - 1.0) * std::log(z) + u + (o - 1.0 / L) * std::log(a);
    dR = 1.0 + ((1.0 / L - 1.0) / z + (o - 1.0 / L) / a) * wdz;
    s.a = a;
    s.z = z;
    return std::isfinite(std::abs(R)) && std::isfinite(std::abs(dR)) && std::abs(dR) > 0;
  }

  // Newton from the predictor s.u at s.ell. Accepts only a contracting iteration (each step at
  // most half the one before, the first at most 0.25 in log w) that converges: a predictor
  // outside the root's basin, or nearer another root, fails instead of jumping. Converged: a
  // step below 1e-12 (1 + |u|), or |R| at the rounding level of its terms (near an edge, where
  // two roots merge and dR -> 0, the step cannot get that small).
  bool newton(State& s) const {
    cplx R, dR;
    double prev = INFINITY;
    for (int it = 0; it < 16; ++it) {
      if (!eval(s.ell, s.u, R, dR, s)) return false;
      const double scale = 1 + std::abs(s.u) + std::abs(s.ell) / L + std::abs(std::log(s.z)) +
                           std::abs(std::log(s.a));
      if (it > 0 && std::abs(R) <= 1e-13 * scale) break;
      const cplx step = R / dR;
      const double n = std::abs(step), tol = 1e-12 * (1 + std::abs(s.u));
      if (!(n <= 0.25) || (n > 0.5 * prev && n > 1e3 * tol)) return false;
      s.u -= step;
      prev = n;
      if (n <= tol) {
        if (!eval(s.ell, s.u, R, dR, s)) return false;
        break;
      }
      if (it == 15) return false;
    }
    s.slope = -1.0 / (L * dR);
    return true;
  }

  // Continues s along ell(tau), tau from 0 to 1, with adaptive steps (doubled after an easy
  // step, halved after a failed one). false if the step falls below 1e-9 or 1000 tries are spent
  // (which bounds the cost of a point that fails).
  template <class Path>
  bool walk(State& s, Path&& path) const {
    double tau = 0, h = 0.25;
    for (int tries = 0; tau < 1; ++tries) {
      if (tries > 1000 || h < 1e-9) return false;
      const double next = std::min(1.0, tau + h);
      State t = s;
      t.ell = path(next);
      t.u = s.u + s.slope * (t.ell - s.ell);
      if (newton(t)) {
        s = t;
        tau = next;
        h = std::min(2 * h, 0.5);
      } else {
        h *= 0.5;
      }
    }
    return true;
  }
};

} // namespace

std::vector<double> spectrum_density(const Activation& act, WeightInit init, std::int64_t depth,
                                     double sigma_w2, double q_star, const std::vector<double>& x) {
  validate(act, depth, sigma_w2, q_star);
  const DiagLaw d = make_law(act, q_star);
  const double mu1 = d.expect([](double v) { return v; });
  require(std::isfinite(mu1) && mu1 > 0,
          std::string("E[phi'(h)^2] must be finite and > 0 for ") + act.name());
  const bool gaussian = init == WeightInit::gaussian;
  // Not covered: with orthogonal weights, one layer (J J^T = S D^2, whose law is that of phi'^2:
  // w = 1 / lambda sits on the real axis, where M_D's integrand is singular) and a constant phi'
  // (linear: J J^T is an isometry, an atom at 1) have no smooth density for this solver.
  if (!gaussian && (depth == 1 || d.xmax <= mu1 * (1 + 1e-9)))
    throw Error("spectrum_density: not implemented for orthogonal weights with depth 1 or a "
                "constant phi' (the law is that of phi'^2 itself, or an atom at 1)",
                Error::Kind::runtime);
  const double edge = lambda_max_of(d, mu1, depth, gaussian);
  const DiagRule rule = make_rule(d, mu1);
  const DensitySolver solver{rule, double(depth), !gaussian};
  using State = DensitySolver::State;
  // Path: start on the real axis at lambda = 100 edge (w ~ 1 / lambda, all real), turn to the
  // ray arg lambda = pi/2 (as far from the spectrum on [0, edge] as the upper half plane allows),
  // move along it in log |lambda| to each x in decreasing order, and from there turn down to
  // arg lambda = eps at fixed |lambda| = x, geometrically in the angle. The point evaluated is
  // lambda = x e^{i eps}: a Cauchy smoothing of relative width eps = 1e-7 at every scale, so
  // the density is resolved at x = 1e-300 as at x = 1 (a height relative to lambda_max would
  // blur everything below ~1e-7 lambda_max).
  const double theta0 = M_PI / 2, eps = 1e-7;
  const double ell0 = std::log(100 * edge);
  auto start = [&](State& s) {
    s.ell = ell0;
    s.u = -ell0;
    s.slope = 0;
    if (!solver.newton(s)) return false;
    return solver.walk(s, [&](double t) { return cplx(ell0, theta0 * t); });
  };
  std::vector<std::size_t> order(x.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] > x[b]; });
  std::vector<double> out(x.size(), 0.0);
  State ray{};
  bool on_ray = false;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const std::size_t i : order) {
    const double xi = x[i];
    // Outside the support; also x within 1e-12 of the edge (where the density is ~1e-6 of its
    // scale and two roots merge, so Newton cannot tell them apart).
    if (!(xi > 0) || !(xi < edge * (1 - 1e-12)) || !std::isfinite(xi)) continue;
    const double lx = std::log(xi);
    if (!on_ray) on_ray = start(ray);
    if (on_ray) {
      const cplx from = ray.ell, to(lx, theta0);
      on_ray = solver.walk(ray, [&](double t) { return from + (to - from) * t; });
    }
    if (!on_ray) { // lost the path: NaN here, a fresh start for the next point
      out[i] = nan;
      continue;
    }
    State s = ray;
    if (!solver.walk(s, [&](double t) { return cplx(lx, theta0 * std::pow(eps / theta0, t)); })) {
      out[i] = nan;
      continue;
    }
    // rho = -Im G / pi, G = (1 + z) / lambda, less the atom zero / lambda of D^2's zeros (which
    // J J^T keeps: see SpectrumTheory::zero_mass), whose Cauchy bump zero sin(eps) / (pi x)
    // would otherwise dominate near 0.
    const cplx g = (s.a - rule.zero) * std::exp(-s.ell);
    const double rho = -g.imag() / M_PI;
    out[i] = std::isfinite(rho) ? std::max(0.0, rho) : nan;
  }
  return out;
}

} // namespace actgrad
