// Initialisation from mean-field theory (include/actgrad/shaping.hpp): the variance-preserving
// gain and critical points on the order/chaos edge, from the q-map and chi integrals of
// mean_field.cpp (adaptive Gauss-Kronrod, 1e-14 relative).
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "actgrad/decay.hpp"
#include "actgrad/error.hpp"
#include "actgrad/scalar.hpp"
#include "actgrad/shaping.hpp"
#include "quadrature.hpp"

namespace actgrad {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void check_unary(const Activation& act, const char* fn) {
  if (act.is_gated())
    throw Error(std::string(fn) + ": '" + act.to_string() +
                "' is a gated unit act(a) * b; initialisation is defined for unary activations "
                "(use its gate, e.g. silu for swiglu)");
}

// E[phi(sqrt(q) z)^2] and E[phi'(sqrt(q) z)^2], checked to be finite and positive.
struct Moments {
  double m2, d2;
};
Moments moments(const Activation& act, double q, const char* fn) {
  const Moments m{mean_field_qmap(act, 1.0, 0.0, q), mean_field_chi(act, 1.0, q)};
  if (!std::isfinite(m.m2) || !(m.m2 > 0.0) || !std::isfinite(m.d2) || !(m.d2 > 0.0))
    throw Error(std::string(fn) + ": '" + act.to_string() + "' has E[f(z)^2] = " + num(m.m2) +
                " and E[f'(z)^2] = " + num(m.d2) + " at q = " + num(q) +
                "; both must be finite and > 0 (f must be defined on the whole real line)");
  return m;
}

CriticalPoint finish(const Activation& act, double q, double sigma_w2, double sigma_b2) {
  CriticalPoint c;
  c.q_star = q;
  c.sigma_w2 = sigma_w2;
  c.sigma_b2 = sigma_b2;
  c.chi1 = mean_field_chi(act, sigma_w2, q);
  c.chi_q = mean_field_qmap_slope(act, sigma_w2, q);
  // xi_q = -1/ln(chi_q): positive where q* attracts (chi_q < 1), negative where it repels
  // (chi_q > 1: |xi_q| layers per e-fold departure), inf where the map is neutral (relu).
  c.xi_q = std::fabs(c.chi_q - 1.0) <= 1e-12 ? kInf : -1.0 / std::log(c.chi_q);
  // chi1 = 1 up to the quadrature's rounding by construction: the edge's xi_c is infinite.
  c.xi_c = std::fabs(c.chi1 - 1.0) <= 1e-12 ? kInf : -1.0 / std::log(c.chi1);
  return c;
}

} // namespace

double variance_gain(const Activation& act) {
  check_unary(act, "variance_gain");
  return 1.0 / std::sqrt(moments(act, 1.0, "variance_gain").m2);
}

double fan_in_std(const Activation& act, std::int64_t fan_in) {
  if (fan_in < 1) throw Error("fan_in_std: fan_in must be >= 1, got " + std::to_string(fan_in));
  return variance_gain(act) / std::sqrt(double(fan_in));
}

CriticalPoint critical_point_at_q_star(const Activation& act, double q_star) {
  check_unary(act, "critical_point");
  if (!(q_star > 0.0) || !std::isfinite(q_star))
    throw Error("critical_point: q_star must be finite and > 0, got " + num(q_star));
  const Moments m = moments(act, q_star, "critical_point");
  const double sigma_w2 = 1.0 / m.d2;
  double sigma_b2 = q_star - sigma_w2 * m.m2;
  if (std::fabs(sigma_b2) <= 1e-12 * q_star) sigma_b2 = 0.0; // rounding on an exact edge
  if (sigma_b2 < 0.0) {
    std::string hint = "choose another q_star";
    try { // the edge's smallest q*, where sigma_b2 = 0
      hint = "the edge reaches sigma_b2 = 0 at q_star = " +
             num(critical_point_at_sigma_b2(act, 0.0).q_star);
    } catch (const Error&) {
    }
    throw Error("critical_point: no critical point for '" + act.to_string() +
                "' at q_star = " + num(q_star) + ": it would need sigma_b2 = " + num(sigma_b2) +
                " < 0 (sigma_w2 = " + num(sigma_w2) + "); " + hint);
  }
  return finish(act, q_star, sigma_w2, sigma_b2);
}

CriticalPoint critical_point_at_sigma_b2(const Activation& act, double sigma_b2) {
  check_unary(act, "critical_point");
  if (!(sigma_b2 >= 0.0) || !std::isfinite(sigma_b2))
    throw Error("critical_point: sigma_b2 must be finite and >= 0, got " + num(sigma_b2));
  // h(q) = q - E[phi^2](q) / E[phi'^2](q) is the sigma_b2 that puts q on the edge; find the
  // smallest q with h(q) = sigma_b2 on a log grid from 1e-8 to 1e8, then bisect.
  auto h = [&](double q) {
    const Moments m = moments(act, q, "critical_point");
    return q - m.m2 / m.d2;
  };
  const double scale_free = std::fabs(h(1.0)) + std::fabs(h(4.0) / 4.0);
  if (scale_free <= 1e-12) { // relu-like: h = 0 for every q
    if (sigma_b2 == 0.0) return finish(act, 1.0, 1.0 / moments(act, 1.0, "critical_point").d2, 0.0);
    throw Error("critical_point: no critical point for '" + act.to_string() +
                "' at sigma_b2 = " + num(sigma_b2) +
                ": it is scale-free (E[f^2] / E[f'^2] = q for every q), so the "
                "edge chi1 = 1 has sigma_b2 = 0 only");
  }
  // Candidates in order of q*: the trivial fixed point q* = 0 (sigma_b2 = 0 and f(0) = 0, with
  // sigma_w2 = 1 / f'(0)^2), then every crossing of h(q) = sigma_b2 on a log grid from 1e-8 to
  // 1e8 (factor 2), refined by bisection. The first candidate whose q* attracts (the q-map's
  // slope chi_q <= 1) is returned, else the first: gelu at sigma_b2 = 0 has a repelling q* = 0
  // (sigma_w2 = 4) and an attracting q* > 0 (sigma_w2 = 2.33), which is what a net settles at.
  std::vector<CriticalPoint> found;
  const double d0 = mean_field_chi(act, 1.0, 0.0); // f'(0)^2
  if (sigma_b2 == 0.0 && mean_field_qmap(act, 1.0, 0.0, 0.0) == 0.0 && std::isfinite(d0) &&
      d0 > 0.0) {
    CriticalPoint c = finish(act, 0.0, 1.0 / d0, 0.0);
    // Linear order is neutral there (chi_q = 1); the next order decides: q* = 0 attracts where
    // the q-map falls below the diagonal just above 0.
    const double q = 1e-4;
    c.chi_q = mean_field_qmap(act, c.sigma_w2, 0.0, q) < q ? 1.0 - 1e-9 : 1.0 + 1e-9;
    found.push_back(c);
  }
  double lo = 1e-8, hlo = h(lo) - sigma_b2;
  for (double hi = 2.0 * lo; hi <= 1.1e8 && (found.empty() || found.back().chi_q > 1.0);
       hi *= 2.0) {
    double hhi = h(hi) - sigma_b2;
    if ((hlo < 0.0) != (hhi < 0.0)) {
      double a = lo, b = hi; // h(a) - T and h(b) - T differ in sign
      const bool rising = hlo < 0.0;
      for (int i = 0; i < 200 && b - a > 1e-15 * b; ++i) {
        const double mid = 0.5 * (a + b);
        ((h(mid) - sigma_b2 < 0.0) == rising ? a : b) = mid;
      }
      const double q = rising ? b : a;
      found.push_back(finish(act, q, 1.0 / moments(act, q, "critical_point").d2, sigma_b2));
    }
    lo = hi;
    hlo = hhi;
  }
  for (const CriticalPoint& c : found)
    if (c.chi_q <= 1.0) return c.q_star == 0.0 ? finish(act, 0.0, c.sigma_w2, 0.0) : c;
  if (!found.empty()) return found.front();
  throw Error("critical_point: no critical point for '" + act.to_string() + "' at sigma_b2 = " +
              num(sigma_b2) + ": q - E[f^2] / E[f'^2] never equals it for q* from 1e-8 to 1e8");
}

// --- DKS and TAT ------------------------------------------------------------------------------

namespace {

// E[g(z)], z ~ N(0, 1): the two half lines from `split` (the kink of phi(alpha z + beta), so
// relu-like kinks sit at interval ends), each mapped to [0, 1) by z = split +- t / (1 - t) and
// integrated by adaptive Gauss-Kronrod to 1e-12 relative (tighter never converges on the
// Richardson f'' of the curvature integral, whose rounding is ~1e-13).
template <class G>
double gauss_mean(G&& g, double split) {
  return (detail::gaussian_half_line(g, split, -1.0, 1e-12, 600) +
          detail::gaussian_half_line(g, split, 1.0, 1e-12, 600)) /
         std::sqrt(2.0 * M_PI);
}

// phi, phi' and phi'' at x. phi'' by Richardson-extrapolated central differences of phi'
// (h = 1e-3 max(1, |x|): truncation ~1e-12, rounding ~1e-13 relative); leaky_relu with a solved
// slope is written out (a kink at 0, where phi'' = 0).
struct Phi {
  const Activation* act = nullptr;
  double slope = std::numeric_limits<double>::quiet_NaN(); // leaky_relu: the solved slope
  double f(double x) const {
    if (!std::isnan(slope)) return x >= 0 ? x : slope * x;
    return evaluate(*act, x).y;
  }
  double d(double x) const {
    if (!std::isnan(slope)) return x >= 0 ? 1.0 : slope;
    return evaluate(*act, x).dy;
  }
  double d2(double x) const {
    if (!std::isnan(slope)) return 0.0;
    const double h = 1e-3 * std::max(1.0, std::fabs(x));
    auto D = [&](double e) { return (d(x + e) - d(x - e)) / (2 * e); };
    return (4 * D(h / 2) - D(h)) / 3;
  }
};

// Local map quantities of phi_hat = g (phi(a z + b) + delta), g from Q(1) = 1.
struct Local {
  double mean = 0, gamma = 0, q_slope = 0, c_slope = 0, c_curv = 0;
};

Local local_maps(const Phi& phi, double a, double b, double delta, bool curvature) {
  const double split = a != 0.0 ? -b / a : 0.0;
  Local l;
  l.mean = gauss_mean([&](double z) { return phi.f(a * z + b); }, split);
  const double m2 = gauss_mean(
      [&](double z) {
        const double v = phi.f(a * z + b) + delta;
        return v * v;
      },
      split);
  l.gamma = 1.0 / std::sqrt(m2);
  const double g2 = l.gamma * l.gamma;
  l.q_slope =
      g2 * a *
      gauss_mean([&](double z) { return (phi.f(a * z + b) + delta) * phi.d(a * z + b) * z; },
                 split);
  l.c_slope = g2 * a * a *
              gauss_mean(
                  [&](double z) {
                    const double v = phi.d(a * z + b);
                    return v * v;
                  },
                  split);
  if (curvature)
    l.c_curv = g2 * a * a * a * a *
               gauss_mean(
                   [&](double z) {
                     const double v = phi.d2(a * z + b);
                     return v * v;
                   },
                   split);
  return l;
}

// The reference's bisection for an increasing function, iterate for iterate: returns the first
// iterate within tol of the target (not the exact root).
double solve_increasing(const std::function<double(double)>& fn, double target, double x, double lo,
                        double hi, const char* what) {
  for (int i = 0; i < 100; ++i) {
    const double v = fn(x);
    if (std::fabs(v - target) < 1e-8) return x;
    if (v > target) {
      hi = x;
      x = 0.5 * (x + lo);
    } else if (v < target) {
      lo = x;
      x = std::isinf(hi) ? 2 * x : 0.5 * (x + hi);
    }
  }
  throw Error(std::string(what) + ": the network-level target cannot be reached for this "
                                  "network (no local value within 100 bisection steps)");
}

// The network's "C-map-like" recursion with each nonlinear layer replaced by r, maximised over
// the whole net and the single residual branch (NetworkShape).
double subnet_max(const NetworkShape& n, double x, const std::function<double(double)>& r) {
  if (n.resnet_blocks.empty()) {
    for (std::int64_t i = 0; i < n.depth; ++i) x = r(x);
    return x;
  }
  double branch = x;
  for (int k = 0; k < n.branch_depth; ++k) branch = r(branch);
  const double w2 = n.shortcut_weight * n.shortcut_weight;
  for (const int blocks : n.resnet_blocks)
    for (int j = 0; j < blocks; ++j) {
      double res = x;
      for (int k = 0; k < n.branch_depth; ++k) res = r(res);
      const double sc = j == 0 ? r(x) : x;
      x = w2 * sc + (1.0 - w2) * res;
    }
  x = r(x);
  return std::max(x, branch);
}

void check_network(const NetworkShape& n) {
  if (n.resnet_blocks.empty()) {
    if (n.depth < 1) throw Error("shape: depth must be >= 1, got " + std::to_string(n.depth));
    return;
  }
  for (const int b : n.resnet_blocks)
    if (b < 1) throw Error("shape: every resnet stage needs >= 1 block");
  if (!(n.shortcut_weight >= 0.0 && n.shortcut_weight <= 1.0))
    throw Error("shape: shortcut_weight must be in [0, 1], got " + num(n.shortcut_weight));
  if (n.branch_depth < 1) throw Error("shape: branch_depth must be >= 1");
}

// Newton's method with a central-difference Jacobian and step halving, from one start.
template <std::size_t N>
bool newton(const std::function<std::array<double, N>(const std::array<double, N>&)>& F,
            std::array<double, N>& x) {
  auto norm = [](const std::array<double, N>& v) {
    double s = 0;
    for (double e : v) s += e * e;
    return std::sqrt(s);
  };
  std::array<double, N> fx = F(x);
  for (int it = 0; it < 30; ++it) {
    double nf = norm(fx);
    if (!std::isfinite(nf)) return false;
    for (double e : x)
      if (!(std::fabs(e) < 1e3)) return false; // wandered off: try the next start
    if (nf < 1e-12) return true;
    double J[N][N];
    for (std::size_t j = 0; j < N; ++j) {
      const double h = 1e-6 * std::max(1.0, std::fabs(x[j]));
      std::array<double, N> xp = x, xm = x;
      xp[j] += h;
      xm[j] -= h;
      const std::array<double, N> fp = F(xp), fm = F(xm);
      for (std::size_t i = 0; i < N; ++i) J[i][j] = (fp[i] - fm[i]) / (2 * h);
    }
    // Solve J dx = -fx by Gaussian elimination with partial pivoting.
    double A[N][N + 1];
    for (std::size_t i = 0; i < N; ++i) {
      for (std::size_t j = 0; j < N; ++j) A[i][j] = J[i][j];
      A[i][N] = -fx[i];
    }
    for (std::size_t c = 0; c < N; ++c) {
      std::size_t p = c;
      for (std::size_t r = c + 1; r < N; ++r)
        if (std::fabs(A[r][c]) > std::fabs(A[p][c])) p = r;
      if (!(std::fabs(A[p][c]) > 1e-300)) return false; // singular (tanh at input_shift = 0)
      for (std::size_t k = 0; k <= N; ++k) std::swap(A[c][k], A[p][k]);
      for (std::size_t r = c + 1; r < N; ++r) {
        const double m = A[r][c] / A[c][c];
        for (std::size_t k = c; k <= N; ++k) A[r][k] -= m * A[c][k];
      }
    }
    std::array<double, N> dx{};
    for (std::size_t c = N; c-- > 0;) {
      double v = A[c][N];
      for (std::size_t k = c + 1; k < N; ++k) v -= A[c][k] * dx[k];
      dx[c] = v / A[c][c];
    }
    double t = 1.0;
    bool moved = false;
    for (int k = 0; k < 20; ++k, t *= 0.5) {
      std::array<double, N> xn = x;
      for (std::size_t i = 0; i < N; ++i) xn[i] += t * dx[i];
      const std::array<double, N> fn = F(xn);
      if (norm(fn) < nf) {
        x = xn;
        fx = fn;
        moved = true;
        break;
      }
    }
    if (!moved) return nf < 1e-10;
  }
  return norm(fx) < 1e-10;
}

bool is_odd(const Phi& phi) {
  for (double x : {0.3, 1.7, 4.1})
    if (std::fabs(phi.f(-x) + phi.f(x)) > 1e-14 * std::fabs(phi.f(x))) return false;
  return true;
}

void check_shapeable(const Activation& act, const char* fn) {
  check_unary(act, fn);
  const double m = mean_field_qmap(act, 1.0, 0.0, 1.0);
  if (!std::isfinite(m))
    throw Error(std::string(fn) + ": '" + act.to_string() +
                "' has no finite E[f(z)^2]: f must be defined on the whole real line");
}

} // namespace

ActivationTransform dks_transform(const Activation& act, const NetworkShape& net, double zeta,
                                  double local_q_slope) {
  check_shapeable(act, "dks");
  check_network(net);
  if (!(zeta > 1.0) || !std::isfinite(zeta))
    throw Error("dks: zeta (the net's maximal C-map slope) must be finite and > 1, got " +
                num(zeta));
  if (!(local_q_slope > 0.0) || !std::isfinite(local_q_slope))
    throw Error("dks: local_q_slope must be finite and > 0, got " + num(local_q_slope));
  const double slope = solve_increasing(
      [&](double s) { return subnet_max(net, 1.0, [s](double y) { return s * y; }); }, zeta, 1.1,
      1.0, kInf, "dks");
  ActivationTransform t;
  Phi phi{&act};
  const std::string name = act.name();
  auto finish_with = [&](double a, double b) {
    const Local l = local_maps(phi, a, b, 0.0, false);
    t.input_scale = a;
    t.input_shift = b;
    t.output_shift = -l.mean;
    t.output_scale = 1.0 / std::sqrt(gauss_mean(
                               [&](double z) {
                                 const double v = phi.f(a * z + b) - l.mean;
                                 return v * v;
                               },
                               a != 0.0 ? -b / a : 0.0));
  };
  if (name == "relu") {
    const double b = slope < 1.466942206924260361 ? 1.0 : -1.0;
    std::array<double, 1> x{1.0};
    auto F = [&](const std::array<double, 1>& v) {
      const Local l = local_maps(phi, v[0], b, 0.0, false);
      // C'(1) of the mean-removed, unit-variance map.
      const double var = 1.0 / (l.gamma * l.gamma) - l.mean * l.mean;
      return std::array<double, 1>{l.c_slope / (l.gamma * l.gamma) / var - slope};
    };
    bool ok = false;
    for (double start : {1.0, 0.1}) {
      x = {start};
      if (newton<1>(F, x) && x[0] > 0) {
        ok = true;
        break;
      }
    }
    if (!ok) throw Error("dks: no solution found for 'relu' at zeta = " + num(zeta));
    finish_with(x[0], b);
    return t;
  }
  const bool leaky = name == "leaky_relu";
  // Residuals of (a, b) (leaky: (slope, b) with a = 1), delta = -E[phi], gamma from Q(1) = 1.
  auto F = [&](const std::array<double, 2>& v) {
    Phi p = phi;
    double a = v[0], b = v[1];
    if (leaky) {
      p.slope = v[0];
      a = 1.0;
    }
    const double mean = gauss_mean([&](double z) { return p.f(a * z + b); }, -b / a);
    const Local l = local_maps(p, a, b, -mean, false);
    return std::array<double, 2>{l.q_slope - local_q_slope, l.c_slope - slope};
  };
  std::vector<std::array<double, 2>> starts;
  for (double s0 : leaky ? std::vector<double>{0.0, 0.5} : std::vector<double>{1.0, 0.1})
    for (double s1 : {0.0, 1.0, -1.0}) starts.push_back({s0, s1});
  for (std::array<double, 2> x : starts) {
    if (!newton<2>(F, x)) continue;
    if (leaky) {
      if (!(x[0] >= 0.0 && x[0] < 1.0)) continue;
      phi.slope = x[0];
      finish_with(1.0, x[1]);
      t.input_scale = 1.0;
      t.negative_slope = x[0];
      return t;
    }
    if (!(x[0] > 0.0)) continue;
    if (is_odd(phi) && x[1] < 0.0) x[1] = -x[1]; // the mirror solution with input_shift >= 0
    finish_with(x[0], x[1]);
    return t;
  }
  throw Error("dks: no solution found for '" + act.to_string() + "' at zeta = " + num(zeta) +
              ": Newton from the reference's 6 starting points found no transform with Q'(1) = " +
              num(local_q_slope) + " and local C'(1) = " + num(slope) +
              " (a function linear where z ~ N(0,1) lives keeps C'(1) = 1 under any transform)");
}

ActivationTransform tat_transform(const Activation& act, const NetworkShape& net, double tau,
                                  double eta) {
  check_shapeable(act, "tat");
  check_network(net);
  const std::string name = act.name();
  ActivationTransform t;
  if (name == "relu")
    throw Error("tat: 'relu' cannot be shaped by TAT (its C map is fixed); use leaky_relu, or dks");
  if (name == "leaky_relu") {
    if (!(eta > 0.0 && eta < 1.0))
      throw Error("tat: eta (the net's maximal C_f(0)) must be in (0, 1), got " + num(eta));
    auto cmap = [](double c, double a) {
      return ((1 - a) * (1 - a) * (std::sqrt(1 - c * c) + (M_PI - std::acos(c)) * c) / M_PI +
              2 * a * c) /
             (1 + a * a);
    };
    const double a = solve_increasing(
        [&](double s) { return 1.0 - subnet_max(net, 0.0, [&](double c) { return cmap(c, s); }); },
        1.0 - eta, 0.5, 0.0, 1.0, "tat");
    t.negative_slope = a;
    t.output_scale = std::sqrt(2.0 / (1.0 + a * a));
    return t;
  }
  if (!(tau > 0.0) || !std::isfinite(tau))
    throw Error("tat: tau (the net's maximal C-map curvature) must be finite and > 0, got " +
                num(tau));
  const double curv = solve_increasing(
      [&](double s) { return subnet_max(net, 0.0, [s](double y) { return s + y; }); }, tau, 0.1,
      0.0, kInf, "tat");
  Phi phi{&act};
  auto F = [&](const std::array<double, 3>& v) {
    const Local l = local_maps(phi, v[0], v[1], v[2], true);
    return std::array<double, 3>{l.q_slope - 1.0, l.c_slope - 1.0, l.c_curv - curv};
  };
  for (double s0 : {1.0, 0.1})
    for (double s1 : {0.0, 1.0, -1.0})
      for (double s2 : {0.0, 1.0, -1.0}) {
        std::array<double, 3> x{s0, s1, s2};
        if (!newton<3>(F, x) || !(x[0] > 0.0)) continue;
        const Local l = local_maps(phi, x[0], x[1], x[2], false);
        if (x[0] * l.gamma >= 2.0) continue; // the reference's rejection rule
        if (is_odd(phi) && x[1] < 0.0) {
          x[1] = -x[1];
          x[2] = -x[2];
        }
        t.input_scale = x[0];
        t.input_shift = x[1];
        t.output_shift = x[2];
        t.output_scale = l.gamma;
        return t;
      }
  throw Error("tat: no solution found for '" + act.to_string() + "' at tau = " + num(tau) +
              ": Newton from the reference's 18 starting points found no transform with Q'(1) = "
              "1, C'(1) = 1 and local C''(1) = " +
              num(curv) + " (and input_scale * output_scale < 2)");
}

} // namespace actgrad
