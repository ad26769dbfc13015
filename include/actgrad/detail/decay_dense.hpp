// Internals of the dense gradient-decay model: its memory plan, options and per-device backends.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "actgrad/decay.hpp"
#include "actgrad/detail/philox_normal.hpp"

namespace actgrad {
namespace detail {

// Knobs of the dense model for tests and benchmarks; the defaults are what simulate_dense uses.
struct DenseOptions {
  // Bytes the stored path (f'(h^l) kept for every layer) may use; above it the run checkpoints.
  // 0 = half of the memory available on the device.
  std::uint64_t store_budget = 0;
  // Checkpoint interval k when checkpointing; 0 = ceil(sqrt(L - 1)), the footprint's minimum.
  std::int64_t checkpoint_every = 0;
};

// Footprints of one configuration, in bytes, saturating at UINT64_MAX.
struct DensePlan {
  std::uint64_t stored;       // f'(h^l) for l = 1..L-1 kept from the forward pass
  std::uint64_t checkpointed; // a^l kept every k layers, one segment of f' recomputed at a time
  std::int64_t k;             // checkpoint interval of `checkpointed`
  std::uint64_t minimum() const { return stored < checkpointed ? stored : checkpointed; }
};
// Validates cfg (throws actgrad::Error naming the field) and sizes both paths; batch 0 = 64.
DensePlan dense_plan(const DecayConfig& cfg, std::int64_t checkpoint_every = 0);

std::vector<LayerStats> simulate_dense(const DecayConfig& cfg, const ProgressFn& progress,
                                       const DenseOptions& options);

// max |f'(x)| over x of a unary activation, found on a grid over [-64, 64] and refined around
// the best grid point (the saturation threshold is 0.01 of it).
double max_abs_derivative(const Activation& act);

// Sums that a layer's statistics need, accumulated in double.
struct LayerSums {
  double sum_h2;    // sum of h^2
  double saturated; // number of elements with |f'(h)| < threshold
};

// The device operations of the dense model. Matrices are column-major: weights width x width,
// activations width x batch (one column per batch item). Views are of the backend's dtype and
// device; the backend runs them in order (one CUDA stream on the GPU).
class DenseBackend {
public:
  virtual ~DenseBackend() = default;
  virtual Device device() const = 0;
  // Bytes that can still be allocated on the device.
  virtual std::uint64_t available_bytes() const = 0;
  // out[i] = scale * philox_normal(seed, layer, stream, i).
  virtual void normal(TensorView out, std::uint64_t seed, std::uint32_t layer, DenseStream stream,
                      double scale) = 0;
  // out (width x width) = scale * Q, Q the orthogonal factor of the QR decomposition of the
  // Gaussian matrix G = normal(seed, layer, stream) with the sign fix Q diag(sign R_ii), so Q is
  // Haar-distributed (Mezzadri 2007). Computed in double (LAPACK dgeqrf/dorgqr on the CPU,
  // cuSOLVER on CUDA) and rounded to the dtype; both devices factor the same G.
  virtual void orthogonal(TensorView out, std::int64_t width, std::uint64_t seed,
                          std::uint32_t layer, DenseStream stream, double scale) = 0;
  // x (rows x cols, column-major) = diag(d) x: row i scaled by d[i].
  virtual void scale_rows(TensorView x, ConstTensorView d, std::int64_t rows,
                          std::int64_t cols) = 0;
  // The eigenvalues of J J^T (J rows x rows), ascending, in double (syrk + syevd).
  virtual std::vector<double> gram_eigenvalues(ConstTensorView j, std::int64_t rows) = 0;
  // h = w a + bias (bias broadcast over the batch).
  virtual void linear(ConstTensorView w, ConstTensorView a, ConstTensorView bias, TensorView h,
                      std::int64_t width, std::int64_t batch) = 0;
  // g = w^T delta.
  virtual void linear_t(ConstTensorView w, ConstTensorView delta, TensorView g, std::int64_t width,
                        std::int64_t batch) = 0;
  // a = f(h), d = f'(h) through actgrad::forward_with_derivative.
  virtual void fused(const Activation& act, ConstTensorView h, TensorView a, TensorView d) = 0;
  virtual LayerSums layer_sums(ConstTensorView h, ConstTensorView d, double threshold) = 0;
  // delta = d * g (elementwise, rounded to the dtype); returns sum of delta^2.
  virtual double mul_sumsq(ConstTensorView d, ConstTensorView g, TensorView delta) = 0;
  virtual double sumsq(ConstTensorView x) = 0;
  // x *= factor.
  virtual void scale(TensorView x, double factor) = 0;
  // x = mul * x + add (the transformed activation's affine steps).
  virtual void affine(TensorView x, double mul, double add) = 0;
  virtual void copy(ConstTensorView src, TensorView dst) = 0;
};

// Sub-view of `count` elements of v from element `first` (the dense model, the multi-network
// runs and the spectrum keep per-layer slices of one buffer).
TensorView sub_view(TensorView v, std::int64_t first, std::int64_t count);

// True when t is the identity phi_hat = phi (ActivationTransform's defaults).
bool is_identity(const ActivationTransform& t);

// a = phi_hat(h), d = phi_hat'(h) with phi_hat(h) = G (phi(A h + B) + D) (`decay --transform`):
// the fused kernel alone for the identity, else copy, affine, fused, affine and scale on the
// backend; h is left as it is.
void fused_transformed(DenseBackend& be, const Activation& act, const ActivationTransform& t,
                       ConstTensorView h, TensorView a, TensorView d);

// W^l of a run into w (width x width): i.i.d. N(0, sigma_w2 / width) entries (gaussian, from
// normal(seed, layer, stream)) or sqrt(sigma_w2) Q with Q orthogonal(seed, layer, stream).
void draw_weights(DenseBackend& be, TensorView w, std::int64_t width, WeightInit init,
                  double sigma_w2, std::uint64_t seed, std::uint32_t layer, DenseStream stream);

std::unique_ptr<DenseBackend> make_cpu_dense_backend(DType dtype);
// Throws Error(unavailable) in builds without CUDA.
std::unique_ptr<DenseBackend> make_cuda_dense_backend(DType dtype, Device device);

} // namespace detail
} // namespace actgrad
