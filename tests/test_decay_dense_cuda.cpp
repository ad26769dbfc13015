// Dense gradient-decay model on a GPU: agreement with the CPU path, checkpointing, depth 10 000,
// orthogonal draws (cuSOLVER against LAPACK) and the Jacobian spectrum (issue 17).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actgrad/buffer.hpp"
#include "actgrad/decay.hpp"
#include "actgrad/detail/decay_dense.hpp"
#include "actgrad/error.hpp"
#include "actgrad/spectrum.hpp"
#include "decay_test_config.hpp"

namespace {

using actgrad::DecayConfig;
using actgrad::Device;
using actgrad::DType;
using actgrad::LayerStats;

DecayConfig dense(const char* act, std::int64_t width, std::int64_t batch, std::int64_t depth,
                  double s, double t, DType dtype, Device device) {
  DecayConfig c = actgrad_test::decay_config(actgrad::DecayModel::dense, act, depth, batch, s, t,
                                             dtype, 7, device);
  c.width = width;
  return c;
}

// The two paths draw the same W, b, x and delta^L (one Philox function) and differ only in GEMM
// summation order and libm ulps, so every statistic agrees to rounding: relative 1e-4 in f32
// (rounding of ~1e-7 per operation, amplified over 50 layers), 1e-10 in f64. The configurations
// are in the ordered or critical phase, where rounding differences do not grow exponentially.
// A saturated-fraction count can differ where |f'| sits at the threshold to rounding: 1e-3.
struct Case {
  const char* act;
  double s, t;
};

void compare(const Case& c, std::int64_t width, DType dtype) {
  const std::int64_t batch = 16, depth = 50;
  const auto cpu = actgrad::simulate_dense(
      dense(c.act, width, batch, depth, c.s, c.t, dtype, Device::cpu()), {});
  const auto gpu = actgrad::simulate_dense(
      dense(c.act, width, batch, depth, c.s, c.t, dtype, Device::cuda()), {});
  ASSERT_EQ(cpu.size(), gpu.size());
  const double tol = dtype == DType::f32 ? 1e-4 : 1e-10;
  for (std::size_t l = 0; l < cpu.size(); ++l) {
    const std::string where = std::string(c.act) + " width " + std::to_string(width) + " " +
                              actgrad::dtype_name(dtype) + " layer " + std::to_string(l + 1);
    EXPECT_EQ(cpu[l].layer, gpu[l].layer);
    EXPECT_NEAR(gpu[l].q / cpu[l].q, 1.0, tol) << where;
    // Relative difference of grad_norm2 = ln(10) * difference of log10.
    EXPECT_NEAR(std::log(10.0) * (gpu[l].log10_grad_norm2 - cpu[l].log10_grad_norm2), 0.0, tol)
        << where;
    EXPECT_NEAR(gpu[l].saturated_fraction, cpu[l].saturated_fraction,
                dtype == DType::f32 ? 1e-3 : 0.0)
        << where;
  }
}

TEST(DenseCuda, AgreesWithCpu) {
  ACTGRAD_SKIP_WITHOUT_GPU();
  for (const Case& c : {Case{"tanh", 1.0, 0.0}, Case{"relu", 2.0, 0.0}, Case{"sigmoid", 1.0, 0.0},
                        Case{"gelu", 1.5, 0.05}})
    for (std::int64_t width : {256, 1024})
      for (DType dt : {DType::f32, DType::f64}) compare(c, width, dt);
}

TEST(DenseCuda, CheckpointingGivesTheStoredNumbers) {
  ACTGRAD_SKIP_WITHOUT_GPU();
  const DecayConfig cfg = dense("softplus", 256, 8, 40, 1.8, 0.05, DType::f32, Device::cuda());
  const auto stored = actgrad::detail::simulate_dense(cfg, {}, {});
  actgrad::detail::DenseOptions tiny;
  tiny.store_budget = 1;
  const auto ck = actgrad::detail::simulate_dense(cfg, {}, tiny);
  ASSERT_EQ(stored.size(), ck.size());
  for (std::size_t l = 0; l < ck.size(); ++l) {
    EXPECT_EQ(stored[l].q, ck[l].q) << l;
    EXPECT_EQ(stored[l].log10_grad_norm2, ck[l].log10_grad_norm2) << l;
    EXPECT_EQ(stored[l].saturated_fraction, ck[l].saturated_fraction) << l;
  }
}

TEST(DenseCuda, Depth10000StaysFinite) {
  ACTGRAD_SKIP_WITHOUT_GPU();
  const auto r = actgrad::simulate_dense(
      dense("tanh", 32, 4, 10000, 0.5, 0.0, DType::f32, Device::cuda()), {});
  ASSERT_EQ(r.size(), 10000u);
  for (const LayerStats& s : r) ASSERT_TRUE(std::isfinite(s.log10_grad_norm2)) << s.layer;
  EXPECT_LT(r.front().log10_grad_norm2, -400.0);
}

TEST(DenseCuda, BeyondTheDevice) {
  ACTGRAD_SKIP_WITHOUT_GPU();
  const DecayConfig c = dense("tanh", std::int64_t(1) << 20, std::int64_t(1) << 16, 4, 1.0, 0.0,
                              DType::f32, Device::cuda());
  try {
    actgrad::simulate_dense(c, {});
    ADD_FAILURE() << "no actgrad::Error thrown";
  } catch (const actgrad::Error& e) {
    EXPECT_EQ(int(e.kind()), int(actgrad::Error::Kind::invalid_argument));
    EXPECT_NE(std::string(e.what()).find(std::to_string(actgrad::dense_memory_bytes(c))),
              std::string::npos)
        << e.what();
  }
}

// Both devices factor the same Philox matrix, and Q diag(sign R_ii) is unique, so the draws differ
// only by the two QR implementations' rounding: ~N eps = 1e-13 for N = 128 (entries ~0.1).
TEST(DenseCuda, OrthogonalDrawsAgreeWithLapack) {
  ACTGRAD_SKIP_WITHOUT_GPU();
  const std::int64_t n = 128;
  auto cpu = actgrad::detail::make_cpu_dense_backend(DType::f64);
  auto gpu = actgrad::detail::make_cuda_dense_backend(DType::f64, Device::cuda());
  std::vector<double> a(n * n), b(n * n);
  actgrad::Buffer d(DType::f64, n * n, Device::cuda());
  for (std::uint32_t layer = 1; layer <= 3; ++layer) {
    actgrad::detail::draw_weights(*cpu, actgrad::view(a.data(), n * n), n,
                                  actgrad::WeightInit::orthogonal, 2.0, 5, layer,
                                  actgrad::detail::DenseStream::weight);
    actgrad::detail::draw_weights(*gpu, d.view(), n, actgrad::WeightInit::orthogonal, 2.0, 5, layer,
                                  actgrad::detail::DenseStream::weight);
    actgrad::copy(d.view(), actgrad::view(b.data(), n * n));
    double worst = 0;
    for (std::int64_t i = 0; i < n * n; ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    EXPECT_LT(worst, 1e-12) << "layer " << layer;
  }
}

// The spectrum on both devices: the same draws, products that differ in summation order, and two
// eigensolvers; in f64 every statistic agrees to 1e-9 relative at L = 6 (the products do not
// amplify rounding on these critical nets). The probes method likewise.
TEST(DenseCuda, SpectrumAgreesWithCpu) {
  ACTGRAD_SKIP_WITHOUT_GPU();
  for (const auto init : {actgrad::WeightInit::gaussian, actgrad::WeightInit::orthogonal})
    for (const auto method : {actgrad::SpectrumMethod::eigen, actgrad::SpectrumMethod::probes}) {
      actgrad::SpectrumConfig c;
      c.act = actgrad::Activation::parse("relu");
      c.init = init;
      c.depth = 6;
      c.width = 192;
      c.sigma_w2 = 2.0;
      c.networks = 3;
      c.method = method;
      const actgrad::SpectrumResult r_cpu = actgrad::simulate_spectrum(c);
      c.device = Device::cuda();
      const actgrad::SpectrumResult r_gpu = actgrad::simulate_spectrum(c);
      const std::string where = std::string(actgrad::weight_init_name(init)) + " " +
                                actgrad::spectrum_method_name(method);
      for (std::size_t k = 0; k < r_cpu.networks.size(); ++k) {
        EXPECT_NEAR(r_gpu.networks[k].m1 / r_cpu.networks[k].m1, 1.0, 1e-9) << where;
        EXPECT_NEAR(r_gpu.networks[k].m2_ratio / r_cpu.networks[k].m2_ratio, 1.0, 1e-9) << where;
        EXPECT_NEAR(r_gpu.networks[k].m3_ratio / r_cpu.networks[k].m3_ratio, 1.0, 1e-9) << where;
        if (method == actgrad::SpectrumMethod::eigen) {
          EXPECT_NEAR(r_gpu.networks[k].lambda_max / r_cpu.networks[k].lambda_max, 1.0, 1e-9)
              << where;
        }
      }
    }
}

} // namespace
