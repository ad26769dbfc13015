// CUDA backend of the dense gradient-decay model: cuBLAS GEMMs, cuSOLVER QR and eigensolves,
// Philox draws, small reductions.
//
// The layer loop is host/analysis/decay_dense.cpp's; this file gives it DenseBackend operations on
// one CUDA stream. The activation runs through actgrad::forward_with_derivative on that stream (the
// library's fused kernel). Reductions write one double per block and the host adds the partials
// in a fixed order, so a run is reproducible bit for bit.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include "actgrad/api.hpp"
#include "actgrad/buffer.hpp"
#include "actgrad/detail/decay_dense.hpp"
#include "actgrad/error.hpp"
#include "cuda_check.hpp"

namespace actgrad {
namespace detail {
namespace {

constexpr int kThreads = 256;
constexpr int kReduceBlocks = 264; // 2 per SM on an H100 (132 SMs); a fixed count, fixed order

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) cuda_fail("dense model on cuda", what, err);
}

void check(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("dense model on cuda: ") + what + ": " + cublasGetStatusString(st),
                Error::Kind::runtime);
}

int grid_for(std::int64_t n) {
  const std::int64_t blocks = (n + kThreads - 1) / kThreads;
  return int(blocks < 65535 * 8 ? (blocks > 0 ? blocks : 1) : 65535 * 8);
}

template <class T>
__global__ void normal_kernel(T* out, std::int64_t n, std::uint64_t seed, std::uint32_t layer,
                              DenseStream stream, double scale) {
  const std::int64_t blocks = (n + 3) / 4;
  for (std::int64_t b = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; b < blocks;
       b += std::int64_t(gridDim.x) * blockDim.x) {
    const Normal4 z = philox_normal4(seed, layer, stream, std::uint64_t(b));
    for (int j = 0; j < 4; ++j)
      if (4 * b + j < n) out[4 * b + j] = static_cast<T>(scale * z.v[j]);
  }
}

// h[i + j width] = bias[i].
template <class T>
__global__ void broadcast_kernel(T* h, const T* bias, std::int64_t width, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    h[i] = bias[i % width];
}

template <class T>
__global__ void scale_kernel(T* x, std::int64_t n, double factor) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    x[i] = static_cast<T>(double(x[i]) * factor);
}

template <class T>
__global__ void affine_kernel(T* x, std::int64_t n, double mul, double add) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    x[i] = static_cast<T>(mul * double(x[i]) + add);
}

// Block sum of v in a fixed order (tree over shared memory), written by thread 0.
__device__ double block_sum(double v) {
  __shared__ double s[kThreads];
  s[threadIdx.x] = v;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (int(threadIdx.x) < w) s[threadIdx.x] += s[threadIdx.x + w];
    __syncthreads();
  }
  const double r = s[0];
  __syncthreads();
  return r;
}

// Per block: partial[2 b] = sum of h^2, partial[2 b + 1] = count of |d| < threshold.
template <class T>
__global__ void layer_sums_kernel(const T* h, const T* d, std::int64_t n, double threshold,
                                  double* partial) {
  double s2 = 0, sat = 0;
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    const double x = h[i];
    s2 += x * x;
    sat += fabs(double(d[i])) < threshold ? 1.0 : 0.0;
  }
  s2 = block_sum(s2);
  sat = block_sum(sat);
  if (threadIdx.x == 0) partial[2 * blockIdx.x] = s2, partial[2 * blockIdx.x + 1] = sat;
}

// delta = d * g (rounded to T); partial[2 b] = sum of delta^2 (when d is null, delta = g).
template <class T>
__global__ void mul_sumsq_kernel(const T* d, const T* g, T* delta, std::int64_t n,
                                 double* partial) {
  double s2 = 0;
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    const T v = d ? d[i] * g[i] : g[i];
    if (delta) delta[i] = v;
    s2 += double(v) * double(v);
  }
  s2 = block_sum(s2);
  if (threadIdx.x == 0) partial[2 * blockIdx.x] = s2, partial[2 * blockIdx.x + 1] = 0;
}

void check(cusolverStatus_t st, const char* what) {
  if (st != CUSOLVER_STATUS_SUCCESS)
    throw Error(std::string("dense model on cuda: ") + what + " failed with cuSOLVER status " +
                    std::to_string(int(st)),
                Error::Kind::runtime);
}

// sign[j] = scale * sign(R_jj) of the n x n factor in a (column-major).
__global__ void diag_sign_kernel(const double* a, std::int64_t n, double scale, double* sign) {
  for (std::int64_t j = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; j < n;
       j += std::int64_t(gridDim.x) * blockDim.x)
    sign[j] = a[j * n + j] < 0 ? -scale : scale;
}

// out[i + j n] = q[i + j n] * sign[j], rounded to T.
template <class T>
__global__ void column_scale_kernel(const double* q, const double* sign, std::int64_t n, T* out) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n * n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    out[i] = static_cast<T>(q[i] * sign[i / n]);
}

// x[i + j rows] *= d[i].
template <class T>
__global__ void scale_rows_kernel(T* x, const T* d, std::int64_t rows, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    x[i] *= d[i % rows];
}

template <class T>
__global__ void to_double_kernel(const T* x, std::int64_t n, double* out) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    out[i] = double(x[i]);
}

template <class T>
class CudaDense final : public DenseBackend {
public:
  explicit CudaDense(Device device)
      : device_(device), scope_(device.index, [] { return std::string("dense model on cuda"); }) {
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    if (cublasCreate(&handle_) != CUBLAS_STATUS_SUCCESS) {
      cudaStreamDestroy(stream_);
      throw Error("dense model on cuda: cublasCreate failed", Error::Kind::runtime);
    }
    check(cublasSetStream(handle_, stream_), "cublasSetStream");
    // Plain FP32/FP64 GEMMs (no TF32 tensor-op mode), so f32 agrees with the CPU to rounding.
    check(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    partial_ = Buffer(DType::f64, 2 * kReduceBlocks, device_);
    host_partial_.resize(2 * kReduceBlocks);
  }
  ~CudaDense() override {
    cudaStreamSynchronize(stream_);
    if (solver_) cusolverDnDestroy(solver_);
    cublasDestroy(handle_);
    cudaStreamDestroy(stream_);
  }
  CudaDense(const CudaDense&) = delete;
  CudaDense& operator=(const CudaDense&) = delete;

  Device device() const override { return device_; }
  std::uint64_t available_bytes() const override {
    std::size_t free_b = 0, total = 0;
    check(cudaMemGetInfo(&free_b, &total), "cudaMemGetInfo");
    return free_b;
  }

  void normal(TensorView out, std::uint64_t seed, std::uint32_t layer, DenseStream stream,
              double scale) override {
    normal_kernel<T><<<grid_for((out.n + 3) / 4), kThreads, 0, stream_>>>(
        static_cast<T*>(out.data), out.n, seed, layer, stream, scale);
    check(cudaGetLastError(), "normal kernel launch");
  }

  void orthogonal(TensorView out, std::int64_t width, std::uint64_t seed, std::uint32_t layer,
                  DenseStream stream, double scale) override {
    const int n = int(width);
    const std::int64_t nn = width * width;
    Buffer a(DType::f64, nn, device_), tau(DType::f64, width, device_),
        sign(DType::f64, width, device_), info(DType::f64, 1, device_);
    normal_kernel<double><<<grid_for((nn + 3) / 4), kThreads, 0, stream_>>>(
        a.as<double>(), nn, seed, layer, stream, 1.0);
    check(cudaGetLastError(), "normal kernel launch");
    cusolverDnHandle_t h = solver();
    int lwork = 0, lwork2 = 0;
    check(cusolverDnDgeqrf_bufferSize(h, n, n, a.as<double>(), n, &lwork), "geqrf_bufferSize");
    check(cusolverDnDorgqr_bufferSize(h, n, n, n, a.as<double>(), n, tau.as<double>(), &lwork2),
          "orgqr_bufferSize");
    Buffer work(DType::f64, std::max(1, std::max(lwork, lwork2)), device_);
    int* dev_info = static_cast<int*>(info.data());
    check(cusolverDnDgeqrf(h, n, n, a.as<double>(), n, tau.as<double>(), work.as<double>(),
                           std::max(lwork, lwork2), dev_info),
          "geqrf");
    solver_info("geqrf", dev_info);
    diag_sign_kernel<<<grid_for(width), kThreads, 0, stream_>>>(a.as<double>(), width, scale,
                                                                sign.as<double>());
    check(cudaGetLastError(), "sign kernel launch");
    check(cusolverDnDorgqr(h, n, n, n, a.as<double>(), n, tau.as<double>(), work.as<double>(),
                           std::max(lwork, lwork2), dev_info),
          "orgqr");
    solver_info("orgqr", dev_info);
    column_scale_kernel<T><<<grid_for(nn), kThreads, 0, stream_>>>(
        a.as<double>(), sign.as<double>(), width, static_cast<T*>(out.data));
    check(cudaGetLastError(), "column scale kernel launch");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); // a, tau, work are freed
  }

  void scale_rows(TensorView x, ConstTensorView d, std::int64_t rows, std::int64_t cols) override {
    scale_rows_kernel<T><<<grid_for(rows * cols), kThreads, 0, stream_>>>(
        static_cast<T*>(x.data), static_cast<const T*>(d.data), rows, rows * cols);
    check(cudaGetLastError(), "scale rows kernel launch");
  }

  std::vector<double> gram_eigenvalues(ConstTensorView j, std::int64_t rows) override {
    const int n = int(rows);
    const std::int64_t nn = rows * rows;
    Buffer jd(DType::f64, std::is_same<T, double>::value ? 0 : nn, device_),
        gram(DType::f64, nn, device_), w(DType::f64, rows, device_), info(DType::f64, 1, device_);
    const double* src = static_cast<const double*>(j.data);
    if constexpr (!std::is_same<T, double>::value) {
      to_double_kernel<T><<<grid_for(nn), kThreads, 0, stream_>>>(static_cast<const T*>(j.data), nn,
                                                                  jd.as<double>());
      check(cudaGetLastError(), "convert kernel launch");
      src = jd.as<double>();
    }
    const double one = 1, zero = 0;
    check(cublasDsyrk(handle_, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, n, n, &one, src, n, &zero,
                      gram.as<double>(), n),
          "SYRK");
    cusolverDnHandle_t h = solver();
    int lwork = 0;
    check(cusolverDnDsyevd_bufferSize(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, n,
                                      gram.as<double>(), n, w.as<double>(), &lwork),
          "syevd_bufferSize");
    Buffer work(DType::f64, std::max(1, lwork), device_);
    int* dev_info = static_cast<int*>(info.data());
    check(cusolverDnDsyevd(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, n,
                           gram.as<double>(), n, w.as<double>(), work.as<double>(), lwork,
                           dev_info),
          "syevd");
    solver_info("syevd", dev_info);
    std::vector<double> out(static_cast<std::size_t>(rows));
    check(cudaMemcpyAsync(out.data(), w.data(), out.size() * sizeof(double), cudaMemcpyDeviceToHost,
                          stream_),
          "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    return out;
  }

  void linear(ConstTensorView w, ConstTensorView a, ConstTensorView bias, TensorView h,
              std::int64_t width, std::int64_t batch) override {
    broadcast_kernel<T><<<grid_for(h.n), kThreads, 0, stream_>>>(
        static_cast<T*>(h.data), static_cast<const T*>(bias.data), width, h.n);
    check(cudaGetLastError(), "bias kernel launch");
    gemm(CUBLAS_OP_N, w, a, h, width, batch, T(1));
  }

  void linear_t(ConstTensorView w, ConstTensorView delta, TensorView g, std::int64_t width,
                std::int64_t batch) override {
    gemm(CUBLAS_OP_T, w, delta, g, width, batch, T(0));
  }

  void fused(const Activation& act, ConstTensorView h, TensorView a, TensorView d) override {
    ExecOptions opt;
    opt.stream = stream_;
    forward_with_derivative(act, h, a, d, opt);
  }

  LayerSums layer_sums(ConstTensorView h, ConstTensorView d, double threshold) override {
    layer_sums_kernel<T><<<kReduceBlocks, kThreads, 0, stream_>>>(
        static_cast<const T*>(h.data), static_cast<const T*>(d.data), h.n, threshold,
        partial_.as<double>());
    check(cudaGetLastError(), "reduction kernel launch");
    const auto s = fetch_partials();
    return {s[0], s[1]};
  }

  double mul_sumsq(ConstTensorView d, ConstTensorView g, TensorView delta) override {
    mul_sumsq_kernel<T><<<kReduceBlocks, kThreads, 0, stream_>>>(
        static_cast<const T*>(d.data), static_cast<const T*>(g.data), static_cast<T*>(delta.data),
        d.n, partial_.as<double>());
    check(cudaGetLastError(), "reduction kernel launch");
    return fetch_partials()[0];
  }

  double sumsq(ConstTensorView x) override {
    mul_sumsq_kernel<T><<<kReduceBlocks, kThreads, 0, stream_>>>(
        nullptr, static_cast<const T*>(x.data), nullptr, x.n, partial_.as<double>());
    check(cudaGetLastError(), "reduction kernel launch");
    return fetch_partials()[0];
  }

  void scale(TensorView x, double factor) override {
    scale_kernel<T><<<grid_for(x.n), kThreads, 0, stream_>>>(static_cast<T*>(x.data), x.n, factor);
    check(cudaGetLastError(), "scale kernel launch");
  }

  void affine(TensorView x, double mul, double add) override {
    affine_kernel<T>
        <<<grid_for(x.n), kThreads, 0, stream_>>>(static_cast<T*>(x.data), x.n, mul, add);
    check(cudaGetLastError(), "affine kernel launch");
  }

  void copy(ConstTensorView src, TensorView dst) override {
    check(cudaMemcpyAsync(dst.data, src.data, std::size_t(src.n) * sizeof(T),
                          cudaMemcpyDeviceToDevice, stream_),
          "cudaMemcpyAsync");
  }

private:
  // out = op(w) x + beta out (column-major, width x width times width x batch).
  void gemm(cublasOperation_t op, ConstTensorView w, ConstTensorView x, TensorView out,
            std::int64_t width, std::int64_t batch, T beta) {
    const int m = int(width), n = int(batch);
    const T one = 1;
    cublasStatus_t st;
    if constexpr (std::is_same<T, float>::value)
      st = cublasSgemm(handle_, op, CUBLAS_OP_N, m, n, m, &one, static_cast<const float*>(w.data),
                       m, static_cast<const float*>(x.data), m, &beta,
                       static_cast<float*>(out.data), m);
    else
      st = cublasDgemm(handle_, op, CUBLAS_OP_N, m, n, m, &one, static_cast<const double*>(w.data),
                       m, static_cast<const double*>(x.data), m, &beta,
                       static_cast<double*>(out.data), m);
    check(st, "GEMM");
  }

  // The cuSOLVER handle, created on first use on the model's stream.
  cusolverDnHandle_t solver() {
    if (!solver_) {
      check(cusolverDnCreate(&solver_), "cusolverDnCreate");
      check(cusolverDnSetStream(solver_, stream_), "cusolverDnSetStream");
    }
    return solver_;
  }

  // Throws when a cuSOLVER routine reported a nonzero info (read after the stream drains).
  void solver_info(const char* routine, const int* dev_info) {
    int info = 0;
    check(cudaMemcpyAsync(&info, dev_info, sizeof info, cudaMemcpyDeviceToHost, stream_),
          "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    if (info != 0)
      throw Error(std::string("dense model on cuda: cuSOLVER ") + routine + " failed with info " +
                      std::to_string(info),
                  Error::Kind::runtime);
  }

  // Copies the per-block partials back and adds them in block order.
  std::array<double, 2> fetch_partials() {
    check(cudaMemcpyAsync(host_partial_.data(), partial_.data(),
                          host_partial_.size() * sizeof(double), cudaMemcpyDeviceToHost, stream_),
          "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    std::array<double, 2> s{0, 0};
    for (int b = 0; b < kReduceBlocks; ++b)
      s[0] += host_partial_[std::size_t(2 * b)], s[1] += host_partial_[std::size_t(2 * b + 1)];
    return s;
  }

  Device device_;
  CudaDeviceScope scope_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t handle_ = nullptr;
  cusolverDnHandle_t solver_ = nullptr;
  Buffer partial_;
  std::vector<double> host_partial_;
};

} // namespace

std::unique_ptr<DenseBackend> make_cuda_dense_backend(DType dtype, Device device) {
  if (!Device::cuda_available())
    throw Error("device cuda: no usable CUDA device (" + Device::automatic_reason() +
                    "); use --device cpu or auto",
                Error::Kind::unavailable);
  int count = 0;
  check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (device.index < 0 || device.index >= count)
    throw Error("device cuda:" + std::to_string(device.index) + ": no such device (" +
                    std::to_string(count) + " present)",
                Error::Kind::unavailable);
  if (dtype == DType::f64) return std::make_unique<CudaDense<double>>(device);
  return std::make_unique<CudaDense<float>>(device);
}

} // namespace detail
} // namespace actgrad
