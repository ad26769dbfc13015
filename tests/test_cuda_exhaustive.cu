// Exhaustive GPU checks: every f16 and bf16 input for every activation against the f64 CPU
// reference, and all 2^32 f32 inputs for relu, sigmoid, tanh, gelu, gelu_tanh and silu against
// the f64 GPU path (issue 3), and math::fl::recip and div against CUDA's correctly rounded ones.
// Each test skips with the reason when no GPU is usable.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"

namespace {

using actgrad::Activation;
using actgrad::bfloat16_t;
using actgrad::Buffer;
using actgrad::ConstTensorView;
using actgrad::Device;
using actgrad::DType;
using actgrad::half_t;
using actgrad::Storage;
using actgrad::TensorView;

class CudaExhaustive : public ::testing::Test {
protected:
  void SetUp() override {
    if (!Device::cuda_available()) GTEST_SKIP() << Device::automatic_reason();
  }
};

// Position of a value on the line of representable values (monotonic in the value, +0 and -0
// both 0), so the ulp distance of two values is the difference of their positions.
__host__ __device__ inline std::int64_t ordered(std::uint64_t bits, int width) {
  const std::uint64_t sign = std::uint64_t(1) << (width - 1);
  const std::int64_t mag = std::int64_t(bits & (sign - 1));
  return (bits & sign) ? -mag : mag;
}

// SPEC §3 bound for one result: within `ulps` of the reference, or (near a zero of the formula)
// within `ulps` ulps of the term scale max(1, |x|).
__host__ __device__ inline bool within(double got, double ref, std::int64_t dist, int ulps,
                                       double eps, double term_scale) {
  if (got != got || ref != ref) return got != got && ref != ref;
  if (got == ref) return true;
  if (dist <= ulps && !(isinf(got) || isinf(ref))) return true;
  if (isinf(got) || isinf(ref)) return false;
  return fabs(got - ref) <= ulps * eps * fmax(fabs(ref), term_scale);
}

// ---------------------------------------------------------------------------------------------
// f16 and bf16: all 65 536 inputs; gated units take a over all inputs and b from a fixed set.

template <class S>
double to_double(S v) {
  return double(Storage<S>::load(v));
}
template <class S>
S round_to(double v) {
  return Storage<S>::store(typename Storage<S>::compute(v));
}

template <class S>
void all_inputs_match_f64(const Activation& act) {
  const DType dt = Storage<S>::dtype;
  const std::int64_t n = 65536;
  const std::size_t un = std::size_t(n);
  std::vector<S> a(un), b(un);
  std::vector<double> ad(un), bd(un);
  const double b_values[] = {1.5, -0.75, 3.0, 1e-3};
  for (std::int64_t i = 0; i < n; ++i) {
    a[std::size_t(i)].bits = std::uint16_t(i);
    ad[std::size_t(i)] = to_double(a[std::size_t(i)]);
    b[std::size_t(i)] = round_to<S>(b_values[i % 4]);
    bd[std::size_t(i)] = to_double(b[std::size_t(i)]);
  }
  const int outs = act.is_gated() ? 3 : 2;
  // f64 CPU reference.
  std::vector<double> r0(un), r1(un), r2(un);
  const double* in_a = ad.data();
  const double* in_b = bd.data();
  if (act.is_gated())
    actgrad::gated_forward_with_derivative(act, actgrad::view(in_a, n), actgrad::view(in_b, n),
                                           actgrad::view(r0.data(), n), actgrad::view(r1.data(), n),
                                           actgrad::view(r2.data(), n));
  else
    actgrad::forward_with_derivative(act, actgrad::view(in_a, n), actgrad::view(r0.data(), n),
                                     actgrad::view(r1.data(), n));
  const std::vector<double>* ref[3] = {&r0, &r1, &r2};
  // GPU in storage type S.
  Buffer da(dt, n, Device::cuda()), db(dt, n, Device::cuda());
  std::vector<Buffer> dout;
  for (int k = 0; k < outs; ++k) dout.emplace_back(dt, n, Device::cuda());
  actgrad::copy(ConstTensorView{a.data(), n, dt}, da.view());
  actgrad::copy(ConstTensorView{b.data(), n, dt}, db.view());
  if (act.is_gated())
    actgrad::gated_forward_with_derivative(act, da.view(), db.view(), dout[0].view(),
                                           dout[1].view(), dout[2].view());
  else
    actgrad::forward_with_derivative(act, da.view(), dout[0].view(), dout[1].view());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const double eps = std::is_same<S, half_t>::value ? 0x1p-11 : 0x1p-8;
  for (int k = 0; k < outs; ++k) {
    std::vector<S> got(un);
    actgrad::copy(dout[std::size_t(k)].view(), TensorView{got.data(), n, dt});
    std::int64_t bad = 0, first = -1;
    for (std::int64_t i = 0; i < n; ++i) {
      const S r = round_to<S>((*ref[k])[std::size_t(i)]);
      const S g = got[std::size_t(i)];
      const std::int64_t dist = std::llabs(ordered(g.bits, 16) - ordered(r.bits, 16));
      const double scale = std::max(1.0, std::fabs(ad[std::size_t(i)])) *
                           (act.is_gated() ? std::max(1.0, std::fabs(bd[std::size_t(i)])) : 1.0);
      if (!within(to_double(g), to_double(r), dist, 1, eps, scale)) {
        if (first < 0) first = i;
        ++bad;
      }
    }
    EXPECT_EQ(bad, 0) << act.name() << " " << actgrad::dtype_name(dt) << " output " << k << ": "
                      << bad << " of 65536 inputs beyond 1 ulp of the f64 result; first at x = "
                      << (first >= 0 ? ad[std::size_t(first)] : 0.0) << " (gpu "
                      << (first >= 0 ? to_double(got[std::size_t(first)]) : 0.0) << ", f64 "
                      << (first >= 0 ? (*ref[k])[std::size_t(first)] : 0.0) << ")";
  }
}

TEST_F(CudaExhaustive, EveryF16InputEveryActivation) {
  for (actgrad::ActId id : actgrad::catalogue()) all_inputs_match_f64<half_t>(Activation(id));
}
TEST_F(CudaExhaustive, EveryBF16InputEveryActivation) {
  for (actgrad::ActId id : actgrad::catalogue()) all_inputs_match_f64<bfloat16_t>(Activation(id));
}

// ---------------------------------------------------------------------------------------------
// f32: all 2^32 bit patterns in chunks, each computed by the f32 and the f64 GPU paths and
// compared on the device (value within 2 ulp, derivative within 4 ulp of the f64 result rounded
// to f32, SPEC §3).

struct Tally {
  unsigned long long bad[2];   // inputs beyond the bound, per output
  unsigned long long worst[2]; // largest ulp distance seen among finite results, per output
  unsigned int first_bits[2];  // smallest failing input's bits (0xFFFFFFFF: none)
};

__global__ void make_inputs(std::uint32_t base, std::int64_t n, float* x, double* xd) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(blockDim.x) * gridDim.x) {
    const std::uint32_t bits = base + std::uint32_t(i);
    float v;
    memcpy(&v, &bits, 4);
    x[i] = v;
    xd[i] = double(v);
  }
}

__global__ void compare(std::uint32_t base, std::int64_t n, const float* x, const float* y,
                        const float* dy, const double* yd, const double* dyd, Tally* t) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(blockDim.x) * gridDim.x) {
    const float got[2] = {y[i], dy[i]};
    const float ref[2] = {float(yd[i]), float(dyd[i])};
    const int ulps[2] = {2, 4};
    const double scale = fmax(1.0, fabs(double(x[i])));
    for (int k = 0; k < 2; ++k) {
      std::uint32_t gb, rb;
      memcpy(&gb, &got[k], 4);
      memcpy(&rb, &ref[k], 4);
      const std::int64_t d = ordered(gb, 32) - ordered(rb, 32);
      const std::int64_t dist = d < 0 ? -d : d;
      if (!within(double(got[k]), double(ref[k]), dist, ulps[k], 0x1p-24, scale)) {
        atomicAdd(&t->bad[k], 1ull);
        atomicMin(&t->first_bits[k], base + std::uint32_t(i));
      } else if (isfinite(got[k]) && isfinite(ref[k])) {
        atomicMax(&t->worst[k], (unsigned long long)dist);
      }
    }
  }
}

void check(cudaError_t err) { ASSERT_EQ(err, cudaSuccess) << cudaGetErrorString(err); }

void all_f32_inputs(const char* name) {
  const Activation act = Activation::parse(name);
  // ACTGRAD_QUICK=1 (sanitizer runs) checks the first 2^24 bit patterns only.
  const char* quick = std::getenv("ACTGRAD_QUICK");
  const std::uint64_t total =
      quick && *quick == '1' ? (std::uint64_t(1) << 24) : (std::uint64_t(1) << 32);
  constexpr std::int64_t chunk = std::int64_t(1) << 27;
  const std::int64_t n = std::int64_t(std::min<std::uint64_t>(total, std::uint64_t(chunk)));
  Buffer x(DType::f32, n, Device::cuda()), y(DType::f32, n, Device::cuda()),
      dy(DType::f32, n, Device::cuda());
  Buffer xd(DType::f64, n, Device::cuda()), yd(DType::f64, n, Device::cuda()),
      dyd(DType::f64, n, Device::cuda());
  Tally* t = nullptr;
  check(cudaMalloc(&t, sizeof(Tally)));
  Tally init{};
  init.first_bits[0] = init.first_bits[1] = 0xFFFFFFFFu;
  check(cudaMemcpy(t, &init, sizeof(Tally), cudaMemcpyHostToDevice));
  for (std::uint64_t base = 0; base < total; base += std::uint64_t(n)) {
    make_inputs<<<1024, 256>>>(std::uint32_t(base), n, x.as<float>(), xd.as<double>());
    check(cudaGetLastError());
    actgrad::forward_with_derivative(act, x.view(), y.view(), dy.view());
    actgrad::forward_with_derivative(act, xd.view(), yd.view(), dyd.view());
    compare<<<1024, 256>>>(std::uint32_t(base), n, x.as<float>(), y.as<float>(), dy.as<float>(),
                           yd.as<double>(), dyd.as<double>(), t);
    check(cudaGetLastError());
  }
  Tally r{};
  check(cudaMemcpy(&r, t, sizeof(Tally), cudaMemcpyDeviceToHost));
  cudaFree(t);
  const char* what[2] = {"value", "derivative"};
  for (int k = 0; k < 2; ++k) {
    float first;
    std::memcpy(&first, &r.first_bits[k], 4);
    EXPECT_EQ(r.bad[k], 0u) << name << " f32 " << what[k] << ": " << r.bad[k] << " of " << total
                            << " inputs beyond the bound; first at bits 0x" << std::hex
                            << r.first_bits[k] << std::dec << " (x = " << first << ")";
    std::printf("[ info ] %s f32 %s: %llu inputs, worst %llu ulp from the f64 path\n", name,
                what[k], (unsigned long long)total, r.worst[k]);
  }
}

TEST_F(CudaExhaustive, AllF32Relu) { all_f32_inputs("relu"); }
TEST_F(CudaExhaustive, AllF32Sigmoid) { all_f32_inputs("sigmoid"); }
TEST_F(CudaExhaustive, AllF32Tanh) { all_f32_inputs("tanh"); }
TEST_F(CudaExhaustive, AllF32Gelu) { all_f32_inputs("gelu"); }
TEST_F(CudaExhaustive, AllF32GeluTanh) { all_f32_inputs("gelu_tanh"); }
TEST_F(CudaExhaustive, AllF32Silu) { all_f32_inputs("silu"); }

// ---------------------------------------------------------------------------------------------
// math::fl::recip on the GPU (MUFU.RCP and one Newton step, without CUDA's range check) against
// CUDA's correctly rounded reciprocal __frcp_rn, over every float b with |b| in [2^-126, 2^126)
// (recip's documented range; the CPU divides there): the same bits, so the CPU's tests of the
// kernels that use it hold for the GPU's quotients too.

__global__ void recip_mismatches(std::uint64_t total, unsigned long long* bad,
                                 unsigned int* first) {
  for (std::uint64_t i = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; i < total;
       i += std::uint64_t(blockDim.x) * gridDim.x) {
    const std::uint32_t bits = std::uint32_t(i);
    const std::uint32_t biased = (bits >> 23) & 0xFFu;
    if (biased < 1 || biased > 252) continue; // outside [2^-126, 2^126)
    float b;
    memcpy(&b, &bits, 4);
    const float got = actgrad::math::fl::recip(b), want = __frcp_rn(b);
    std::uint32_t gb, wb;
    memcpy(&gb, &got, 4);
    memcpy(&wb, &want, 4);
    if (gb != wb) {
      atomicAdd(bad, 1ull);
      atomicMin(first, bits);
    }
  }
}

TEST_F(CudaExhaustive, RecipIsCorrectlyRoundedInItsRange) {
  const char* quick = std::getenv("ACTGRAD_QUICK");
  const std::uint64_t total =
      quick && *quick == '1' ? (std::uint64_t(1) << 28) : (std::uint64_t(1) << 32);
  unsigned long long* bad = nullptr;
  unsigned int* first = nullptr;
  check(cudaMalloc(&bad, sizeof *bad));
  check(cudaMalloc(&first, sizeof *first));
  const unsigned long long zero = 0;
  const unsigned int none = 0xFFFFFFFFu;
  check(cudaMemcpy(bad, &zero, sizeof zero, cudaMemcpyHostToDevice));
  check(cudaMemcpy(first, &none, sizeof none, cudaMemcpyHostToDevice));
  recip_mismatches<<<4096, 256>>>(total, bad, first);
  check(cudaGetLastError());
  unsigned long long n_bad = 0;
  unsigned int first_bits = 0;
  check(cudaMemcpy(&n_bad, bad, sizeof n_bad, cudaMemcpyDeviceToHost));
  check(cudaMemcpy(&first_bits, first, sizeof first_bits, cudaMemcpyDeviceToHost));
  cudaFree(bad);
  cudaFree(first);
  EXPECT_EQ(n_bad, 0u) << n_bad << " floats whose recip differs from __frcp_rn; first at bits 0x"
                       << std::hex << first_bits;
}

// math::fl::div on the GPU against CUDA's correctly rounded __fdiv_rn, over 2^32 pseudo-random
// pairs (a, b) with exponents in [-60, 60] (inside div's documented range, quotient normal) and
// every significand pattern reachable, plus a = 0.

__device__ float pick(std::uint64_t h) {
  const std::uint32_t sign = std::uint32_t(h >> 63) << 31;
  const std::uint32_t exponent = std::uint32_t(127 - 60 + (h >> 32) % 121) << 23;
  const std::uint32_t bits = sign | exponent | (std::uint32_t(h) & 0x7FFFFFu);
  float v;
  memcpy(&v, &bits, 4);
  return v;
}

__device__ std::uint64_t mix(std::uint64_t z) { // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

__global__ void div_mismatches(std::uint64_t total, unsigned long long* bad) {
  for (std::uint64_t i = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; i < total;
       i += std::uint64_t(blockDim.x) * gridDim.x) {
    const float a = i % 4096 == 0 ? 0.0f : pick(mix(2 * i)), b = pick(mix(2 * i + 1));
    const float got = actgrad::math::fl::div(a, b), want = __fdiv_rn(a, b);
    std::uint32_t gb, wb;
    memcpy(&gb, &got, 4);
    memcpy(&wb, &want, 4);
    if (gb != wb) atomicAdd(bad, 1ull);
  }
}

TEST_F(CudaExhaustive, DivIsCorrectlyRoundedInItsRange) {
  const char* quick = std::getenv("ACTGRAD_QUICK");
  const std::uint64_t total =
      quick && *quick == '1' ? (std::uint64_t(1) << 28) : (std::uint64_t(1) << 32);
  unsigned long long* bad = nullptr;
  check(cudaMalloc(&bad, sizeof *bad));
  const unsigned long long zero = 0;
  check(cudaMemcpy(bad, &zero, sizeof zero, cudaMemcpyHostToDevice));
  div_mismatches<<<4096, 256>>>(total, bad);
  check(cudaGetLastError());
  unsigned long long n_bad = 0;
  check(cudaMemcpy(&n_bad, bad, sizeof n_bad, cudaMemcpyDeviceToHost));
  cudaFree(bad);
  EXPECT_EQ(n_bad, 0u) << n_bad << " of " << total << " pairs whose div differs from __fdiv_rn";
}

} // namespace
