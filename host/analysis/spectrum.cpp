// Jacobian spectrum of simulated dense networks (issue 17): J = D^L W^L ... D^1 W^1 accumulated
// layer by layer on the dense model's backends, then the eigenvalues of J J^T (eigen method) or
// Hutchinson probes of tr((J^T J)^k) (probes method).
//
// Weights, biases, the input and the probes are Philox draws (philox_normal.hpp) in the streams
// of network k, so a run is reproducible and CPU and CUDA factor the same matrices. J and the
// probe blocks are renormalised every layer, with the log of the factor kept in double, so
// depth 10^4 stays finite; m1 is reported from those logs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actgrad/api.hpp"
#include "actgrad/buffer.hpp"
#include "actgrad/detail/decay_dense.hpp"
#include "actgrad/error.hpp"
#include "actgrad/spectrum.hpp"

namespace actgrad {
namespace {

using detail::DenseBackend;
using detail::DenseStream;
using detail::network_stream;

constexpr std::int64_t kEigenAutoMax = 2048; // automatic: eigen up to this width
constexpr std::int64_t kEigenMax = 16384;    // eigen: J and J J^T in memory, N^3 work
constexpr std::int64_t kWidthMax = 1 << 20;  // probes: one W of N^2 at a time
constexpr std::int64_t kNetworksMax = 1 << 20;
constexpr std::int64_t kProbesMax = 4096;

std::string num(double v) {
  char s[64];
  std::snprintf(s, sizeof s, "%.17g", v);
  return s;
}

void check_range(const char* name, std::int64_t v, std::int64_t lo, std::int64_t hi) {
  if (v < lo || v > hi)
    throw Error(std::string("spectrum: ") + name + " " + std::to_string(v) +
                " is not allowed; use an integer in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
}

// Rescales x to unit mean square over `per` entries and returns ln of the factor removed
// (-inf when x is 0; x is then left as is).
double renormalise(DenseBackend& be, TensorView x, double per) {
  const double s = be.sumsq(x) / per;
  if (!(s > 0.0)) return -std::numeric_limits<double>::infinity();
  if (!std::isfinite(s))
    throw Error("spectrum: the products overflowed; use --dtype f64 or a smaller sigma_w2",
                Error::Kind::runtime);
  be.scale(x, 1.0 / std::sqrt(s));
  return std::log(s);
}

class SpectrumRun {
public:
  SpectrumRun(const SpectrumConfig& cfg, DenseBackend& be, SpectrumMethod method, double q_star)
      : cfg_(cfg), be_(be), method_(method), q_star_(q_star), n_(cfg.width) {
    const DType dt = cfg.dtype;
    const Device dev = be.device();
    w_ = Buffer(dt, n_ * n_, dev);
    bias_ = Buffer(dt, n_, dev);
    zero_ = Buffer(dt, std::max(n_, cols()), dev);
    // A zero bias for the products W J: 0 times finite normal draws (a fresh buffer is
    // uninitialised, and scaling it by 0 would keep any NaN in it).
    be_.normal(zero_.view(), cfg.seed, 0, DenseStream::probe, 0.0);
    x_ = Buffer(dt, n_, dev);
    h_ = Buffer(dt, n_, dev);
    d_ = Buffer(dt, method_ == SpectrumMethod::probes ? n_ * cfg.depth : n_, dev);
    a_ = Buffer(dt, n_ * cols(), dev);
    b_ = Buffer(dt, n_ * cols(), dev);
  }

  NetworkSpectrum run(std::uint32_t k, std::vector<double>* eigenvalues,
                      const std::function<void()>& layer_done) {
    return method_ == SpectrumMethod::eigen ? run_eigen(k, eigenvalues, layer_done)
                                            : run_probes(k, layer_done);
  }

private:
  std::int64_t cols() const { return method_ == SpectrumMethod::probes ? cfg_.probes : cfg_.width; }

  // x^0 = phi(sqrt(q*) z).
  void input(std::uint32_t k) {
    be_.normal(x_.view(), cfg_.seed, 0, network_stream(DenseStream::input, k), std::sqrt(q_star_));
    be_.fused(cfg_.act, x_.view(), x_.view(), h_.view());
  }

  // W^l and b^l of network k; h = W x + b, x = phi(h), d = phi'(h).
  void layer(std::uint32_t k, std::int64_t l, TensorView d) {
    draw(k, l);
    be_.linear(w_.view(), x_.view(), bias_.view(), h_.view(), n_, 1);
    be_.fused(cfg_.act, h_.view(), x_.view(), d);
  }

  void draw(std::uint32_t k, std::int64_t l) {
    const auto lu = std::uint32_t(l);
    detail::draw_weights(be_, w_.view(), n_, cfg_.init, cfg_.sigma_w2, cfg_.seed, lu,
                         network_stream(DenseStream::weight, k));
    be_.normal(bias_.view(), cfg_.seed, lu, network_stream(DenseStream::bias, k),
               std::sqrt(cfg_.sigma_b2));
  }

  // out = W^l in (n x c), no bias.
  void times_w(ConstTensorView in, TensorView out, std::int64_t c) {
    be_.linear(w_.view(), in, detail::sub_view(zero_.view(), 0, n_), out, n_, c);
  }

  NetworkSpectrum run_eigen(std::uint32_t k, std::vector<double>* eigenvalues,
                            const std::function<void()>& layer_done) {
    input(k);
    const double per = double(n_);
    double log_m1 = 0; // ln of the factors removed from J, so m1 = exp(log_m1) mean(eig)
    for (std::int64_t l = 1; l <= cfg_.depth; ++l) {
      layer(k, l, d_.view());
      if (l == 1)
        be_.copy(w_.view(), a_.view());
      else {
        times_w(a_.view(), b_.view(), n_);
        std::swap(a_, b_);
      }
      be_.scale_rows(a_.view(), d_.view(), n_, n_);
      log_m1 += renormalise(be_, a_.view(), per);
      layer_done();
    }
    const std::vector<double> ev = be_.gram_eigenvalues(a_.view(), n_);
    double s1 = 0, s2 = 0, s3 = 0;
    for (double e : ev) s1 += e, s2 += e * e, s3 += e * e * e;
    const double m1 = s1 / per, m2 = s2 / per, m3 = s3 / per;
    NetworkSpectrum r;
    r.m1 = std::exp(log_m1 + std::log(m1));
    r.m2_ratio = m2 / (m1 * m1) - 1.0;
    r.m3_ratio = m3 / (m1 * m1 * m1);
    r.lambda_max = ev.empty() ? 0.0 : ev.back() / m1;
    if (eigenvalues)
      for (double e : ev) eigenvalues->push_back(e / m1);
    return r;
  }

  // U = J V, Y = J^T U, Z = J Y for P Gaussian probes V: tr(J^T J) = E|U|^2, tr((J^T J)^2) =
  // E|Y|^2, tr((J^T J)^3) = E|Z|^2. Every pass renormalises and keeps the log factors.
  NetworkSpectrum run_probes(std::uint32_t k, const std::function<void()>& layer_done) {
    const std::int64_t p = cfg_.probes, L = cfg_.depth;
    const double per = double(n_ * p);
    input(k);
    be_.normal(a_.view(), cfg_.seed, 0, network_stream(DenseStream::probe, k), 1.0);
    double log_v = std::log(be_.sumsq(a_.view()) / per);
    double log_u = 0, log_y = 0, log_z = 0;
    for (std::int64_t l = 1; l <= L; ++l) { // forward: x, d^l, U
      const TensorView d = detail::sub_view(d_.view(), (l - 1) * n_, n_);
      layer(k, l, d);
      times_w(a_.view(), b_.view(), p);
      std::swap(a_, b_);
      be_.scale_rows(a_.view(), d, n_, p);
      log_u += renormalise(be_, a_.view(), per);
      layer_done();
    }
    log_y = log_u;
    for (std::int64_t l = L; l >= 1; --l) { // backward: Y = W^T D Y
      be_.scale_rows(a_.view(), detail::sub_view(d_.view(), (l - 1) * n_, n_), n_, p);
      draw(k, l);
      be_.linear_t(w_.view(), a_.view(), b_.view(), n_, p);
      std::swap(a_, b_);
      log_y += renormalise(be_, a_.view(), per);
      layer_done();
    }
    log_z = log_y;
    for (std::int64_t l = 1; l <= L; ++l) { // forward again: Z = D W Z
      draw(k, l);
      times_w(a_.view(), b_.view(), p);
      std::swap(a_, b_);
      be_.scale_rows(a_.view(), detail::sub_view(d_.view(), (l - 1) * n_, n_), n_, p);
      log_z += renormalise(be_, a_.view(), per);
      layer_done();
    }
    // Mean squares relative to |V|^2 / (N P): m_k = E|.|^2 / N.
    const double lm1 = log_u - log_v, lm2 = log_y - log_v, lm3 = log_z - log_v;
    NetworkSpectrum r;
    r.m1 = std::exp(lm1);
    r.m2_ratio = std::exp(lm2 - 2 * lm1) - 1.0;
    r.m3_ratio = std::exp(lm3 - 3 * lm1);
    r.lambda_max = std::numeric_limits<double>::quiet_NaN();
    return r;
  }

  const SpectrumConfig& cfg_;
  DenseBackend& be_;
  SpectrumMethod method_;
  double q_star_;
  std::int64_t n_;
  Buffer w_, bias_, zero_, x_, h_, d_, a_, b_;
};

// Mean and standard error of the mean of one field over networks.
void summarise(const std::vector<NetworkSpectrum>& nets, double NetworkSpectrum::*f, double& mean,
               double& se) {
  const double k = double(nets.size());
  double s = 0;
  for (const NetworkSpectrum& n : nets) s += n.*f;
  mean = s / k;
  if (nets.size() < 2) {
    se = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  double v = 0;
  for (const NetworkSpectrum& n : nets) v += (n.*f - mean) * (n.*f - mean);
  se = std::sqrt(v / (k - 1) / k);
}

} // namespace

const char* spectrum_method_name(SpectrumMethod m) {
  switch (m) {
  case SpectrumMethod::eigen:
    return "eigen";
  case SpectrumMethod::probes:
    return "probes";
  default:
    return "auto";
  }
}

SpectrumResult simulate_spectrum(const SpectrumConfig& cfg, const ProgressFn& progress) {
  if (cfg.act.is_gated())
    throw Error(std::string("spectrum: activation '") + cfg.act.to_string() +
                "' is a gated unit; the spectrum needs a unary activation");
  check_range("depth", cfg.depth, 1, 1 << 20);
  const SpectrumMethod method = cfg.method != SpectrumMethod::automatic ? cfg.method
                                : cfg.width <= kEigenAutoMax            ? SpectrumMethod::eigen
                                                                        : SpectrumMethod::probes;
  check_range("width", cfg.width, 1, method == SpectrumMethod::eigen ? kEigenMax : kWidthMax);
  check_range("networks", cfg.networks, 1, kNetworksMax);
  if (method == SpectrumMethod::probes) check_range("probes", cfg.probes, 1, kProbesMax);
  if (!(cfg.sigma_w2 > 0.0) || !std::isfinite(cfg.sigma_w2))
    throw Error("spectrum: sigma_w2 " + num(cfg.sigma_w2) +
                " is not allowed; use a finite variance > 0");
  if (!(cfg.sigma_b2 >= 0.0) || !std::isfinite(cfg.sigma_b2))
    throw Error("spectrum: sigma_b2 " + num(cfg.sigma_b2) +
                " is not allowed; use a finite variance >= 0");
  if (!std::isnan(cfg.q_star) && !(cfg.q_star > 0.0 && std::isfinite(cfg.q_star)))
    throw Error("spectrum: q_star " + num(cfg.q_star) + " is not allowed; use a finite q* > 0");
  if (cfg.dtype != DType::f32 && cfg.dtype != DType::f64)
    throw Error(std::string("spectrum: dtype ") + dtype_name(cfg.dtype) +
                " is not allowed; use f32 or f64");

  double q_star = cfg.q_star;
  if (std::isnan(q_star)) {
    const MeanField mf = mean_field(cfg.act, cfg.sigma_w2, cfg.sigma_b2);
    if (!mf.converged || !(mf.q_star > 0.0) || !std::isfinite(mf.q_star))
      throw Error("spectrum: the q-map of '" + cfg.act.to_string() + "' at sigma_w2 " +
                  num(cfg.sigma_w2) + ", sigma_b2 " + num(cfg.sigma_b2) +
                  " has no finite fixed point q* > 0; give q_star (--q-star) instead");
    q_star = mf.q_star;
  }

  std::unique_ptr<DenseBackend> be = cfg.device.kind == DeviceKind::cuda
                                         ? detail::make_cuda_dense_backend(cfg.dtype, cfg.device)
                                         : detail::make_cpu_dense_backend(cfg.dtype);
  const std::int64_t n = cfg.width, c = method == SpectrumMethod::probes ? cfg.probes : n;
  const std::uint64_t elems = std::uint64_t(n) * std::uint64_t(n) * 3 +
                              std::uint64_t(n) * std::uint64_t(c) * 2 +
                              std::uint64_t(n) * std::uint64_t(cfg.depth);
  const std::uint64_t need = elems * dtype_size(cfg.dtype) +
                             (method == SpectrumMethod::eigen ? 2 * std::uint64_t(n * n) * 8 : 0);
  if (need > be->available_bytes())
    throw Error("spectrum: width " + std::to_string(n) + " needs about " + std::to_string(need) +
                " bytes on " + be->device().describe() + ", but only " +
                std::to_string(be->available_bytes()) + " are available; reduce width");

  SpectrumResult out;
  out.method = method;
  out.q_star = q_star;
  SpectrumRun run(cfg, *be, method, q_star);
  const std::int64_t per_net = method == SpectrumMethod::probes ? 3 * cfg.depth : cfg.depth;
  const std::int64_t total = per_net * cfg.networks;
  std::int64_t done = 0;
  for (std::int64_t k = 0; k < cfg.networks; ++k)
    out.networks.push_back(run.run(std::uint32_t(k), &out.eigenvalues, [&] {
      if (progress) progress(++done, total);
    }));
  summarise(out.networks, &NetworkSpectrum::m1, out.mean.m1, out.se.m1);
  summarise(out.networks, &NetworkSpectrum::m2_ratio, out.mean.m2_ratio, out.se.m2_ratio);
  summarise(out.networks, &NetworkSpectrum::m3_ratio, out.mean.m3_ratio, out.se.m3_ratio);
  summarise(out.networks, &NetworkSpectrum::lambda_max, out.mean.lambda_max, out.se.lambda_max);
  return out;
}

} // namespace actgrad
