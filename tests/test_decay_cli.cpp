// `actgrad decay` and `actgrad phase` through the built binary: CSV layout against the library,
// several activations, --summary blocks, charts, and the exit-2 errors with one stderr line.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actgrad/decay.hpp"
#include "cli_run.hpp"

namespace {

using actgrad_test::CliRun;
using actgrad_test::expect_usage_error;
using actgrad_test::lines;
using actgrad_test::run_cli;
using actgrad_test::slurp;

std::string temp_name(const char* tail) {
  return actgrad_test::temp_root() + "/actgrad_decay_test_" + std::to_string(getpid()) + tail;
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> v;
  std::istringstream in(line);
  for (std::string f; std::getline(in, f, ',');) v.push_back(f);
  return v;
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

void expect_usage(const std::vector<std::string>& args, const std::string& fragment) {
  expect_usage_error(run_cli(args), {fragment});
}

TEST(DecayCli, CsvMatchesTheLibrary) {
  const CliRun r =
      run_cli({"decay", "tanh", "--model", "chain", "--depth", "7", "--batch", "500", "--sigma-w2",
               "1.5", "--sigma-b2", "0.1", "--seed", "3", "--device", "cpu", "--dtype", "f64"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 8u);
  EXPECT_EQ(ls[0], "layer,log10_grad_norm2,q,saturated_fraction");
  actgrad::DecayConfig c;
  c.act = actgrad::Activation::parse("tanh");
  c.depth = 7;
  c.batch = 500;
  c.sigma_w2 = 1.5;
  c.sigma_b2 = 0.1;
  c.seed = 3;
  c.dtype = actgrad::DType::f64;
  const auto rows = actgrad::simulate_decay(c);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto f = fields(ls[i + 1]);
    ASSERT_EQ(f.size(), 4u);
    EXPECT_EQ(std::stoll(f[0]), rows[i].layer);
    // Shortest round-trip printing: the text reads back to the same double.
    EXPECT_EQ(std::strtod(f[1].c_str(), nullptr), rows[i].log10_grad_norm2);
    EXPECT_EQ(std::strtod(f[2].c_str(), nullptr), rows[i].q);
    EXPECT_EQ(std::strtod(f[3].c_str(), nullptr), rows[i].saturated_fraction);
  }
}

TEST(DecayCli, SeveralActivationsSummaryAndPlot) {
  const std::string png = temp_name(".png");
  const CliRun r =
      run_cli({"decay", "sigmoid,relu,leaky_relu:negative_slope=0.2", "--model", "chain", "--depth",
               "20", "--batch", "256", "--device", "cpu", "--summary", "--plot", png});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto ls = lines(r.out);
  EXPECT_EQ(ls[0], "activation,layer,log10_grad_norm2,q,saturated_fraction");
  EXPECT_EQ(fields(ls[1])[0], "sigmoid");
  EXPECT_EQ(fields(ls[21])[0], "relu");
  EXPECT_EQ(fields(ls[41])[0], "leaky_relu:negative_slope=0.2");
  // Blocks separated by blank lines: per-layer rows, mean-field constants, ranges.
  std::size_t blank1 = 0, blank2 = 0;
  for (std::size_t i = 0; i < ls.size(); ++i)
    if (ls[i].empty()) (blank1 == 0 ? blank1 : blank2) = i;
  ASSERT_EQ(blank1, 61u);
  EXPECT_EQ(ls[blank1 + 1], "activation,q_star,chi1,depth_scale,converged");
  const auto relu = fields(ls[blank1 + 3]);
  EXPECT_EQ(relu[0], "relu");
  EXPECT_NEAR(std::strtod(relu[2].c_str(), nullptr), 0.5, 1e-12); // chi1 = S/2
  EXPECT_EQ(ls[blank2 + 1], "activation,layers,measured_factor,chi_theory");
  EXPECT_EQ(ls.size(), blank2 + 2 + 3 * 10); // 10 ranges of 2 layers per activation
  // sigmoid's last range: the measured factor is sigmoid'(x*)^2 at the chain's fixed point.
  const auto last = fields(ls[blank2 + 11]);
  EXPECT_EQ(last[1], "19-20");
  double x = 0.5;
  for (int i = 0; i < 100; ++i) x = 1 / (1 + std::exp(-x));
  EXPECT_NEAR(std::strtod(last[2].c_str(), nullptr), x * x * (1 - x) * (1 - x), 1e-6);
  EXPECT_TRUE(exists(png));
  std::remove(png.c_str());
}

TEST(DecayCli, BadInputExitsTwoWithOneLine) {
  expect_usage({"decay", "tanh", "--model", "chain", "--depth", "0"}, "depth");
  expect_usage({"decay", "tanh", "--model", "chain", "--depth", "-3"}, "depth");
  expect_usage({"decay", "tanh", "--model", "chain", "--depth", "5", "--batch", "0"}, "batch");
  expect_usage({"decay", "tanh", "--model", "dense", "--depth", "5", "--width", "0"}, "width");
  expect_usage({"decay", "tanh", "--model", "chain", "--depth", "5", "--sigma-w2", "-1"},
               "sigma_w2");
  expect_usage({"decay", "tanh", "--model", "chain", "--depth", "5", "--sigma-b2", "-0.5"},
               "sigma_b2");
  expect_usage({"decay", "tanh", "--model", "chain", "--depth", "5", "--dtype", "f16"}, "f16");
  expect_usage({"decay", "tanh", "--model", "chain", "--depth", "100000000000000"}, "needs");
  expect_usage({"decay", "tanh", "--model", "ring", "--depth", "5"}, "ring");
  const std::string bad = temp_name(".jpg");
  expect_usage({"decay", "tanh", "--model", "chain", "--depth", "5", "--plot", bad}, ".png");
  EXPECT_FALSE(exists(bad));
  if (!actgrad::Device::cuda_available())
    expect_usage({"decay", "tanh", "--model", "chain", "--depth", "5", "--device", "cuda"}, "cuda");
}

TEST(DecayCli, PhaseGridAndChart) {
  const CliRun r = run_cli({"phase", "relu", "--sigma-w2", "1:3:3", "--sigma-b2", "0:0.2:2"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 7u);
  EXPECT_EQ(ls[0], "sigma_w2,sigma_b2,q_star,chi1,depth_scale");
  for (std::size_t i = 1; i < ls.size(); ++i) {
    const auto f = fields(ls[i]);
    EXPECT_NEAR(std::strtod(f[3].c_str(), nullptr), std::strtod(f[0].c_str(), nullptr) / 2, 1e-12);
  }
  EXPECT_EQ(fields(ls[2])[1], "0.2");
  const std::string svg = temp_name(".svg");
  const CliRun p =
      run_cli({"phase", "tanh", "--sigma-w2", "0.5:3:6", "--sigma-b2", "0:0.2:4", "--out", svg});
  EXPECT_EQ(p.status, 0) << p.err;
  EXPECT_TRUE(p.out.empty());
  EXPECT_NE(slurp(svg).find("<svg"), std::string::npos);
  std::remove(svg.c_str());
  expect_usage({"phase", "tanh", "--sigma-w2", "1:2"}, "A:B:N");
  expect_usage({"phase", "tanh", "--sigma-b2", "-1:2:3"}, "0 <= A <= B");
}

} // namespace
