// Initialisation from mean-field theory (issue 16): the variance-preserving gain and the critical
// point on the order/chaos edge, for any unary catalogue activation at its parameters.
#pragma once

#include <cstdint>

#include "actgrad/activation.hpp"

namespace actgrad {

// The variance-preserving gain 1 / sqrt(E[phi(z)^2]), z ~ N(0, 1): weights of std
// gain / sqrt(fan_in) keep a unit pre-activation variance through a layer (Kaiming-style; relu
// gives sqrt(2), leaky_relu sqrt(2 / (1 + a^2)), identity 1, as torch.nn.init.calculate_gain).
// Throws actgrad::Error for a gated unit, or where E[phi(z)^2] is not finite and positive (sqrt
// and log are undefined for x < 0).
double variance_gain(const Activation& act);
// gain / sqrt(fan_in); fan_in >= 1.
double fan_in_std(const Activation& act, std::int64_t fan_in);

// A point (sigma_w2, sigma_b2) on the order/chaos edge chi1 = 1, with its fixed point q* and the
// depth scales there (Schoenholz et al. 2017): xi_q = -1 / ln(chi_q), chi_q = the q-map's slope
// at q* (negative where q* repels, chi_q > 1, as for gelu and silu at q* = 1; inf where the map
// is neutral, relu), and xi_c = -1 / ln(chi1) = inf on the edge.
struct CriticalPoint {
  double sigma_w2 = 0, sigma_b2 = 0, q_star = 0, chi1 = 0, chi_q = 0, xi_q = 0, xi_c = 0;
};
// The critical point with fixed point q* = q_star > 0: sigma_w2 = 1 / E[phi'(sqrt(q*) z)^2] and
// sigma_b2 = q* - sigma_w2 E[phi(sqrt(q*) z)^2]. Throws actgrad::Error(invalid_argument) naming
// q_star when that sigma_b2 would be negative ("no critical point at this q*").
CriticalPoint critical_point_at_q_star(const Activation& act, double q_star);
// The critical point with bias variance sigma_b2 >= 0: the smallest q* > 0 with
// q* - E[phi^2] / E[phi'^2] = sigma_b2, found by a scan of q on a log grid and bisection.
// Scale-free rectifiers (relu, leaky_relu, ...) sit on the edge at sigma_b2 = 0 for every q*;
// then q* = 1 is reported. Throws actgrad::Error(invalid_argument) naming sigma_b2 where there
// is no critical point (relu for sigma_b2 > 0).
CriticalPoint critical_point_at_sigma_b2(const Activation& act, double sigma_b2);

} // namespace actgrad
