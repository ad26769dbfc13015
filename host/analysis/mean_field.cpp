// Mean-field theory of deep networks (SPEC §6; Poole et al. 2016, Schoenholz et al. 2017): the
// q-map, its fixed point q*, chi1 and the depth scale, by adaptive Gauss-Kronrod quadrature.
//
// Expectations E[g(sqrt(q) z)], z ~ N(0,1), are integrated as the integral over z in [0, inf) of
// (g(sqrt(q) z) + g(-sqrt(q) z)) N(z): splitting at z = 0 puts relu's (and every rectifier's) kink
// at an interval end, where Gauss-Kronrod nodes never land, so the jump of phi' costs nothing.
// The half line is mapped to [0, 1) by z = t / (1 - t), and intervals are bisected (largest error
// first) until the error estimate is below 1e-14 relative. Kinks elsewhere (hardtanh at +-1,
// relu6 at 6, ...) are found by that bisection: only the intervals holding them keep splitting.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "actgrad/decay.hpp"
#include "actgrad/error.hpp"
#include "actgrad/scalar.hpp"
#include "quadrature.hpp"

namespace actgrad {
namespace {

constexpr double kRelTol = 1e-14;
constexpr int kMaxIntervals = 4000;
// Below this q, chi is taken in the limit q -> 0+ (sqrt(q) z stays representable).
constexpr double kMinQ = 1e-300;
// Above this q the q-map counts as divergent (q* = inf): pre-activations of 1e20 standard
// deviations are far past any activation's transition region.
constexpr double kMaxQ = 1e40;

// Integral of f(z) N(z) over [0, inf).
template <class F>
double half_line_integral(F&& f) {
  return detail::gaussian_half_line(f, 0.0, 1.0, kRelTol, kMaxIntervals) / std::sqrt(2.0 * M_PI);
}

// E[phi(sqrt(q) z)^2] (derivative = false) or E[phi'(sqrt(q) z)^2].
double gaussian_mean_square(const Activation& act, double q, bool derivative) {
  const double s = std::sqrt(q);
  return half_line_integral([&](double z) {
    const Fused<double> p = evaluate(act, s * z), m = evaluate(act, -s * z);
    return derivative ? p.dy * p.dy + m.dy * m.dy : p.y * p.y + m.y * m.y;
  });
}

void check_variances(double sigma_w2, double sigma_b2) {
  if (!(sigma_w2 >= 0.0) || !std::isfinite(sigma_w2))
    throw Error("mean field: sigma_w2 must be finite and >= 0");
  if (!(sigma_b2 >= 0.0) || !std::isfinite(sigma_b2))
    throw Error("mean field: sigma_b2 must be finite and >= 0");
}

} // namespace

double mean_field_qmap(const Activation& act, double sigma_w2, double sigma_b2, double q) {
  return sigma_w2 * gaussian_mean_square(act, std::max(q, 0.0), false) + sigma_b2;
}

double mean_field_chi(const Activation& act, double sigma_w2, double q) {
  return sigma_w2 * gaussian_mean_square(act, std::max(q, kMinQ), true);
}

double mean_field_qmap_slope(const Activation& act, double sigma_w2, double q) {
  // d/dq E[phi(sqrt(q) z)^2] = E[phi(sqrt(q) z) phi'(sqrt(q) z) z] / sqrt(q); the integrand is
  // even in z, so the half line carries it twice.
  const double s = std::sqrt(std::max(q, kMinQ));
  const double e = half_line_integral([&](double z) {
    const Fused<double> p = evaluate(act, s * z), m = evaluate(act, -s * z);
    return (p.y * p.dy - m.y * m.dy) * z;
  });
  return sigma_w2 * e / s;
}

MeanField mean_field(const Activation& act, double sigma_w2, double sigma_b2) {
  check_variances(sigma_w2, sigma_b2);
  const double S = sigma_w2, T = sigma_b2;
  auto F = [&](double q) { return mean_field_qmap(act, S, T, q) - q; };
  MeanField r{};
  r.converged = false;
  // 1. Plain iteration from q^1 = S + T: converges geometrically away from critical points.
  double q = S + T;
  bool done = false;
  for (int i = 0; i < 100 && !done; ++i) {
    const double next = mean_field_qmap(act, S, T, q);
    if (!std::isfinite(next) || next > kMaxQ) {
      q = next > kMaxQ ? std::numeric_limits<double>::infinity() : next;
      break;
    }
    done = next == q || std::fabs(next - q) <= 1e-13 * next;
    q = next;
  }
  double q_star = q;
  if (done) {
    r.converged = true;
  } else if (std::isfinite(q)) {
    // 2. Slow (near chi = 1) or divergent: bracket the root of F(q) = qmap(q) - q on a log scale
    //    from the last iterate, then Illinois regula falsi.
    double lo = q, hi = q, flo = F(q), fhi = flo;
    if (std::isnan(flo)) {
      q_star = flo;
    } else if (flo == 0.0) {
      r.converged = true;
    } else if (flo > 0.0) { // still growing: look upwards
      while (fhi > 0.0 && hi < kMaxQ) {
        lo = hi;
        flo = fhi;
        hi *= 4.0;
        fhi = F(hi);
      }
      if (fhi > 0.0 || !std::isfinite(fhi)) q_star = std::numeric_limits<double>::infinity();
    } else { // shrinking: look downwards
      while (flo < 0.0 && lo > kMinQ) {
        hi = lo;
        fhi = flo;
        lo /= 4.0;
        flo = F(lo);
      }
      if (flo < 0.0) {
        q_star = 0.0; // the fixed point is q = 0 (T = 0): chi1 is the limit q -> 0+
        r.converged = true;
      }
    }
    if (!r.converged && std::isfinite(q_star) && flo > 0.0 && fhi < 0.0) {
      int side = 0;
      for (int i = 0; i < 200; ++i) {
        const double c = (lo * fhi - hi * flo) / (fhi - flo);
        const double fc = F(c);
        q_star = c;
        if (fc == 0.0 || hi - lo <= 1e-14 * hi) break;
        if (fc > 0.0) {
          lo = c;
          flo = fc;
          if (side == 1) fhi *= 0.5;
          side = 1;
        } else {
          hi = c;
          fhi = fc;
          if (side == -1) flo *= 0.5;
          side = -1;
        }
      }
      r.converged = true;
    }
  } else {
    q_star = std::numeric_limits<double>::infinity();
  }
  r.q_star = q_star;
  // chi1 at q*; where q* is infinite (the q-map diverges), at q = kMaxQ, which for scale-free
  // rectifiers (relu: chi = S/2 at every q) is the limit.
  const double q_chi = std::isfinite(q_star) ? q_star : kMaxQ;
  r.chi1 = mean_field_chi(act, S, q_chi);
  r.depth_scale = r.chi1 == 1.0 ? std::numeric_limits<double>::infinity() : -1.0 / std::log(r.chi1);
  return r;
}

MeanFieldTrajectory mean_field_trajectory(const Activation& act, double sigma_w2, double sigma_b2,
                                          std::int64_t depth) {
  check_variances(sigma_w2, sigma_b2);
  if (depth < 0) throw Error("mean field: depth must be >= 0");
  MeanFieldTrajectory t;
  t.q.resize(std::size_t(depth));
  t.chi.resize(std::size_t(depth));
  double q = sigma_w2 + sigma_b2;
  for (std::int64_t l = 0; l < depth; ++l) {
    const std::size_t i = std::size_t(l);
    t.q[i] = q;
    // Once the map has settled, q and chi repeat: reuse them instead of integrating again.
    if (l > 0 && q == t.q[i - 1]) {
      t.chi[i] = t.chi[i - 1];
    } else {
      t.chi[i] = mean_field_chi(act, sigma_w2, q);
    }
    q = mean_field_qmap(act, sigma_w2, sigma_b2, q);
  }
  return t;
}

} // namespace actgrad
