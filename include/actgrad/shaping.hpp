// Initialisation from mean-field theory (issue 16): the variance-preserving gain and the critical
// point on the order/chaos edge, for any unary catalogue activation at its parameters.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

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

namespace actgrad {

// The network whose kernel maps DKS and TAT shape (Martens et al. 2021; Zhang et al. 2022):
// a plain MLP of `depth` nonlinear layers, or, when resnet_blocks is not empty, residual stages
// of that many blocks each: every block adds shortcut_weight^2 of its shortcut to
// (1 - shortcut_weight^2) of a branch of branch_depth nonlinear layers, the first block of each
// stage has a projection shortcut with one nonlinear layer, and one nonlinear layer ends the net
// (the structure of the DKS reference's test, ResNet-101 for blocks 3,4,23,3). Its maximal
// C-map slope, curvature and C_f(0) are taken over the whole net and the single branch, as the
// DKS paper's subnetwork maximum defines.
struct NetworkShape {
  std::int64_t depth = 1;
  std::vector<int> resnet_blocks;
  double shortcut_weight = 0.6;
  int branch_depth = 3;
};

// phi_hat(x) = output_scale * (phi(input_scale * x + input_shift) + output_shift); for leaky_relu
// also its negative_slope (NaN otherwise).
struct ActivationTransform {
  double input_scale = 1, input_shift = 0, output_shift = 0, output_scale = 1;
  double negative_slope = std::numeric_limits<double>::quiet_NaN();
};

// DKS: Q(1) = 1, Q'(1) = local_q_slope, C(0) = 0, and the net's maximal C-map slope = zeta > 1.
// Smooth activations solve (input_scale, input_shift); relu fixes input_shift = +-1 and solves
// input_scale; leaky_relu solves (negative_slope, input_shift). Odd functions (tanh) have mirror
// solutions (input_shift, output_shift) -> (-input_shift, -output_shift): input_shift >= 0 is
// returned. Throws actgrad::Error(invalid_argument) for zeta <= 1, a gated unit, or no solution.
ActivationTransform dks_transform(const Activation& act, const NetworkShape& net, double zeta = 1.5,
                                  double local_q_slope = 1.0);
// TAT. Smooth activations: Q(1) = 1, Q'(1) = 1, C'(1) = 1 and the net's maximal curvature
// C''(1) = tau > 0, solving (input_scale, input_shift, output_shift); solutions with
// input_scale * output_scale >= 2 are rejected, as the reference does. leaky_relu: the
// negative_slope that makes the net's maximal C_f(0) = eta in (0, 1), and output_scale
// sqrt(2 / (1 + a^2)). relu cannot be shaped by TAT (refused).
ActivationTransform tat_transform(const Activation& act, const NetworkShape& net, double tau = 0.3,
                                  double eta = 0.9);

} // namespace actgrad
