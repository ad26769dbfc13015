// Dense gradient-decay model (SPEC §6): validation, memory plan, the layer loop, and its CPU
// backend.
//
// One orchestration drives a DenseBackend (the CPU one below with OpenBLAS, or the CUDA one in
// kernels/decay_dense.cu with cuBLAS). Weights, biases, inputs and the readout gradient are drawn
// from Philox counters (philox_normal.hpp), so they are regenerated per layer instead of stored
// and both devices draw the same numbers. The backward pass renormalises delta every layer and
// carries log10 of the scale factors in double, so log10_grad_norm2 stays finite at any depth.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <cblas.h>

// LAPACK, from OpenBLAS (libopenblas carries the reference LAPACK routines; Debian ships no
// LAPACKE for it without another package): the Fortran entry points, with the hidden lengths of
// character arguments that gfortran appends.
extern "C" {
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau,
             double* work, const int* lwork, int* info);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info,
             std::size_t jobz_len, std::size_t uplo_len);
}

#include "actgrad/api.hpp"
#include "actgrad/buffer.hpp"
#include "actgrad/detail/decay_dense.hpp"
#include "actgrad/error.hpp"
#include "actgrad/scalar.hpp"

namespace actgrad {
namespace detail {
namespace {

constexpr std::int64_t kDefaultBatch = 64;
// Below this many elements a loop runs on one thread: a parallel region costs microseconds,
// more than the loop itself, and deep narrow runs make ~10 of them per layer.
constexpr std::int64_t kParallelMin = 1 << 15;
constexpr std::int64_t kMaxDim = std::numeric_limits<int>::max(); // BLAS dimensions are int

std::uint64_t mul_sat(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<std::uint64_t>::max() : r;
}
std::uint64_t add_sat(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<std::uint64_t>::max() : r;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

std::int64_t isqrt_ceil(std::int64_t n) {
  auto k = static_cast<std::int64_t>(std::sqrt(static_cast<double>(n)));
  while (k * k < n) ++k;
  while (k > 1 && (k - 1) * (k - 1) >= n) --k;
  return std::max<std::int64_t>(k, 1);
}

void check_dim(const char* name, std::int64_t v, std::int64_t max) {
  if (v < 1 || v > max)
    throw Error(std::string("dense model: ") + name + " must be in [1, " + std::to_string(max) +
                "], got " + std::to_string(v));
}

void check_variance(const char* name, double v) {
  if (!(v >= 0.0) || !std::isfinite(v))
    throw Error(std::string("dense model: ") + name + " must be a finite variance >= 0, got " +
                std::to_string(v));
}

std::int64_t batch_of(const DecayConfig& cfg) { return cfg.batch == 0 ? kDefaultBatch : cfg.batch; }

// Host memory that can still be allocated: MemAvailable (free plus reclaimable cache).
std::uint64_t host_available_bytes() {
  if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long long kb = 0;
    bool found = false;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
        found = true;
        break;
      }
    std::fclose(f);
    if (found) return mul_sat(kb, 1024);
  }
  const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? mul_sat(std::uint64_t(pages), std::uint64_t(page)) : 0;
}

// --- CPU backend ------------------------------------------------------------------------------

template <class T>
class CpuDense final : public DenseBackend {
public:
  Device device() const override { return Device::cpu(); }
  std::uint64_t available_bytes() const override { return host_available_bytes(); }

  void normal(TensorView out, std::uint64_t seed, std::uint32_t layer, DenseStream stream,
              double scale) override {
    T* p = static_cast<T*>(out.data);
    const std::int64_t n = out.n, blocks = ceil_div(n, 4);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const Normal4 z = philox_normal4(seed, layer, stream, std::uint64_t(b));
      const std::int64_t lanes = std::min<std::int64_t>(4, n - 4 * b);
      for (std::int64_t j = 0; j < lanes; ++j) p[4 * b + j] = static_cast<T>(scale * z.v[j]);
    }
  }

  void orthogonal(TensorView out, std::int64_t width, std::uint64_t seed, std::uint32_t layer,
                  DenseStream stream, double scale) override {
    const int n = int(width);
    std::vector<double> a(std::size_t(width) * std::size_t(width)),
        tau(static_cast<std::size_t>(width));
    CpuDense<double>().normal(view(a.data(), std::int64_t(a.size())), seed, layer, stream, 1.0);
    int info = 0, lwork = -1;
    double query = 0;
    dgeqrf_(&n, &n, a.data(), &n, tau.data(), &query, &lwork, &info);
    lwork = std::max(1, int(query));
    std::vector<double> work(static_cast<std::size_t>(lwork));
    dgeqrf_(&n, &n, a.data(), &n, tau.data(), work.data(), &lwork, &info);
    lapack_check(info, "dgeqrf");
    // sign(R_ii) before dorgqr overwrites R.
    std::vector<double> sign(static_cast<std::size_t>(width));
    for (std::int64_t i = 0; i < width; ++i)
      sign[std::size_t(i)] = a[std::size_t(i * width + i)] < 0 ? -scale : scale;
    lwork = -1;
    dorgqr_(&n, &n, &n, a.data(), &n, tau.data(), &query, &lwork, &info);
    if (int(query) > int(work.size())) work.resize(std::size_t(query));
    lwork = int(work.size());
    dorgqr_(&n, &n, &n, a.data(), &n, tau.data(), work.data(), &lwork, &info);
    lapack_check(info, "dorgqr");
    T* p = static_cast<T*>(out.data);
#pragma omp parallel for schedule(static) if (out.n >= kParallelMin)
    for (std::int64_t j = 0; j < width; ++j) // column j of Q times sign(R_jj)
      for (std::int64_t i = 0; i < width; ++i)
        p[j * width + i] = static_cast<T>(a[std::size_t(j * width + i)] * sign[std::size_t(j)]);
  }

  void scale_rows(TensorView x, ConstTensorView d, std::int64_t rows, std::int64_t cols) override {
    T* p = static_cast<T*>(x.data);
    const T* dp = static_cast<const T*>(d.data);
#pragma omp parallel for schedule(static) if (x.n >= kParallelMin)
    for (std::int64_t j = 0; j < cols; ++j)
      for (std::int64_t i = 0; i < rows; ++i) p[j * rows + i] *= dp[i];
  }

  std::vector<double> gram_eigenvalues(ConstTensorView j, std::int64_t rows) override {
    const int n = int(rows);
    std::vector<double> gram(std::size_t(rows) * std::size_t(rows)),
        w(static_cast<std::size_t>(rows));
    if constexpr (std::is_same<T, float>::value) {
      std::vector<double> jd(static_cast<const float*>(j.data),
                             static_cast<const float*>(j.data) + rows * rows);
      cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, n, 1.0, jd.data(), n, 0.0,
                  gram.data(), n);
    } else {
      cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, n, 1.0,
                  static_cast<const double*>(j.data), n, 0.0, gram.data(), n);
    }
    int info = 0, lwork = -1, liwork = -1, iquery = 0;
    double query = 0;
    dsyevd_("N", "L", &n, gram.data(), &n, w.data(), &query, &lwork, &iquery, &liwork, &info, 1, 1);
    lwork = std::max(1, int(query));
    liwork = std::max(1, iquery);
    std::vector<double> work(static_cast<std::size_t>(lwork));
    std::vector<int> iwork(static_cast<std::size_t>(liwork));
    dsyevd_("N", "L", &n, gram.data(), &n, w.data(), work.data(), &lwork, iwork.data(), &liwork,
            &info, 1, 1);
    lapack_check(info, "dsyevd");
    return w;
  }

  void linear(ConstTensorView w, ConstTensorView a, ConstTensorView bias, TensorView h,
              std::int64_t width, std::int64_t batch) override {
    const T* bp = static_cast<const T*>(bias.data);
    T* hp = static_cast<T*>(h.data);
#pragma omp parallel for schedule(static) if (h.n >= kParallelMin)
    for (std::int64_t j = 0; j < batch; ++j) std::copy(bp, bp + width, hp + j * width);
    gemm(CblasNoTrans, w, a, h, width, batch, T(1));
  }

  void linear_t(ConstTensorView w, ConstTensorView delta, TensorView g, std::int64_t width,
                std::int64_t batch) override {
    gemm(CblasTrans, w, delta, g, width, batch, T(0));
  }

  void fused(const Activation& act, ConstTensorView h, TensorView a, TensorView d) override {
    forward_with_derivative(act, h, a, d);
  }

  LayerSums layer_sums(ConstTensorView h, ConstTensorView d, double threshold) override {
    const T* hp = static_cast<const T*>(h.data);
    const T* dp = static_cast<const T*>(d.data);
    double s2 = 0, sat = 0;
#pragma omp parallel for schedule(static) reduction(+ : s2, sat) if (h.n >= kParallelMin)
    for (std::int64_t i = 0; i < h.n; ++i) {
      const double x = hp[i];
      s2 += x * x;
      sat += std::fabs(double(dp[i])) < threshold ? 1.0 : 0.0;
    }
    return {s2, sat};
  }

  double mul_sumsq(ConstTensorView d, ConstTensorView g, TensorView delta) override {
    const T* dp = static_cast<const T*>(d.data);
    const T* gp = static_cast<const T*>(g.data);
    T* out = static_cast<T*>(delta.data);
    double s2 = 0;
#pragma omp parallel for schedule(static) reduction(+ : s2) if (d.n >= kParallelMin)
    for (std::int64_t i = 0; i < d.n; ++i) {
      const T v = dp[i] * gp[i];
      out[i] = v;
      s2 += double(v) * double(v);
    }
    return s2;
  }

  double sumsq(ConstTensorView x) override {
    const T* p = static_cast<const T*>(x.data);
    double s2 = 0;
#pragma omp parallel for schedule(static) reduction(+ : s2) if (x.n >= kParallelMin)
    for (std::int64_t i = 0; i < x.n; ++i) s2 += double(p[i]) * double(p[i]);
    return s2;
  }

  void scale(TensorView x, double factor) override {
    T* p = static_cast<T*>(x.data);
#pragma omp parallel for schedule(static) if (x.n >= kParallelMin)
    for (std::int64_t i = 0; i < x.n; ++i) p[i] = static_cast<T>(double(p[i]) * factor);
  }

  void affine(TensorView x, double mul, double add) override {
    T* p = static_cast<T*>(x.data);
#pragma omp parallel for schedule(static) if (x.n >= kParallelMin)
    for (std::int64_t i = 0; i < x.n; ++i) p[i] = static_cast<T>(mul * double(p[i]) + add);
  }

  void copy(ConstTensorView src, TensorView dst) override {
    std::memcpy(dst.data, src.data, std::size_t(src.n) * sizeof(T));
  }

private:
  static void lapack_check(int info, const char* routine) {
    if (info != 0)
      throw Error(std::string("dense model: LAPACK ") + routine + " failed with info " +
                      std::to_string(info),
                  Error::Kind::runtime);
  }

  // out = op(w) x + beta out, w width x width, x and out width x batch, all column-major.
  static void gemm(CBLAS_TRANSPOSE op, ConstTensorView w, ConstTensorView x, TensorView out,
                   std::int64_t width, std::int64_t batch, T beta) {
    const int m = int(width), n = int(batch);
    if constexpr (std::is_same<T, float>::value)
      cblas_sgemm(CblasColMajor, op, CblasNoTrans, m, n, m, 1.0f, static_cast<const float*>(w.data),
                  m, static_cast<const float*>(x.data), m, beta, static_cast<float*>(out.data), m);
    else
      cblas_dgemm(CblasColMajor, op, CblasNoTrans, m, n, m, 1.0, static_cast<const double*>(w.data),
                  m, static_cast<const double*>(x.data), m, beta, static_cast<double*>(out.data),
                  m);
  }
};

// --- the model --------------------------------------------------------------------------------

std::string mib(std::uint64_t bytes) {
  char s[64];
  std::snprintf(s, sizeof s, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return s;
}

class DenseRun {
public:
  DenseRun(const DecayConfig& cfg, DenseBackend& be, const DenseOptions& opt)
      : cfg_(cfg), be_(be), width_(cfg.width), batch_(batch_of(cfg)), depth_(cfg.depth),
        wb_(width_ * batch_) {
    const DensePlan plan = dense_plan(cfg, opt.checkpoint_every);
    const std::uint64_t available = be.available_bytes();
    if (plan.minimum() > available)
      throw Error("dense model: width " + std::to_string(width_) + " x batch " +
                  std::to_string(batch_) + " x depth " + std::to_string(depth_) + " needs " +
                  std::to_string(plan.minimum()) + " bytes (" + mib(plan.minimum()) + ") on " +
                  be.device().describe() + ", but only " + std::to_string(available) + " bytes (" +
                  mib(available) + ") are available; reduce width, batch or depth");
    const std::uint64_t budget = opt.store_budget ? opt.store_budget : available / 2;
    checkpoint_ = plan.stored > budget && plan.checkpointed < plan.stored;
    k_ = plan.k;

    const DType dt = cfg.dtype;
    const Device dev = be.device();
    w_ = Buffer(dt, width_ * width_, dev);
    bias_ = Buffer(dt, width_, dev);
    a_prev_ = Buffer(dt, wb_, dev);
    h_ = Buffer(dt, wb_, dev);
    a_next_ = Buffer(dt, wb_, dev);
    delta_ = Buffer(dt, wb_, dev);
    if (checkpoint_) {
      segments_ = ceil_div(depth_ - 1, k_);
      ckpt_ = Buffer(dt, segments_ * wb_, dev);
      store_ = Buffer(dt, k_ * wb_, dev);
    } else {
      store_ = Buffer(dt, (depth_ - 1) * wb_, dev);
    }
    sb_ = std::sqrt(cfg.sigma_b2);
    // Saturation is |phi_hat'| < 0.01 max|phi_hat'| = |output_scale input_scale| 0.01 max|phi'|;
    // layer_sums sees phi_hat', so the threshold carries the factor.
    const ActivationTransform& t = cfg.transform;
    transformed_ = !is_identity(t);
    threshold_ = 0.01 * max_abs_derivative(cfg.act) *
                 (transformed_ ? std::fabs(t.output_scale * t.input_scale) : 1.0);
  }

  std::vector<LayerStats> run(const ProgressFn& progress) {
    const std::int64_t L = depth_, total = 2 * L;
    std::vector<LayerStats> out(static_cast<std::size_t>(L));
    const double count = double(wb_);

    // Forward: layer statistics, f'(h^l) stored (or every k-th a^l checkpointed).
    be_.normal(a_prev_.view(), cfg_.seed, 0, DenseStream::input, 1.0);
    if (checkpoint_) be_.copy(a_prev_.view(), sub_view(ckpt_.view(), 0, wb_));
    for (std::int64_t l = 1; l <= L; ++l) {
      TensorView d = l < L ? dslot(l) : delta_.view();
      layer(l, d);
      const LayerSums s = be_.layer_sums(h_.view(), d, threshold_);
      out[std::size_t(l - 1)] = {l, 0.0, s.sum_h2 / count, s.saturated / count};
      std::swap(a_prev_, a_next_);
      if (checkpoint_ && l % k_ == 0 && l <= L - 2)
        be_.copy(a_prev_.view(), sub_view(ckpt_.view(), (l / k_) * wb_, wb_));
      if (progress) progress(l, total);
    }

    // Backward: delta^L is the random readout; delta^l = f'(h^l) * W^{l+1}^T delta^{l+1}.
    be_.normal(delta_.view(), cfg_.seed, std::uint32_t(L), DenseStream::readout, 1.0);
    double log_scale = 0.0;
    out[std::size_t(L - 1)].log10_grad_norm2 = record(be_.sumsq(delta_.view()) / count, log_scale);
    if (progress) progress(L + 1, total);
    std::int64_t loaded = segments_ - 1; // the forward pass left the last segment's f' in store_
    for (std::int64_t l = L - 1; l >= 1; --l) {
      if (checkpoint_ && (l - 1) / k_ != loaded) {
        loaded = (l - 1) / k_;
        recompute_segment(loaded);
      }
      draw_weights(be_, w_.view(), width_, cfg_.init, cfg_.sigma_w2, cfg_.seed,
                   std::uint32_t(l + 1), DenseStream::weight);
      be_.linear_t(w_.view(), delta_.view(), h_.view(), width_, batch_);
      const double s = be_.mul_sumsq(dslot(l), h_.view(), delta_.view()) / count;
      out[std::size_t(l - 1)].log10_grad_norm2 = record(s, log_scale);
      if (progress) progress(2 * L - l + 1, total);
    }
    return out;
  }

private:
  // h^l = W^l a^{l-1} + b^l, a^l = f(h^l) into a_next_, f'(h^l) into d.
  void layer(std::int64_t l, TensorView d) {
    const auto lu = std::uint32_t(l);
    draw_weights(be_, w_.view(), width_, cfg_.init, cfg_.sigma_w2, cfg_.seed, lu,
                 DenseStream::weight);
    be_.normal(bias_.view(), cfg_.seed, lu, DenseStream::bias, sb_);
    be_.linear(w_.view(), a_prev_.view(), bias_.view(), h_.view(), width_, batch_);
    fused_transformed(be_, cfg_.act, cfg_.transform, h_.view(), a_next_.view(), d); // h kept
  }

  // Where f'(h^l) lives for l = 1..L-1.
  TensorView dslot(std::int64_t l) {
    return sub_view(store_.view(), (checkpoint_ ? (l - 1) % k_ : l - 1) * wb_, wb_);
  }

  // Refills store_ with f'(h^l) of segment j (layers j k + 1 .. min((j + 1) k, L - 1)) from the
  // checkpoint a^{j k}; the same operations as the forward pass, so the same numbers.
  void recompute_segment(std::int64_t j) {
    be_.copy(sub_view(ckpt_.view(), j * wb_, wb_), a_prev_.view());
    const std::int64_t last = std::min((j + 1) * k_, depth_ - 1);
    for (std::int64_t l = j * k_ + 1; l <= last; ++l) {
      layer(l, dslot(l));
      std::swap(a_prev_, a_next_);
    }
  }

  // log10 grad_norm2 from the mean square s of the current (rescaled) delta; rescales delta to
  // unit mean square and adds the factor to log_scale. 0 stays 0 (-inf from then on); a
  // non-finite s (an overflowed forward pass) is reported as is and not rescaled.
  double record(double s, double& log_scale) {
    if (s == 0.0) return -std::numeric_limits<double>::infinity();
    const double lg = std::log10(s) + log_scale;
    if (std::isfinite(s)) {
      be_.scale(delta_.view(), 1.0 / std::sqrt(s));
      log_scale += std::log10(s);
    }
    return lg;
  }

  const DecayConfig& cfg_;
  DenseBackend& be_;
  std::int64_t width_, batch_, depth_, wb_;
  bool checkpoint_ = false;
  std::int64_t k_ = 1, segments_ = 0;
  double sb_ = 0, threshold_ = 0;
  bool transformed_ = false;
  Buffer w_, bias_, a_prev_, h_, a_next_, delta_, ckpt_, store_;
};

} // namespace

TensorView sub_view(TensorView v, std::int64_t first, std::int64_t count) {
  v.data = static_cast<char*>(v.data) + first * dtype_size(v.dtype);
  v.n = count;
  return v;
}

bool is_identity(const ActivationTransform& t) {
  return t.input_scale == 1.0 && t.input_shift == 0.0 && t.output_shift == 0.0 &&
         t.output_scale == 1.0;
}

void fused_transformed(DenseBackend& be, const Activation& act, const ActivationTransform& t,
                       ConstTensorView h, TensorView a, TensorView d) {
  if (is_identity(t)) {
    be.fused(act, h, a, d);
    return;
  }
  // phi_hat(h) = g (phi(a h + b) + delta), phi_hat'(h) = g a phi'(a h + b).
  be.copy(h, a);
  be.affine(a, t.input_scale, t.input_shift);
  be.fused(act, a, a, d);
  be.affine(a, t.output_scale, t.output_scale * t.output_shift);
  be.scale(d, t.output_scale * t.input_scale);
}

void draw_weights(DenseBackend& be, TensorView w, std::int64_t width, WeightInit init,
                  double sigma_w2, std::uint64_t seed, std::uint32_t layer, DenseStream stream) {
  if (init == WeightInit::orthogonal)
    be.orthogonal(w, width, seed, layer, stream, std::sqrt(sigma_w2));
  else
    be.normal(w, seed, layer, stream, std::sqrt(sigma_w2 / double(width)));
}

DensePlan dense_plan(const DecayConfig& cfg, std::int64_t checkpoint_every) {
  check_dim("depth", cfg.depth, kMaxDim);
  check_dim("width", cfg.width, kMaxDim);
  if (cfg.batch != 0) check_dim("batch", cfg.batch, kMaxDim);
  check_variance("sigma_w2", cfg.sigma_w2);
  check_variance("sigma_b2", cfg.sigma_b2);
  if (cfg.dtype != DType::f32 && cfg.dtype != DType::f64)
    throw Error(std::string("dense model: dtype must be f32 or f64, got ") + dtype_name(cfg.dtype));
  if (cfg.act.is_gated())
    throw Error(std::string("dense model: activation '") + cfg.act.name() +
                "' is a gated unit; the dense model needs a unary activation");
  if (checkpoint_every < 0)
    throw Error("dense model: checkpoint interval must be >= 0, got " +
                std::to_string(checkpoint_every));

  const std::uint64_t elem = dtype_size(cfg.dtype);
  const auto W = std::uint64_t(cfg.width), B = std::uint64_t(batch_of(cfg));
  const auto L = std::uint64_t(cfg.depth);
  const std::uint64_t wb = mul_sat(W, B);
  // Weights and bias of one layer, a^{l-1}, h, a^l and delta.
  const std::uint64_t work = add_sat(add_sat(mul_sat(W, W), W), mul_sat(4, wb));
  DensePlan p{};
  p.k = checkpoint_every > 0 ? checkpoint_every
                             : isqrt_ceil(std::max<std::int64_t>(1, cfg.depth - 1));
  const std::uint64_t segments = (std::max<std::uint64_t>(L, 2) - 2) / std::uint64_t(p.k) + 1;
  p.stored = mul_sat(elem, add_sat(work, mul_sat(L - 1, wb)));
  p.checkpointed = mul_sat(elem, add_sat(work, mul_sat(segments + std::uint64_t(p.k), wb)));
  return p;
}

double max_abs_derivative(const Activation& act) {
  const auto g = [&](double x) {
    const double d = std::fabs(evaluate(act, x).dy);
    return std::isnan(d) ? 0.0 : d;
  };
  constexpr double lo = -64.0, step = 1.0 / 64;
  constexpr int n = 8193;
  double best_x = lo, best = g(lo);
  for (int i = 1; i < n; ++i) {
    const double x = lo + i * step, v = g(x);
    if (v > best) best = v, best_x = x;
  }
  // Golden-section search on [best_x - step, best_x + step]; keeps the best point seen.
  double a = best_x - step, b = best_x + step;
  const double r = 0.6180339887498949;
  double c = b - r * (b - a), d = a + r * (b - a), gc = g(c), gd = g(d);
  for (int it = 0; it < 80; ++it) {
    if (gc >= gd) {
      b = d, d = c, gd = gc, c = b - r * (b - a), gc = g(c);
    } else {
      a = c, c = d, gc = gd, d = a + r * (b - a), gd = g(d);
    }
    best = std::max({best, gc, gd});
  }
  return best;
}

std::unique_ptr<DenseBackend> make_cpu_dense_backend(DType dtype) {
  if (dtype == DType::f64) return std::make_unique<CpuDense<double>>();
  return std::make_unique<CpuDense<float>>();
}

#if !ACTGRAD_WITH_CUDA
std::unique_ptr<DenseBackend> make_cuda_dense_backend(DType, Device) {
  throw Error("device cuda: actgrad was built without CUDA support; use --device cpu or auto",
              Error::Kind::unavailable);
}
#endif

std::vector<LayerStats> simulate_dense(const DecayConfig& cfg, const ProgressFn& progress,
                                       const DenseOptions& options) {
  dense_plan(cfg, options.checkpoint_every); // validate before touching a device
  std::unique_ptr<DenseBackend> be = cfg.device.kind == DeviceKind::cuda
                                         ? make_cuda_dense_backend(cfg.dtype, cfg.device)
                                         : make_cpu_dense_backend(cfg.dtype);
  DenseRun run(cfg, *be, options);
  return run.run(progress);
}

} // namespace detail

std::vector<LayerStats> simulate_dense(const DecayConfig& cfg, const ProgressFn& progress) {
  return detail::simulate_dense(cfg, progress, detail::DenseOptions{});
}

std::uint64_t dense_memory_bytes(const DecayConfig& cfg) {
  return detail::dense_plan(cfg).minimum();
}

} // namespace actgrad
