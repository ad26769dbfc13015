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
// 4. The density by the Stieltjes transform: see spectrum_density below.
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <string>
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
  return r;
}

namespace {

using cplx = std::complex<double>;

// The Stieltjes-transform solver of spectrum_density, in units of m1. For lambda off the real
// axis, z = M_J(1 / lambda) = lambda G(lambda) - 1 solves lambda z S_J(z) = 1 + z; with
// z = M_D(w) = E[x w / (1 - x w)] (x in units of mu_1) and S_D = (1 + z) w / z this is
//   F(w) = log lambda + log z + L log w - L log z + (o L - 1) log(1 + z) = 0  (mod 2 pi i),
// o = 1 for orthogonal and 0 for Gaussian weights. F is solved by Newton in w, continued along a
// path in the upper half plane of lambda, where G is analytic.
struct DensitySolver {
  const DiagLaw& d;
  double mu1, L;
  bool orth;

  // z = M_D(w) and z' = dM_D/dw, each as two real quadratures.
  void mz(cplx w, cplx& z, cplx& dz) const {
    auto part = [&](auto&& g) { return d.expect(g, 1e-11); };
    const double zr = part([&](double x) { return std::real(x / mu1 * w / (1.0 - x / mu1 * w)); });
    const double zi = part([&](double x) { return std::imag(x / mu1 * w / (1.0 - x / mu1 * w)); });
    const double dr = part([&](double x) {
      const cplx q = 1.0 - x / mu1 * w;
      return std::real(x / mu1 / (q * q));
    });
    const double di = part([&](double x) {
      const cplx q = 1.0 - x / mu1 * w;
      return std::imag(x / mu1 / (q * q));
    });
    z = {zr, zi};
    dz = {dr, di};
  }
  // F reduced to |Im F| <= pi, and F'(w).
  void eval(cplx lambda, cplx w, cplx& F, cplx& dF, cplx& z) const {
    cplx dz;
    mz(w, z, dz);
    const double o = orth ? 1.0 : 0.0;
    F = std::log(lambda) + (1.0 - L) * std::log(z) + L * std::log(w) +
        (o * L - 1.0) * std::log(1.0 + z);
    F -= cplx(0, 2 * M_PI * std::round(F.imag() / (2 * M_PI)));
    dF = ((1.0 - L) / z + (o * L - 1.0) / (1.0 + z)) * dz + L / w;
  }
  // Newton from the predictor w; fails if it does not converge or lands more than ~1 radian of
  // F away from the predictor (a neighbouring root of exp(F) = 1: they are 2 pi / |F'| apart).
  bool newton(cplx lambda, cplx& w, cplx& z) const {
    const cplx w0 = w;
    cplx F, dF, dF0 = 0;
    for (int it = 0; it < 40; ++it) {
      eval(lambda, w, F, dF, z);
      if (it == 0) dF0 = dF;
      const cplx step = F / dF;
      if (!std::isfinite(std::abs(step))) return false;
      w -= step;
      if (std::abs(step) <= 1e-13 * std::abs(w)) {
        eval(lambda, w, F, dF, z);
        return std::abs(w - w0) * std::abs(dF0) < 1.0 && std::abs(F) < 1e-9;
      }
    }
    return false;
  }
  // Continues (lambda, w) to target by steps, halving a step that fails.
  void walk(cplx& lambda, cplx& w, cplx target, int pieces, int depth = 0) const {
    const cplx start = lambda;
    for (int i = 1; i <= pieces; ++i) {
      const cplx next = start + (target - start) * (double(i) / pieces);
      cplx wn = w, z;
      // Predictor: dw/dlambda = -(1 / lambda) / F'(w).
      cplx F, dF;
      eval(lambda, w, F, dF, z);
      wn = w - (next - lambda) / lambda / dF;
      if (newton(next, wn, z)) {
        lambda = next;
        w = wn;
        continue;
      }
      if (depth > 24)
        throw Error("spectrum_density: the Stieltjes transform solver did not converge",
                    Error::Kind::runtime);
      walk(lambda, w, next, 2, depth + 1);
    }
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
  const DensitySolver solver{d, mu1, double(depth), !gaussian};
  // Order of visit: increasing x; the solution is kept at height H above the real axis and
  // lowered to eta for each point. eta = 1e-7 edge smooths the density by a Cauchy kernel of that
  // width: invisible except within ~eta of an edge or of a singularity at 0.
  std::vector<std::size_t> order(x.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> out(x.size(), 0.0);
  const double H = edge, eta = 1e-7 * edge;
  // Start far right on the real axis, where z ~ w ~ 1 / lambda, and climb to height H.
  cplx lambda = 100.0 * edge, w = 1.0 / lambda, z;
  if (!solver.newton(lambda, w, z))
    throw Error("spectrum_density: no starting solution", Error::Kind::runtime);
  solver.walk(lambda, w, lambda + cplx(0, H), 8);
  for (const std::size_t i : order) {
    const double xi = x[i];
    if (!(xi > 0) || !(xi < edge) || !std::isfinite(xi)) continue; // outside the support
    solver.walk(lambda, w, cplx(xi, H), 8);
    cplx l2 = lambda, w2 = w;
    // Down to eta in geometric steps of Im lambda.
    const int steps = 40;
    for (int k = 1; k <= steps; ++k)
      solver.walk(l2, w2, cplx(xi, H * std::pow(eta / H, double(k) / steps)), 1);
    cplx F, dF;
    solver.eval(l2, w2, F, dF, z);
    // rho = -Im G / pi with G = (1 + z) / lambda.
    out[i] = std::max(0.0, -std::imag((1.0 + z) / l2) / M_PI);
  }
  return out;
}

} // namespace actgrad
