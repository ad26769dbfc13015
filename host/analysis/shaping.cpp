// Initialisation from mean-field theory (include/actgrad/shaping.hpp): the variance-preserving
// gain and critical points on the order/chaos edge, from the q-map and chi integrals of
// mean_field.cpp (adaptive Gauss-Kronrod, 1e-14 relative).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "actgrad/decay.hpp"
#include "actgrad/error.hpp"
#include "actgrad/shaping.hpp"

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

} // namespace actgrad
