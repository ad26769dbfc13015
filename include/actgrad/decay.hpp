// Deep-network gradient decay (SPEC §6): the chain and dense simulations and mean-field theory.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "actgrad/activation.hpp"
#include "actgrad/dtype.hpp"
#include "actgrad/shaping.hpp"
#include "actgrad/tensor.hpp"

namespace actgrad {

enum class DecayModel { dense, chain };

// How the dense model and `actgrad spectrum` draw W^l (issue 17): i.i.d. N(0, S/W) entries, or
// sqrt(S) Q with Q Haar-distributed orthogonal (QR of a Gaussian matrix with the sign fix
// Q diag(sign R_ii); LAPACK on the CPU, cuSOLVER on CUDA), so W W^T = S I.
enum class WeightInit { gaussian, orthogonal };
const char* weight_init_name(WeightInit init);

// One simulation run. batch = 0 means the model's default (64 for dense, 65536 chain paths).
struct DecayConfig {
  Activation act{ActId{}};
  DecayModel model = DecayModel::chain;
  std::int64_t depth = 0;
  std::int64_t width = 1024; // dense only
  std::int64_t batch = 0;
  double sigma_w2 = 1.0; // S
  double sigma_b2 = 0.0; // T
  std::uint64_t seed = 0;
  Device device = Device::cpu();
  DType dtype = DType::f32; // f32 or f64
  // Dense model only: run the transformed activation phi_hat(h) = output_scale * (phi(input_scale
  // h + input_shift) + output_shift) of `actgrad shape --method dks|tat` (identity by default;
  // negative_slope is ignored: a leaky_relu's slope is act's parameter).
  ActivationTransform transform{};
  WeightInit init = WeightInit::gaussian; // dense only
};

// One CSV row of `actgrad decay`: layer l = 1..L.
struct LayerStats {
  std::int64_t layer;
  double log10_grad_norm2; // finite at any depth unless the gradient is exactly 0 (-inf then)
  double q;
  double saturated_fraction;
};

// Called with (layers done, total) from the host thread; may be empty.
using ProgressFn = std::function<void(std::int64_t, std::int64_t)>;

// Validates cfg (throws actgrad::Error naming the bad field and what is allowed, including a
// memory request beyond the machine with the bytes it needs) and runs the model on cfg.device.
std::vector<LayerStats> simulate_decay(const DecayConfig& cfg, const ProgressFn& progress = {});
// The two models; simulate_decay validates and dispatches to them.
std::vector<LayerStats> simulate_chain(const DecayConfig& cfg, const ProgressFn& progress);
std::vector<LayerStats> simulate_dense(const DecayConfig& cfg, const ProgressFn& progress);
// Bytes the dense model needs on its device for cfg (what the memory check and errors report).
std::uint64_t dense_memory_bytes(const DecayConfig& cfg);
// Bytes the chain model needs on cfg.device (per-layer partial sums; the paths live in registers).
std::uint64_t chain_memory_bytes(const DecayConfig& cfg);
// Memory a run of cfg needs and what is available, in bytes. `model` is on cfg.device (host RAM
// for the CPU); `results` (the per-layer rows and sums, O(depth)) is always host RAM. Available
// memory is MemAvailable from /proc/meminfo (sysconf's available pages elsewhere) for the host,
// and cudaMemGetInfo's free bytes for a CUDA device. simulate_decay refuses a run whose needs
// exceed what is available; callers that keep more per layer (the CLI's CSV text) add theirs.
struct DecayMemory {
  std::uint64_t model = 0, results = 0;
  std::uint64_t device_available = 0, host_available = 0;
};
DecayMemory decay_memory(const DecayConfig& cfg);
// The model's batch when cfg.batch = 0: 64 (dense) or 65536 paths (chain).
std::int64_t default_batch(DecayModel model);

// A unit counts as saturated, in both models, when |phi'(x)| < saturation_threshold(act) =
// 0.01 max|phi'(x)| over x in [-64, 64] (at act's parameters; a gated unit's gate).
double saturation_threshold(const Activation& act);

// Mean-field theory (Poole et al. 2016, Schoenholz et al. 2017) for a unary activation.
struct MeanField {
  double q_star;      // fixed point of q -> S E[phi(sqrt(q) z)^2] + T
  double chi1;        // S E[phi'(sqrt(q*) z)^2]
  double depth_scale; // -1 / ln chi1 (inf at chi1 = 1)
  bool converged;
};
MeanField mean_field(const Activation& act, double sigma_w2, double sigma_b2);
// q^l for l = 1..depth (q^1 = S + T) and the per-layer factor chi(q^l) = S E[phi'(sqrt(q^l) z)^2].
struct MeanFieldTrajectory {
  std::vector<double> q;
  std::vector<double> chi;
};
MeanFieldTrajectory mean_field_trajectory(const Activation& act, double sigma_w2, double sigma_b2,
                                          std::int64_t depth);
// The Gaussian expectations behind them: S E[phi(sqrt(q) z)^2] + T (the q-map) and
// S E[phi'(sqrt(q) z)^2] (chi at q), z ~ N(0,1), by adaptive Gauss-Kronrod split at z = 0.
double mean_field_qmap(const Activation& act, double sigma_w2, double sigma_b2, double q);
double mean_field_chi(const Activation& act, double sigma_w2, double q);
// The q-map's slope S d/dq E[phi(sqrt(q) z)^2] = S E[phi phi'(sqrt(q) z) z] / sqrt(q) (chi_q at q).
double mean_field_qmap_slope(const Activation& act, double sigma_w2, double q);

} // namespace actgrad

// --- Finite-width statistics over independent dense networks (issue 17) ----------------------
// Hanin 2018 (arXiv:1801.03744), Hanin and Nica 2019 (arXiv:1812.05994). Implemented in
// host/analysis/decay_networks.cpp.
namespace actgrad {

// Sample statistics of one quantity over the networks whose value is finite (a relu network
// whose layer has no active unit gives ln 0 = -inf; it is left out, which is the conditioning
// on K >= 1 of the exact law). count = number of finite values; variance is the unbiased sample
// variance (nan for count < 2); se_mean = sqrt(variance / count); quantiles interpolate linearly
// between order statistics (R's type 7).
struct SampleStats {
  std::int64_t count = 0;
  double mean, variance, se_mean, q05, q25, q50, q75, q95;
};
SampleStats sample_stats(const std::vector<double>& values);

// Mean and variance of a law of ln(ratio); nan where no law applies.
struct LogRatioLaw {
  double mean, variance;
};

// The exact finite-width law of ln(|x^L|^2 / |x^0|^2) through `depth` layers of width n with
// W_ij ~ N(0, S/n), zero bias and phi = leaky_relu with negative slope a (a = 0: relu): per
// layer (S/n) sum_i g_i^2 s_i^2, g_i ~ N(0,1) i.i.d., s_i = 1 (g_i > 0) or a, independent
// across layers, so mean and variance are depth times one layer's. relu: (S/n) chi^2_K with
// K ~ Binomial(n, 1/2) conditioned on K >= 1 (P(K = 0) = 2^-n per layer). leaky: (S/n) chi^2_n
// (a^2 + (1 - a^2) B), B | K ~ Beta(K/2, (n-K)/2) independent of chi^2_n. Throws Error for
// n < 1, depth < 1, S <= 0 or a non-finite slope.
LogRatioLaw rectifier_log_ratio_law(double negative_slope, double sigma_w2, std::int64_t width,
                                    std::int64_t depth);
// Hanin's large-width asymptote for relu: ln ratio ~ N(depth ln(S/2) - beta/2, beta) with
// beta = 5 sum_l 1/n_l = 5 depth / n.
LogRatioLaw relu_log_ratio_asymptote(double sigma_w2, std::int64_t width, std::int64_t depth);

// psi(x) and psi'(x) for x > 0 (recurrence up to x >= 10, then the asymptotic series; relative
// error ~1e-15). nan for x <= 0 or nan.
double digamma(double x);
double trigamma(double x);

// What sits beside one measured quantity.
struct NetworkTheory {
  // ln E[ratio] from mean-field theory (q-map from q^1 = S + T, i.e. |x^0|^2 = n): the log of
  // the mean, not the mean of the log (which is smaller, by Jensen). nan with a transform.
  double mean_field_log_mean;
  // The rectifier law above (exact for the forward ratio, asymptotic for the gradient, Hanin and
  // Nica 2019); nan unless relu/leaky_relu, Gaussian weights, sigma_b2 = 0, no transform.
  LogRatioLaw law;
  bool law_exact; // true for the forward ratio where the law applies
};

struct NetworkQuantity {
  SampleStats stats;
  NetworkTheory theory;
  double c_phi; // width * variance / depth (measured)
};

// One row per network k: ln(|x^L|^2 / |x^0|^2) (x^l = phi(h^l)) and ln |J^T v|^2 with
// J = dx^L/dx^0 = D^L W^L ... D^1 W^1 and v a random unit vector, natural logs.
struct NetworkStats {
  std::vector<double> log_forward_ratio, log_grad_ratio;
  NetworkQuantity forward, grad;
};

// Runs `networks` independent dense networks of cfg (width, depth, act, sigma_w2, sigma_b2,
// init, transform, dtype, device; batch is ignored: one input per network) with fresh weights
// each: network k draws from detail::network_stream(stream, k), so network 0 draws what a single
// run draws (its input is column 0 of the single run's input, its v the normalised column 0 of
// the single run's readout). Throws Error naming the field for networks < 1 or > 2^29, a cost
// networks x depth x width^2 (x width for orthogonal) above 1e12, or memory beyond the device.
NetworkStats simulate_networks(const DecayConfig& cfg, std::int64_t networks,
                               const ProgressFn& progress = {});
// Bytes simulate_networks needs on cfg.device (model) for cfg; the host keeps 2 doubles per
// network besides.
std::uint64_t networks_memory_bytes(const DecayConfig& cfg);

} // namespace actgrad
