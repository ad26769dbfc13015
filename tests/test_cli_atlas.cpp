// CLI tests of `actgrad atlas`, `actgrad saturation` and `actgrad plot`: known values through
// JSON, agreement with the library, the exit statuses and one-line errors, and no partial image
// left behind (gnuplot missing is simulated with ACTGRAD_GNUPLOT=/nonexistent).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <dirent.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actgrad/actgrad.hpp"
#include "actgrad/saturation.hpp"
#include "cli_run.hpp"

namespace {

using actgrad_test::CliRun;
using actgrad_test::expect_cli_error;
using actgrad_test::run_cli;
using actgrad_test::slurp;

std::string temp_dir() { return actgrad_test::make_temp_dir("atlas_test"); }
using actgrad_test::dir_entries;

double num(const nlohmann::json& j) {
  if (j.is_null()) return std::nan("");
  if (j.is_string()) return j.get<std::string>() == "inf" ? INFINITY : -INFINITY;
  return j.get<double>();
}

const nlohmann::json& row(const nlohmann::json& atlas, const std::string& name) {
  for (const auto& r : atlas)
    if (r["name"] == name) return r;
  throw std::runtime_error("no atlas row " + name);
}

TEST(CliAtlas, KnownValues) {
  const CliRun r = run_cli({"atlas", "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto atlas = nlohmann::json::parse(r.out);
  EXPECT_EQ(atlas.size(), std::size_t(actgrad::catalogue_size()));
  const auto& sig = row(atlas, "sigmoid");
  EXPECT_DOUBLE_EQ(num(sig["max_abs_df"]), 0.25);
  EXPECT_EQ(num(sig["argmax"]), 0.0);
  EXPECT_NEAR(num(sig["mean_f"]), 0.5, 1e-13);
  EXPECT_EQ(sig["left"]["type"], "soft");
  EXPECT_EQ(sig["right"]["type"], "soft");
  EXPECT_NEAR(num(sig["right"]["bound"]), 5.98645, 5e-6);
  EXPECT_NEAR(num(sig["left"]["bound"]), -5.98645, 5e-6);
  const auto& tanh = row(atlas, "tanh");
  EXPECT_EQ(num(tanh["df0"]), 1.0);
  EXPECT_NEAR(num(tanh["right"]["bound"]), 2.99322, 5e-6);
  const auto& relu = row(atlas, "relu");
  EXPECT_NEAR(num(relu["mean_df2"]), 0.5, 1e-14);
  EXPECT_EQ(relu["left"]["type"], "hard");
  EXPECT_EQ(relu["right"]["type"], "none");
  EXPECT_EQ(num(relu["f_range"][1]), INFINITY);
  // Every row is what the library computes.
  for (const actgrad::ActId id : actgrad::catalogue()) {
    const actgrad::Activation act(id);
    const auto e = actgrad::atlas_entry(act);
    const auto& j = row(atlas, act.to_string());
    SCOPED_TRACE(act.name());
    const double got = num(j["mean_df2"]);
    if (std::isnan(e.mean_df2)) {
      EXPECT_TRUE(std::isnan(got));
    } else {
      EXPECT_EQ(got, e.mean_df2);
    }
    EXPECT_EQ(j["left"]["type"], actgrad::saturation_name(e.saturation.left.type));
  }
}

TEST(CliAtlas, TableAndCsv) {
  const CliRun t = run_cli({"atlas", "tanh", "leaky_relu:negative_slope=0.2"});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find("tanh"), std::string::npos);
  EXPECT_NE(t.out.find("leaky_relu:negative_slope=0.2"), std::string::npos);
  EXPECT_NE(t.out.find("x >= 2.99322"), std::string::npos) << t.out;
  const CliRun c = run_cli({"atlas", "--format", "csv", "sigmoid,swiglu"});
  ASSERT_EQ(c.status, 0) << c.err;
  std::istringstream lines(c.out);
  std::string header, l1, l2, extra;
  std::getline(lines, header);
  std::getline(lines, l1);
  std::getline(lines, l2);
  EXPECT_FALSE(std::getline(lines, extra));
  EXPECT_EQ(header.substr(0, 10), "name,kind,");
  EXPECT_EQ(l1.substr(0, 14), "sigmoid,unary,");
  EXPECT_EQ(l2.substr(0, 13), "swiglu,gated,");
  expect_cli_error(run_cli({"atlas", "nosuch"}), 2, {"nosuch"});
  expect_cli_error(run_cli({"atlas", "--format", "xml"}), 2, {"xml"});
}

TEST(CliSaturation, JsonMatchesLibrary) {
  const CliRun r = run_cli(
      {"saturation", "tanh", "--eps", "0.05", "--input", "normal:0.5,2", "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto want = actgrad::saturation(actgrad::Activation::parse("tanh"), 0.05, 0.5, 2);
  EXPECT_EQ(num(j["left"]["bound"]), want.left.bound);
  EXPECT_EQ(num(j["right"]["mass"]), want.right.mass);
  EXPECT_EQ(j["right"]["type"], "soft");
  EXPECT_EQ(num(j["threshold"]), want.threshold);
  const CliRun t = run_cli({"saturation", "sigmoid"});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find("x <= -5.98645"), std::string::npos) << t.out;
  const CliRun g = run_cli({"saturation", "glu"});
  ASSERT_EQ(g.status, 0) << g.err;
  EXPECT_NE(g.out.find("gate"), std::string::npos) << g.out;
}

TEST(CliSaturation, BadInput) {
  for (const char* eps : {"0", "1", "-0.1", "1.5"})
    expect_cli_error(run_cli({"saturation", "tanh", "--eps", eps}), 2, {"--eps"});
  expect_cli_error(run_cli({"saturation", "tanh", "--eps", "abc"}), 2, {"eps"});
  for (const char* in :
       {"normal:0", "normal:0,0", "normal:0,-1", "uniform:0,1", "normal:a,1", "normal:0,inf"})
    expect_cli_error(run_cli({"saturation", "tanh", "--input", in}), 2, {"--input"});
  expect_cli_error(run_cli({"saturation", "tanh", "--format", "csv"}), 2, {"csv"});
  expect_cli_error(run_cli({"saturation", "leaky_relu:slope=1"}), 2, {"slope"});
}

TEST(CliPlot, WritesImagesAndFailsCleanly) {
  const std::string dir = temp_dir();
  const std::string png = dir + "/f.png", svg = dir + "/g.svg";
  const CliRun p = run_cli({"plot", "sigmoid,tanh", "relu", "--out", png});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_TRUE(p.out.empty());
  const std::string bytes = slurp(png);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  const CliRun s =
      run_cli({"plot", "hardtanh:min_val=-2,max_val=2", "--out", svg, "--range", "-3:3"});
  ASSERT_EQ(s.status, 0) << s.err;
  const std::string text = slurp(svg);
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_NE(text.find("saturated"), std::string::npos);
  EXPECT_EQ(dir_entries(dir).size(), 2u) << "temporary files left behind";

  // Failures: exit status, one line, and no file at all (not even a temporary one).
  const std::string bad = dir + "/bad.png";
  expect_cli_error(run_cli({"plot", "tanh", "--out", dir + "/x.jpg"}), 2, {".png or .svg"});
  expect_cli_error(run_cli({"plot", "tanh", "--out", dir + "/missing/dir.png"}), 2, {"--out"});
  expect_cli_error(run_cli({"plot", "tanh", "--out", bad, "--range", "3:1"}), 2, {"--range"});
  expect_cli_error(run_cli({"plot", "nosuch", "--out", bad}), 2, {"nosuch"});
  expect_cli_error(
      run_cli({"plot", "tanh", "--out", bad}, "", "ACTGRAD_GNUPLOT=/nonexistent/gnuplot"), 1,
      {"gnuplot"});
  EXPECT_EQ(dir_entries(dir).size(), 2u) << "a failed plot left a file";
  unlink(png.c_str());
  unlink(svg.c_str());
  rmdir(dir.c_str());
}

} // namespace
