// The input-output Jacobian's singular-value spectrum of a deep dense net (issue 17): its
// infinite-width prediction by free probability, and its measurement on simulated networks.
//
// Network: h^l = W^l x^{l-1} + b^l, x^l = phi(h^l), l = 1..L, width N, W^l Gaussian (entries
// N(0, S/N)) or orthogonal (sqrt(S) Q, Q Haar), b^l ~ N(0, T). J = dx^L/dx^0 = D^L W^L ... D^1 W^1
// with D^l = diag(phi'(h^l)). Quantities are of the squared singular values, the eigenvalues of
// J J^T: m_k = tr((J J^T)^k) / N.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "actgrad/activation.hpp"
#include "actgrad/decay.hpp"
#include "actgrad/dtype.hpp"
#include "actgrad/tensor.hpp"

namespace actgrad {

// --- theory (Pennington, Schoenholz and Ganguli 2017, arXiv:1711.04735; 2018, 1802.09979) ---

// The infinite-width prediction at the fixed point q*: mu_k = E[phi'(sqrt(q*) z)^(2k)],
// S_J = (S_{D^2} S_{W W^T})^L with S_W = 1/S (orthogonal) or 1/(S (1 + z)) (Gaussian), and the
// moments of J J^T by series inversion. m1 = chi1^L with chi1 = S mu_1.
struct SpectrumTheory {
  double sigma_w2 = 0, sigma_b2 = 0, q_star = 0, chi1 = 0;
  WeightInit init = WeightInit::gaussian;
  std::int64_t depth = 0;
  std::vector<double> mu;      // mu_k, k = 1..orders
  std::vector<double> moments; // m_k, k = 1..orders
  double m1 = 0;               // = moments[0] = chi1^L
  double m2_ratio = 0;         // m2 / m1^2 - 1 (the spread; 0 for an isometry)
  double m3_ratio = 0;         // m3 / m1^3
  // The spectral edge over m1: min over z > 0 of (1 + z) / (z S_J(z)), divided by m1.
  double lambda_max = 0;
  // The atom of J J^T at 0: P(phi'(h) = 0) for h ~ N(0, q*) (1/2 for relu, P(|h| > 1) for
  // hardtanh, 0 for tanh). D^2 has an atom of this mass at 0, and a product of free projections
  // of trace 1 - zero_mass (Gaussian or orthogonal W being invertible) keeps rank 1 - zero_mass,
  // so the atom is the same at every depth. spectrum_density gives the continuous part only,
  // of total mass 1 - zero_mass; a histogram normalised over all eigenvalues (zeros included)
  // compares with it after the zeros' share is set aside.
  double zero_mass = 0;
};

// The prediction for a unary activation at weight variance sigma_w2 and fixed point q_star (the
// variance of h^l; see mean_field / critical_point_at_q_star). orders >= 3 moments are computed.
// Throws actgrad::Error naming the argument for a gated unit, depth < 1, sigma_w2 <= 0,
// q_star <= 0 or non-finite, or orders outside [3, 32].
SpectrumTheory spectrum_theory(const Activation& act, WeightInit init, std::int64_t depth,
                               double sigma_w2, double sigma_b2, double q_star, int orders = 6);

// The predicted density of lambda / m1 (lambda an eigenvalue of J J^T) at each point of x, for
// plots beside a histogram; 0 outside the support. The continuous part only: the atom at 0
// (SpectrumTheory::zero_mass) is left out, so the values integrate to 1 - zero_mass. The density
// is that at lambda = x e^{i 1e-7} (a relative smoothing invisible except within ~1e-7 x of an
// edge). A point where the solver cannot converge gets NaN (rather than failing the whole call).
// Not reported either: an atom at the top edge, which orthogonal weights give when phi'^2 sits at
// its maximum with probability p > (L-1)/L (free projections' ranges intersect in L p - (L-1):
// hardtanh at q* = 1/4, L = 8 keeps ~0.64 at lambda_max). Same arguments as spectrum_theory.
std::vector<double> spectrum_density(const Activation& act, WeightInit init, std::int64_t depth,
                                     double sigma_w2, double q_star, const std::vector<double>& x);

// --- simulation ---

enum class SpectrumMethod {
  automatic, // eigen up to width 2048, probes above
  eigen,     // J formed explicitly, eigenvalues of J J^T by a symmetric eigensolve
  probes     // Hutchinson: E |J v|^2, E |J^T J v|^2, E |J J^T J v|^2 with Gaussian v
};
const char* spectrum_method_name(SpectrumMethod m);

struct SpectrumConfig {
  Activation act{ActId{}};
  WeightInit init = WeightInit::gaussian;
  std::int64_t depth = 0;
  std::int64_t width = 1024;
  std::int64_t networks = 1;
  double sigma_w2 = 1.0, sigma_b2 = 0.0;
  // Variance of h^l at the fixed point: x^0 = phi(sqrt(q_star) z), z ~ N(0, 1)^N. NaN = the
  // mean-field q* of (sigma_w2, sigma_b2).
  double q_star = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t seed = 0;
  Device device = Device::cpu();
  DType dtype = DType::f64; // f64 or f32 (the products; eigensolves run in double)
  SpectrumMethod method = SpectrumMethod::automatic;
  std::int64_t probes = 16; // probe vectors per network (probes method)
};

// One network's statistics of the eigenvalues of J J^T.
struct NetworkSpectrum {
  double m1 = 0, m2_ratio = 0, m3_ratio = 0;
  double lambda_max = 0; // largest eigenvalue over m1; NaN with the probes method
};

struct SpectrumResult {
  SpectrumMethod method = SpectrumMethod::eigen; // the method that ran
  double q_star = 0;                             // the input variance used
  std::vector<NetworkSpectrum> networks;
  NetworkSpectrum mean, se; // across networks (se = sample sd / sqrt(K); NaN for K = 1)
  // Every eigenvalue of J J^T over its network's m1, all networks (eigen method only).
  std::vector<double> eigenvalues;
};

// Validates cfg (throws actgrad::Error naming the field) and runs cfg.networks networks.
SpectrumResult simulate_spectrum(const SpectrumConfig& cfg, const ProgressFn& progress = {});

} // namespace actgrad
