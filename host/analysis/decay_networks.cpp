// Finite-width statistics over independent dense networks (issue 17); see decay.hpp.
//
// Each network k runs one input x^0 through L dense layers with its own weights (Philox streams
// detail::network_stream(s, k), so network 0 draws what a single run draws) and back with one
// random unit vector v: ln(|x^L|^2 / |x^0|^2) and ln |J^T v|^2, J = D^L W^L ... D^1 W^1. The
// backward pass renormalises delta every layer and adds the log of the factor, so the logs stay
// finite at any depth; the forward pass does the same where the network is scale-invariant
// (relu or leaky_relu, sigma_b2 = 0, no shifts in the transform). Beside the measurements: the
// mean-field log of the mean ratio and, for relu/leaky_relu with Gaussian weights and zero
// bias, the exact finite-width law of the log ratio (digamma/trigamma and a Beta integral).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actgrad/buffer.hpp"
#include "actgrad/decay.hpp"
#include "actgrad/detail/decay_dense.hpp"
#include "actgrad/error.hpp"

namespace actgrad {
namespace {

using detail::DenseBackend;
using detail::DenseStream;
using detail::is_identity;
using detail::network_stream;
using detail::sub_view;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLn2 = 0.69314718055994530942;
constexpr std::int64_t kMaxNetworks = std::int64_t(1) << 29;  // network_stream's range
constexpr double kMaxCost = 1e12;                             // weight elements drawn, all networks
constexpr std::uint64_t kStoreCap = std::uint64_t(256) << 20; // bytes of stored weights, at most

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

// --- special functions and the rectifier law -----------------------------------------------

// log of the Binomial(n, 1/2) probability of k.
double log_binom_half(std::int64_t n, std::int64_t k) {
  return std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1) -
         double(n) * kLn2;
}

// The K range [lo, hi] outside which Binomial(n, 1/2) has log-probability below about -70.
std::pair<std::int64_t, std::int64_t> binomial_range(std::int64_t n) {
  const double half = 0.5 * double(n), reach = 12.0 * 0.5 * std::sqrt(double(n)) + 2.0;
  return {std::max<std::int64_t>(0, std::int64_t(std::floor(half - reach))),
          std::min<std::int64_t>(n, std::int64_t(std::ceil(half + reach)))};
}

// Gauss-Legendre nodes and weights on [-1, 1] (Newton on P_m from the Chebyshev guesses).
struct GaussLegendre {
  std::vector<double> x, w;
  explicit GaussLegendre(int m) : x(std::size_t(m)), w(std::size_t(m)) {
    for (int i = 0; i < m; ++i) {
      double z = std::cos(M_PI * (i + 0.75) / (m + 0.5)), dp = 1.0;
      for (int it = 0; it < 100; ++it) {
        double p0 = 1.0, p1 = z;
        for (int j = 2; j <= m; ++j) {
          const double p2 = ((2.0 * j - 1.0) * z * p1 - (j - 1.0) * p0) / j;
          p0 = p1, p1 = p2;
        }
        dp = m * (z * p1 - p0) / (z * z - 1.0);
        const double dz = p1 / dp;
        z -= dz;
        if (std::fabs(dz) < 1e-16) break;
      }
      x[std::size_t(i)] = z;
      w[std::size_t(i)] = 2.0 / ((1.0 - z * z) * dp * dp);
    }
  }
};

// E[f(B)] and E[(f(B) - E f)^2] for B ~ Beta(k/2, (n-k)/2), 1 <= k <= n-1, f(b) = ln(a2 + (1 -
// a2) b). With B = sin^2(t) the density becomes 2 sin^(k-1) t cos^(n-k-1) t / Beta(k/2, (n-k)/2)
// on [0, pi/2], bounded and smooth (integer exponents); it is log-concave, so the window where
// its log is within 60 of the maximum holds all but ~e^-60 of the mass. The normaliser is the
// same quadrature of the weight, so the weights sum to 1 exactly.
std::pair<double, double> beta_log_moments(std::int64_t n, std::int64_t k, double a2,
                                           const GaussLegendre& gl) {
  const double A = double(k - 1), B = double(n - k - 1);
  const auto logw = [&](double t) {
    return (A > 0 ? A * std::log(std::sin(t)) : 0.0) + (B > 0 ? B * std::log(std::cos(t)) : 0.0);
  };
  const double half_pi = 0.5 * M_PI;
  double mode = A == 0 ? 0.0 : B == 0 ? half_pi : std::atan(std::sqrt(A / B));
  const double top = logw(mode);
  const auto edge = [&](double inside, double outside) { // logw(inside) - top >= -60 > outside
    if (logw(outside) - top >= -60.0) return outside;
    for (int it = 0; it < 80; ++it) {
      const double mid = 0.5 * (inside + outside);
      (logw(mid) - top >= -60.0 ? inside : outside) = mid;
    }
    return outside;
  };
  const double lo = mode > 0 ? edge(mode, 0.0) : 0.0;
  const double hi = mode < half_pi ? edge(mode, half_pi) : half_pi;
  constexpr int panels = 32;
  const double h = (hi - lo) / panels;
  std::vector<double> fs, ws;
  fs.reserve(panels * gl.x.size());
  ws.reserve(panels * gl.x.size());
  double sw = 0.0, swf = 0.0;
  for (int p = 0; p < panels; ++p)
    for (std::size_t i = 0; i < gl.x.size(); ++i) {
      const double t = lo + h * (p + 0.5 * (gl.x[i] + 1.0)), s = std::sin(t);
      const double wt = gl.w[i] * std::exp(logw(t) - top);
      const double f = std::log(a2 + (1.0 - a2) * s * s);
      fs.push_back(f);
      ws.push_back(wt);
      sw += wt;
      swf += wt * f;
    }
  const double mean = swf / sw;
  double sv = 0.0;
  for (std::size_t i = 0; i < fs.size(); ++i) sv += ws[i] * (fs[i] - mean) * (fs[i] - mean);
  return {mean, sv / sw};
}

// One layer's law of ln ratio (see rectifier_log_ratio_law).
LogRatioLaw layer_law(double a, double sigma_w2, std::int64_t n) {
  const double shift = std::log(sigma_w2 / double(n));
  const auto [lo, hi] = binomial_range(n);
  if (a == 0.0) { // relu: ln(S/n) + ln chi^2_K, K >= 1
    std::vector<double> p, m, v;
    double total = 0.0;
    for (std::int64_t k = std::max<std::int64_t>(lo, 1); k <= hi; ++k) {
      p.push_back(std::exp(log_binom_half(n, k)));
      m.push_back(kLn2 + digamma(0.5 * double(k)));
      v.push_back(trigamma(0.5 * double(k)));
      total += p.back();
    }
    double mean = 0.0;
    for (std::size_t i = 0; i < p.size(); ++i) mean += p[i] / total * m[i];
    double var = 0.0;
    for (std::size_t i = 0; i < p.size(); ++i)
      var += p[i] / total * (v[i] + (m[i] - mean) * (m[i] - mean));
    return {shift + mean, var};
  }
  // leaky: ln(S/n) + ln chi^2_n + f(B), f(b) = ln(a^2 + (1 - a^2) b), B a Beta mixture over K.
  const double a2 = a * a;
  const GaussLegendre gl(16);
  std::vector<double> p, m, v;
  for (std::int64_t k = lo; k <= hi; ++k) {
    p.push_back(std::exp(log_binom_half(n, k)));
    if (k == 0) {
      m.push_back(std::log(a2)), v.push_back(0.0);
    } else if (k == n) {
      m.push_back(0.0), v.push_back(0.0);
    } else {
      const auto [mk, vk] = beta_log_moments(n, k, a2, gl);
      m.push_back(mk), v.push_back(vk);
    }
  }
  double total = 0.0, mean = 0.0;
  for (double q : p) total += q;
  for (std::size_t i = 0; i < p.size(); ++i) mean += p[i] / total * m[i];
  double var = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i)
    var += p[i] / total * (v[i] + (m[i] - mean) * (m[i] - mean));
  const double hn = 0.5 * double(n);
  return {shift + kLn2 + digamma(hn) + mean, trigamma(hn) + var};
}

// --- the simulation ---------------------------------------------------------------------------

// Negative slope a of relu (0) or leaky_relu; nan for any other activation.
double rectifier_slope(const Activation& act) {
  if (act.id() == ActId::Relu) return 0.0;
  if (act.id() == ActId::LeakyRelu) return act.param("negative_slope");
  return kNan;
}

std::uint64_t mul_sat(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<std::uint64_t>::max() : r;
}

// Stored weights (every layer's W kept for the backward pass) when they fit in this many bytes.
std::uint64_t stored_weight_bytes(const DecayConfig& cfg) {
  const auto n = std::uint64_t(cfg.width);
  return mul_sat(mul_sat(mul_sat(n, n), std::uint64_t(cfg.depth)), dtype_size(cfg.dtype));
}

// Model bytes: weights (one layer, or all when stored), bias, x, h, the next x, v/delta, g and
// f'(h^l) for every layer.
struct NetworkPlan {
  bool store;
  std::uint64_t bytes;
};
NetworkPlan network_plan(const DecayConfig& cfg, std::uint64_t available) {
  const auto n = std::uint64_t(cfg.width), L = std::uint64_t(cfg.depth);
  const std::uint64_t elem = dtype_size(cfg.dtype);
  const std::uint64_t vectors = mul_sat(mul_sat(n, L + 6), elem);
  const std::uint64_t one = mul_sat(mul_sat(n, n), elem), all = stored_weight_bytes(cfg);
  const bool store = all <= kStoreCap && all <= available / 4;
  const std::uint64_t w = store ? all : one;
  return {store, w + vectors < w ? std::numeric_limits<std::uint64_t>::max() : w + vectors};
}

void validate(const DecayConfig& cfg, std::int64_t networks) {
  if (networks < 1 || networks > kMaxNetworks)
    throw Error("networks: " + std::to_string(networks) +
                " is not allowed; use an integer in [1, " + std::to_string(kMaxNetworks) + "]");
  if (cfg.model != DecayModel::dense)
    throw Error("networks: several networks apply to the dense model only");
  if (cfg.depth < 1)
    throw Error("networks: depth " + std::to_string(cfg.depth) + " is not allowed; use >= 1");
  if (cfg.width < 1 || cfg.width > std::numeric_limits<int>::max())
    throw Error("networks: width " + std::to_string(cfg.width) + " is not allowed; use [1, " +
                std::to_string(std::numeric_limits<int>::max()) + "]");
  if (!(cfg.sigma_w2 >= 0.0) || !std::isfinite(cfg.sigma_w2))
    throw Error("networks: sigma_w2 " + num(cfg.sigma_w2) +
                " is not allowed; use a finite "
                "variance >= 0");
  if (!(cfg.sigma_b2 >= 0.0) || !std::isfinite(cfg.sigma_b2))
    throw Error("networks: sigma_b2 " + num(cfg.sigma_b2) +
                " is not allowed; use a finite "
                "variance >= 0");
  if (cfg.dtype != DType::f32 && cfg.dtype != DType::f64)
    throw Error(std::string("networks: dtype ") + dtype_name(cfg.dtype) +
                " is not allowed; use f32 or f64");
  if (cfg.act.is_gated())
    throw Error(std::string("networks: activation '") + cfg.act.name() +
                "' is a gated unit; the dense model needs a unary activation");
  const ActivationTransform& t = cfg.transform;
  if (!std::isfinite(t.input_scale) || !std::isfinite(t.input_shift) ||
      !std::isfinite(t.output_shift) || !std::isfinite(t.output_scale))
    throw Error("networks: transform values must be finite");
  const double n = double(cfg.width);
  const double cost =
      double(networks) * double(cfg.depth) * n * n * (cfg.init == WeightInit::orthogonal ? n : 1.0);
  if (cost > kMaxCost)
    throw Error("networks: " + std::to_string(networks) + " networks x depth " +
                std::to_string(cfg.depth) + " x width " + std::to_string(cfg.width) + "^" +
                (cfg.init == WeightInit::orthogonal ? "3" : "2") + " = " + num(cost) +
                " exceeds the cap of " + num(kMaxCost) + "; reduce networks, depth or width");
}

class NetworkRun {
public:
  NetworkRun(const DecayConfig& cfg, DenseBackend& be, bool store)
      : cfg_(cfg), be_(be), n_(cfg.width), L_(cfg.depth), store_(store) {
    const DType dt = cfg.dtype;
    const Device dev = be.device();
    w_ = Buffer(dt, (store ? L_ : 1) * n_ * n_, dev);
    bias_ = Buffer(dt, n_, dev);
    x_ = Buffer(dt, n_, dev);
    h_ = Buffer(dt, n_, dev);
    x_next_ = Buffer(dt, n_, dev);
    delta_ = Buffer(dt, n_, dev);
    g_ = Buffer(dt, n_, dev);
    d_ = Buffer(dt, L_ * n_, dev);
    sb_ = std::sqrt(cfg.sigma_b2);
    const double a = rectifier_slope(cfg.act);
    homogeneous_ = !std::isnan(a) && cfg.sigma_b2 == 0.0 && cfg.transform.input_shift == 0.0 &&
                   cfg.transform.output_shift == 0.0;
  }

  // (ln forward ratio, ln |J^T v|^2) of network k.
  std::pair<double, double> run(std::uint32_t k) {
    const std::uint64_t seed = cfg_.seed;
    const DenseStream weight = network_stream(DenseStream::weight, k);
    be_.normal(x_.view(), seed, 0, network_stream(DenseStream::input, k), 1.0);
    const double x0 = be_.sumsq(x_.view());
    double log_fwd = -std::log(x0);
    for (std::int64_t l = 1; l <= L_; ++l) {
      const auto lu = std::uint32_t(l);
      TensorView w = weight_slot(l);
      detail::draw_weights(be_, w, n_, cfg_.init, cfg_.sigma_w2, seed, lu, weight);
      be_.normal(bias_.view(), seed, lu, network_stream(DenseStream::bias, k), sb_);
      be_.linear(w, x_.view(), bias_.view(), h_.view(), n_, 1);
      TensorView d = sub_view(d_.view(), (l - 1) * n_, n_);
      detail::fused_transformed(be_, cfg_.act, cfg_.transform, h_.view(), x_next_.view(), d);
      std::swap(x_, x_next_);
      if (homogeneous_ && l < L_) { // rescale x to unit norm; phi and phi' do not notice
        const double s = be_.sumsq(x_.view());
        if (s == 0.0 || !std::isfinite(s)) {
          log_fwd = s == 0.0 ? -std::numeric_limits<double>::infinity() : kNan;
          break;
        }
        be_.scale(x_.view(), 1.0 / std::sqrt(s));
        log_fwd += std::log(s);
      }
      if (l == L_) log_fwd += std::log(be_.sumsq(x_.view()));
    }
    if (homogeneous_ && !std::isfinite(log_fwd)) {
      // A dead layer (x^l = 0, so x^L = 0 and J = 0: both logs are -inf), or an overflow.
      return {log_fwd, log_fwd};
    }

    // Backward: delta = D^L v, then g = W^l^T delta, delta = D^(l-1) g, ..., ending with W^1^T.
    be_.normal(delta_.view(), seed, std::uint32_t(L_), network_stream(DenseStream::readout, k),
               1.0);
    double log_g = -std::log(be_.sumsq(delta_.view()));
    double s = be_.mul_sumsq(sub_view(d_.view(), (L_ - 1) * n_, n_), delta_.view(), delta_.view());
    for (std::int64_t l = L_; l >= 1; --l) {
      if (s == 0.0 || !std::isfinite(s)) return {log_fwd, s == 0.0 ? -kInf : kNan};
      log_g += std::log(s);
      be_.scale(delta_.view(), 1.0 / std::sqrt(s));
      TensorView w = weight_slot(l);
      if (!store_)
        detail::draw_weights(be_, w, n_, cfg_.init, cfg_.sigma_w2, seed, std::uint32_t(l), weight);
      be_.linear_t(w, delta_.view(), g_.view(), n_, 1);
      s = l > 1 ? be_.mul_sumsq(sub_view(d_.view(), (l - 2) * n_, n_), g_.view(), delta_.view())
                : be_.sumsq(g_.view());
    }
    if (s == 0.0 || !std::isfinite(s)) return {log_fwd, s == 0.0 ? -kInf : kNan};
    return {log_fwd, log_g + std::log(s)};
  }

private:
  TensorView weight_slot(std::int64_t l) {
    return store_ ? sub_view(w_.view(), (l - 1) * n_ * n_, n_ * n_) : w_.view();
  }

  const DecayConfig& cfg_;
  DenseBackend& be_;
  std::int64_t n_, L_;
  bool store_;
  bool homogeneous_ = false;
  double sb_ = 0.0;
  Buffer w_, bias_, x_, h_, x_next_, delta_, g_, d_;
};

// ln E[|x^L|^2] / |x^0|^2 and ln E|J^T v|^2 from the q-map with q^1 = S + T.
std::pair<double, double> mean_field_logs(const DecayConfig& cfg) {
  const MeanFieldTrajectory t =
      mean_field_trajectory(cfg.act, cfg.sigma_w2, cfg.sigma_b2, cfg.depth);
  const double forward = std::log(mean_field_qmap(cfg.act, 1.0, 0.0, t.q.back()));
  double grad = 0.0;
  for (double c : t.chi) grad += std::log(c);
  return {forward, grad};
}

} // namespace

double digamma(double x) {
  if (!(x > 0.0) || std::isinf(x)) return std::isinf(x) && x > 0 ? x : kNan;
  double r = 0.0;
  while (x < 10.0) r -= 1.0 / x, x += 1.0;
  const double x2 = 1.0 / (x * x);
  // psi(x) ~ ln x - 1/(2x) - sum B_2k / (2k x^2k).
  const double series =
      x2 * (1.0 / 12 -
            x2 * (1.0 / 120 -
                  x2 * (1.0 / 252 - x2 * (1.0 / 240 - x2 * (1.0 / 132 - x2 * 691.0 / 32760)))));
  return r + std::log(x) - 0.5 / x - series;
}

double trigamma(double x) {
  if (!(x > 0.0) || std::isinf(x)) return std::isinf(x) && x > 0 ? 0.0 : kNan;
  double r = 0.0;
  while (x < 10.0) r += 1.0 / (x * x), x += 1.0;
  const double x2 = 1.0 / (x * x);
  // psi'(x) ~ 1/x + 1/(2x^2) + sum B_2k / x^(2k+1).
  const double series =
      (1.0 / 6 - x2 * (1.0 / 30 - x2 * (1.0 / 42 - x2 * (1.0 / 30 - x2 * (5.0 / 66)))));
  return r + 1.0 / x + 0.5 * x2 + series * x2 / x;
}

LogRatioLaw rectifier_log_ratio_law(double negative_slope, double sigma_w2, std::int64_t width,
                                    std::int64_t depth) {
  if (width < 1) throw Error("rectifier law: width " + std::to_string(width) + " must be >= 1");
  if (depth < 1) throw Error("rectifier law: depth " + std::to_string(depth) + " must be >= 1");
  if (!(sigma_w2 > 0.0) || !std::isfinite(sigma_w2))
    throw Error("rectifier law: sigma_w2 " + num(sigma_w2) + " must be finite and > 0");
  if (!std::isfinite(negative_slope))
    throw Error("rectifier law: negative_slope " + num(negative_slope) + " must be finite");
  const LogRatioLaw one = layer_law(negative_slope, sigma_w2, width);
  return {double(depth) * one.mean, double(depth) * one.variance};
}

LogRatioLaw relu_log_ratio_asymptote(double sigma_w2, std::int64_t width, std::int64_t depth) {
  const double beta = 5.0 * double(depth) / double(width);
  return {double(depth) * std::log(sigma_w2 / 2.0) - 0.5 * beta, beta};
}

SampleStats sample_stats(const std::vector<double>& values) {
  std::vector<double> v;
  v.reserve(values.size());
  for (double x : values)
    if (std::isfinite(x)) v.push_back(x);
  SampleStats s{};
  s.count = std::int64_t(v.size());
  s.mean = s.variance = s.se_mean = s.q05 = s.q25 = s.q50 = s.q75 = s.q95 = kNan;
  if (v.empty()) return s;
  double mean = 0.0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  s.mean = mean;
  if (v.size() >= 2) {
    double ss = 0.0;
    for (double x : v) ss += (x - mean) * (x - mean);
    s.variance = ss / double(v.size() - 1);
    s.se_mean = std::sqrt(s.variance / double(v.size()));
  }
  std::sort(v.begin(), v.end());
  const auto q = [&](double p) { // R type 7
    const double h = p * double(v.size() - 1);
    const auto i = std::size_t(std::floor(h));
    return i + 1 < v.size() ? v[i] + (h - double(i)) * (v[i + 1] - v[i]) : v[i];
  };
  s.q05 = q(0.05), s.q25 = q(0.25), s.q50 = q(0.5), s.q75 = q(0.75), s.q95 = q(0.95);
  return s;
}

std::uint64_t networks_memory_bytes(const DecayConfig& cfg) {
  if (cfg.width < 1 || cfg.depth < 1) return 0;
  return network_plan(cfg, std::numeric_limits<std::uint64_t>::max()).bytes;
}

NetworkStats simulate_networks(const DecayConfig& cfg, std::int64_t networks,
                               const ProgressFn& progress) {
  validate(cfg, networks);
  std::unique_ptr<DenseBackend> be = cfg.device.kind == DeviceKind::cuda
                                         ? detail::make_cuda_dense_backend(cfg.dtype, cfg.device)
                                         : detail::make_cpu_dense_backend(cfg.dtype);
  const std::uint64_t available = be->available_bytes();
  const NetworkPlan plan = network_plan(cfg, available);
  if (plan.bytes > available)
    throw Error("networks: width " + std::to_string(cfg.width) + " x depth " +
                std::to_string(cfg.depth) + " needs " + std::to_string(plan.bytes) + " bytes on " +
                be->device().describe() + ", but only " + std::to_string(available) +
                " are available; reduce width or depth");

  NetworkStats out;
  out.log_forward_ratio.resize(std::size_t(networks));
  out.log_grad_ratio.resize(std::size_t(networks));
  {
    NetworkRun run(cfg, *be, plan.store);
    for (std::int64_t k = 0; k < networks; ++k) {
      const auto [f, g] = run.run(std::uint32_t(k));
      out.log_forward_ratio[std::size_t(k)] = f;
      out.log_grad_ratio[std::size_t(k)] = g;
      if (progress) progress(k + 1, networks);
    }
  }

  out.forward.stats = sample_stats(out.log_forward_ratio);
  out.grad.stats = sample_stats(out.log_grad_ratio);
  const double per = double(cfg.width) / double(cfg.depth);
  out.forward.c_phi = per * out.forward.stats.variance;
  out.grad.c_phi = per * out.grad.stats.variance;

  const bool plain = is_identity(cfg.transform);
  const auto [mf_fwd, mf_grad] =
      plain ? mean_field_logs(cfg) : std::pair<double, double>{kNan, kNan};
  const double a = rectifier_slope(cfg.act);
  const bool law = plain && !std::isnan(a) && cfg.init == WeightInit::gaussian &&
                   cfg.sigma_b2 == 0.0 && cfg.sigma_w2 > 0.0;
  const LogRatioLaw l = law ? rectifier_log_ratio_law(a, cfg.sigma_w2, cfg.width, cfg.depth)
                            : LogRatioLaw{kNan, kNan};
  out.forward.theory = {mf_fwd, l, law};
  out.grad.theory = {mf_grad, l, false};
  return out;
}

} // namespace actgrad
