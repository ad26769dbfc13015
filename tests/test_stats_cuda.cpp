// saturation_stats on a CUDA device against the CPU path: several activations, every dtype,
// sizes across block and grid boundaries, a user stream, and host pointers rejected. Each test
// skips, with the reason, when no CUDA device is usable.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"
#include "actgrad/saturation.hpp"
#include "storage_compare.hpp"

namespace {

using actgrad::Activation;
using actgrad::bfloat16_t;
using actgrad::Buffer;
using actgrad::Device;
using actgrad::half_t;
using actgrad::SaturationStats;
using actgrad::SaturationStatsOptions;
using actgrad_test::from_double;

class CudaStats : public ::testing::Test {
protected:
  void SetUp() override {
    if (!Device::cuda_available()) GTEST_SKIP() << Device::automatic_reason();
  }
};

// GPU and CPU compute f' with the same functor in the same compute type; device libm may differ
// from the host's by an ulp or two, so an element exactly at a threshold or bin edge may move.
// Allow a few per count plus `ambiguous` (the elements whose f' lies within float rounding of
// an edge: 16-bit inputs repeat, so one such input value can move thousands of elements at
// once; seen on an H200 for swiglu f16 at the top of the histogram), and 1e-9 relative
// (f32/f64) or 1e-5 (16-bit) on the moments.
void expect_agree(const SaturationStats& g, const SaturationStats& c, double tol,
                  std::int64_t ambiguous) {
  const double slack = 2 + 1e-6 * double(c.count) + double(ambiguous);
  EXPECT_EQ(g.n, c.n);
  EXPECT_EQ(g.count, c.count);
  EXPECT_EQ(g.nan, c.nan);
  EXPECT_NEAR(double(g.small_derivative), double(c.small_derivative), slack);
  EXPECT_NEAR(double(g.saturated_left), double(c.saturated_left), slack);
  EXPECT_NEAR(double(g.saturated_right), double(c.saturated_right), slack);
  EXPECT_NEAR(double(g.dead), double(c.dead), slack);
  EXPECT_NEAR(double(g.below), double(c.below), slack);
  EXPECT_NEAR(double(g.above), double(c.above), slack);
  ASSERT_EQ(g.histogram.size(), c.histogram.size());
  for (std::size_t b = 0; b < g.histogram.size(); ++b)
    EXPECT_NEAR(double(g.histogram[b]), double(c.histogram[b]), 2 * slack) << "bin " << b;
  EXPECT_NEAR(g.mean_f, c.mean_f, tol * (1 + std::fabs(c.mean_f)));
  EXPECT_NEAR(g.var_f, c.var_f, tol * (1 + c.var_f));
  EXPECT_NEAR(g.mean_df, c.mean_df, tol * (1 + std::fabs(c.mean_df)));
  EXPECT_NEAR(g.var_df, c.var_df, tol * (1 + c.var_df));
}

template <class S>
void compare(const std::string& name, std::int64_t n, cudaStream_t stream, double tol) {
  SCOPED_TRACE(name + " " + actgrad::dtype_name(actgrad::Storage<S>::dtype) +
               " n=" + std::to_string(n));
  const Activation act = Activation::parse(name);
  std::mt19937_64 rng(std::uint64_t(n) + 1);
  std::normal_distribution<double> normal(0.3, 4);
  std::vector<S> x(static_cast<std::size_t>(n));
  for (S& v : x) v = from_double<S>(normal(rng));
  if (n > 5) x[5] = from_double<S>(std::nan(""));
  const actgrad::DType dt = actgrad::Storage<S>::dtype;
  Buffer d(dt, n, Device::cuda(0));
  actgrad::copy(actgrad::view(x.data(), n), d.view());
  SaturationStatsOptions opt;
  opt.bins = 48;
  opt.exec.stream = stream;
  const SaturationStats g = actgrad::saturation_stats(act, std::as_const(d).view(), opt);
  const SaturationStats c = actgrad::saturation_stats(act, actgrad::view(x.data(), n), opt);
  // Elements whose f' (in double) is within 2^-20 relative of a threshold or histogram edge,
  // where float compute on two devices may fall on either side (16-bit storage only).
  std::int64_t ambiguous = 0;
  if constexpr (sizeof(S) == 2) {
    std::vector<double> edges = {c.threshold, -c.threshold};
    for (int b = 0; b <= opt.bins; ++b)
      edges.push_back(c.hist_lo + (c.hist_hi - c.hist_lo) * b / opt.bins);
    std::vector<signed char> near(65536, -1);
    for (const S& v : x) {
      signed char& m = near[v.bits];
      if (m < 0) {
        const double df = actgrad::evaluate(act, double(actgrad::Storage<S>::load(v))).dy;
        m = 0;
        for (const double e : edges)
          if (std::fabs(df - e) <= 0x1p-20 * std::max(std::fabs(e), 1e-30)) m = 1;
      }
      ambiguous += m;
    }
  }
  expect_agree(g, c, tol, ambiguous);
}

TEST_F(CudaStats, AgreesWithCpu) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  for (const char* name : {"sigmoid", "relu", "gelu", "hardswish", "tanh", "exp", "swiglu"}) {
    for (const std::int64_t n : {1, 255, 256, 257, 100'003, 3'000'000}) {
      compare<float>(name, n, stream, 1e-9);
      compare<double>(name, n, stream, 1e-9);
      compare<half_t>(name, n, stream, 1e-5);
      compare<bfloat16_t>(name, n, stream, 1e-5);
    }
  }
  cudaStreamDestroy(stream);
}

TEST_F(CudaStats, EveryActivationF32) {
  for (const actgrad::ActId id : actgrad::catalogue())
    compare<float>(Activation(id).to_string(), 65'537, nullptr, 1e-9);
}

TEST_F(CudaStats, HostPointerIsRejected) {
  std::vector<float> x(16, 0.f);
  actgrad::ConstTensorView v = actgrad::view(x.data(), 16);
  v.device = Device::cuda(0);
  EXPECT_THROW(actgrad::saturation_stats(Activation::parse("relu"), v), actgrad::Error);
}

} // namespace
