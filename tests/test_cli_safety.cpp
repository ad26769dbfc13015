// Hostile input to the `actgrad` CLI (issue 15): user text never reaches gnuplot's command
// stream (plot paths, titles), every subcommand reports a failed stdout, the parser rejects
// what it cannot round-trip, and size arguments are checked against available memory.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "actgrad/actgrad.hpp"
#include "actgrad/decay.hpp"

#include "gnuplot.hpp"
#include "cli_run.hpp"
#include "limits.hpp"

namespace {

using actgrad_test::CliRun;
using actgrad_test::expect_cli_error;
using actgrad_test::run_cli;
using actgrad_test::slurp;

std::string temp_dir() { return actgrad_test::make_temp_dir("safety_test"); }
using actgrad_test::dir_entries;

// Removes a test directory and the plain files in it.
void remove_dir(const std::string& dir) {
  for (const std::string& name : dir_entries(dir)) unlink((dir + "/" + name).c_str());
  rmdir(dir.c_str());
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

bool have_gnuplot() { return std::system("gnuplot --version >/dev/null 2>&1") == 0; }

// ---- 1. gnuplot: the one quoting function, and paths that never reach gnuplot -------------

TEST(GnuplotString, QuotesDoublesAndStripsControlCharacters) {
  using actgrad::cli::gnuplot_string;
  EXPECT_EQ(gnuplot_string(""), "''");
  EXPECT_EQ(gnuplot_string("tanh"), "'tanh'");
  EXPECT_EQ(gnuplot_string("f'"), "'f'''");
  EXPECT_EQ(gnuplot_string("a\"b"), "'a\"b'");
  EXPECT_EQ(gnuplot_string("back\\slash"), "'back\\slash'"); // literal in single quotes
  EXPECT_EQ(gnuplot_string("x\nsystem \"touch P\"\n#"), "'x system \"touch P\" #'");
  EXPECT_EQ(gnuplot_string("a\rb\tc\x7f"
                           "d\x01"),
            "'a b c d '");
  EXPECT_EQ(gnuplot_string("`id` @m \xc3\xa9"), "'`id` @m \xc3\xa9'"); // UTF-8 kept
}

// gnuplot itself reads each quoted string back as one literal string: nothing runs.
TEST(GnuplotString, GnuplotReadsTheTextLiterally) {
  if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
  const std::string dir = temp_dir();
  const std::string pwned = dir + "/PWNED";
  const std::vector<std::string> hostile = {
      "plain",
      "it's",
      "x\nsystem \"touch " + pwned + "\"\n#",
      "x'\nsystem 'touch " + pwned + "'\n#",
      "`touch " + pwned + "`",
      "back\\slash \\n \"q\" @macro",
  };
  std::string script, want;
  for (const std::string& h : hostile) {
    script += "print " + actgrad::cli::gnuplot_string(h) + "\n";
    std::string line = h;
    for (char& c : line)
      if (c == '\n') c = ' ';
    want += line + "\n";
  }
  const std::string script_path = dir + "/s.gp", out_path = dir + "/out.txt";
  FILE* f = std::fopen(script_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(script.c_str(), f);
  std::fclose(f);
  ASSERT_EQ(std::system(("gnuplot " + script_path + " 2>" + out_path).c_str()), 0);
  EXPECT_EQ(slurp(out_path), want);
  EXPECT_FALSE(exists(pwned)) << "a quoted string ran a command";
  remove_dir(dir);
}

// The injection of issue 15, run in a fresh directory as the current one: a newline in the image
// path used to end gnuplot's quoted string, and `system "touch PWNED"` ran. Now the path is only
// a file name: exit 0, the image at exactly that (relative) path, nothing run.
TEST(CliPlotPaths, NewlineInPathIsJustAFileName) {
  if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
  const std::string dir = temp_dir();
  char old_cwd[4096];
  ASSERT_NE(getcwd(old_cwd, sizeof old_cwd), nullptr);
  ASSERT_EQ(chdir(dir.c_str()), 0);
  const std::string evil = "x\nsystem \"touch PWNED\"\n#.png";
  const std::string evil_svg = "y'\nsystem 'touch PWNED'\n#.svg";
  const std::vector<std::vector<std::string>> runs = {
      {"plot", "sigmoid", "--out", evil},
      {"phase", "tanh", "--sigma-w2", "0.5:2:3", "--sigma-b2", "0:0.1:2", "--out", evil},
      {"decay", "tanh", "--model", "chain", "--depth", "3", "--batch", "16", "--device", "cpu",
       "--plot", evil},
      {"plot", "relu", "--out", evil_svg},
  };
  for (const auto& args : runs) {
    const std::string& path = args.back();
    unlink(path.c_str());
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.status, 0) << args[0] << ": " << r.err;
    EXPECT_FALSE(exists(dir + "/PWNED")) << args[0] << ": the path ran a gnuplot command";
    const std::string bytes = slurp(dir + "/" + path);
    ASSERT_GT(bytes.size(), 100u) << args[0] << ": no image at the literal path";
    if (path == evil)
      EXPECT_EQ(bytes.substr(1, 3), "PNG") << args[0];
    else
      EXPECT_NE(bytes.find("<svg"), std::string::npos) << args[0];
  }
  ASSERT_EQ(chdir(old_cwd), 0);
  EXPECT_EQ(dir_entries(dir).size(), 2u) << "temporary files left behind";
  remove_dir(dir);
}

TEST(CliPlotPaths, SpacesAndQuotesInPath) {
  if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
  const std::string dir = temp_dir();
  for (const std::string name : {"/my chart's \"best\".png", "/a\\b `c` @d.svg"}) {
    const std::string path = dir + name;
    const CliRun r = run_cli({"plot", "tanh", "--out", path});
    EXPECT_EQ(r.status, 0) << name << ": " << r.err;
    EXPECT_GT(slurp(path).size(), 100u) << name;
  }
  EXPECT_EQ(dir_entries(dir).size(), 2u) << "temporary files left behind";
  remove_dir(dir);
}

// With the private directory on another file system the image is copied next to the target
// and renamed there (no rename across file systems).
TEST(CliPlotPaths, PrivateDirectoryOnAnotherFileSystem) {
  if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
  const std::string dir = temp_dir();
  struct stat a {
  }, b{};
  if (stat(dir.c_str(), &a) != 0 || stat("/dev/shm", &b) != 0 || a.st_dev == b.st_dev ||
      access("/dev/shm", W_OK) != 0) {
    remove_dir(dir);
    GTEST_SKIP() << "no second writable file system (/dev/shm)";
  }
  const std::string path = dir + "/cross.png";
  const CliRun r = run_cli({"plot", "tanh", "--out", path}, "", "TMPDIR=/dev/shm");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(slurp(path).substr(1, 3), "PNG");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  const mode_t mask = umask(0);
  umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask) << "the copied image kept mkstemp's 0600";
  EXPECT_EQ(dir_entries(dir).size(), 1u) << "temporary files left behind";
  remove_dir(dir);
}

// ---- 4. stdout failures --------------------------------------------------------------------

// Runs `actgrad args...` with stdout on /dev/full (every write fails with ENOSPC).
CliRun run_cli_to_full(const std::vector<std::string>& args) {
  return run_cli(args, "", "", "/dev/full");
}

TEST(CliStdout, EverySubcommandReportsAFullDisk) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  const std::vector<std::vector<std::string>> runs = {
      {"list"},
      {"list", "--format", "json"},
      {"eval", "tanh", "--range", "0:1:3"},
      {"decay", "tanh", "--model", "chain", "--depth", "3", "--batch", "16", "--device", "cpu"},
      {"decay", "relu", "--model", "dense", "--depth", "2", "--width", "8", "--batch", "4",
       "--device", "cpu"},
      {"phase", "tanh", "--sigma-w2", "1:2:2", "--sigma-b2", "0:0:1"},
      {"bench", "relu", "--size", "4096", "--device", "cpu"},
      {"bench", "relu", "--size", "4096", "--device", "cpu", "--format", "json"},
      {"atlas"},
      {"saturation", "tanh"},
      {"list", "--help"},
      {"--help"},
  };
  for (const auto& args : runs) {
    std::string what;
    for (const std::string& a : args) what += a + " ";
    const CliRun r = run_cli_to_full(args);
    expect_cli_error(r, 1, {"writing stdout failed"}, what);
  }
}

// ---- 5. parser slips ------------------------------------------------------------------------

TEST(CliParse, EmptyRangeIsAnErrorNotStdin) {
  // Before: --range '' meant "no range" and eval read x values from stdin.
  const CliRun r = run_cli({"eval", "tanh", "--range", ""}, "0.5\n");
  actgrad_test::expect_usage_error(r, {"--range"});
  const CliRun e = run_cli({"eval", "tanh", "--range="}, "0.5\n");
  actgrad_test::expect_usage_error(e, {"--range"});
}

TEST(CliParse, RepeatedKeySubnormalAndNan) {
  actgrad_test::expect_usage_error(run_cli({"eval", "elu:alpha=1,alpha=2", "--range", "0:1:2"}),
                                   {"'alpha'", "more than once"});
  actgrad_test::expect_usage_error(run_cli({"eval", "elu:alpha=nan", "--range", "0:1:2"}),
                                   {"got nan"});
  const CliRun s = run_cli({"saturation", "elu:alpha=5e-324", "--format", "json"});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_NE(s.out.find("elu:alpha=5e-324"), std::string::npos) << s.out;
}

// ---- 3. size arguments against available memory -------------------------------------------

// MemAvailable in bytes (0 when unknown).
std::uint64_t mem_available() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

// A dense run whose per-layer results and CSV text (about 160 bytes a layer) exceed the
// available memory, while its model (checkpointed, O(sqrt(depth))) fits: it used to pass the
// old check (model bytes against total RAM) and start a multi-GB, hours-long run. Now it is
// refused at once, exit 2, one line with the bytes needed and available.
TEST(CliMemory, DecayRefusesRunsBeyondAvailableMemory) {
  const std::uint64_t avail = mem_available();
  if (avail == 0) GTEST_SKIP() << "no MemAvailable in /proc/meminfo";
  const std::string depth = std::to_string(std::max<std::uint64_t>(avail / 100, 1000));
  const auto t0 = std::chrono::steady_clock::now();
  const CliRun r = run_cli({"decay", "tanh", "--model", "dense", "--depth", depth});
  actgrad_test::expect_usage_error(r, {"--depth " + depth, "bytes", "available"});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
  // Any size argument: the issue's typo, a huge batch or width, and the chain model.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"decay", "tanh", "--model", "dense", "--depth", "1000000000"},
           {"decay", "tanh", "--model", "dense", "--depth", "3", "--batch", "100000000"},
           {"decay", "tanh", "--model", "dense", "--depth", "3", "--width", "100000000"},
           {"decay", "tanh", "--model", "chain", "--depth", "100000000000"}})
    actgrad_test::expect_usage_error(run_cli(args), {"needs", "bytes", "available"}, args[5]);
  // Small runs are unaffected.
  EXPECT_EQ(run_cli({"decay", "tanh", "--model", "dense", "--depth", "3", "--width", "8", "--batch",
                     "4", "--device", "cpu"})
                .status,
            0);
}

TEST(CliMemory, LibraryCountsPerLayerResults) {
  actgrad::DecayConfig cfg;
  cfg.act = actgrad::Activation::parse("tanh");
  cfg.model = actgrad::DecayModel::dense;
  cfg.depth = 1000;
  cfg.device = actgrad::Device::cpu();
  const actgrad::DecayMemory m = actgrad::decay_memory(cfg);
  EXPECT_GE(m.results, 1000 * sizeof(actgrad::LayerStats));
  EXPECT_GT(m.model, 0u);
  EXPECT_GT(m.host_available, 0u);
  EXPECT_EQ(m.device_available, m.host_available);
}

// ---- Limits as one policy (issue 15, item 4): host/cli/limits.hpp, stated in --help --------

namespace limits = actgrad::cli::limits;

// Every subcommand's --help has a "Limits:" line, and states the numbers of limits.hpp.
TEST(CliLimits, HelpStatesEachLimit) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> expected = {
      {"eval", {std::to_string(limits::kEvalRangePoints)}},
      {"phase", {std::to_string(limits::kPhaseAxisPoints)}},
      {"decay",
       {"memory", std::to_string(limits::kDecayCsvRowBytes),
        std::to_string(limits::kDecayPlotRowBytes), std::to_string(limits::kDecaySummaryRowBytes)}},
      {"bench",
       {std::to_string(limits::kBenchMaxSize), std::to_string(limits::kBenchBuffers),
        std::to_string(limits::kBenchMaxReps)}},
      {"plot", {std::to_string(limits::kPlotSamples), "10000"}},
      {"atlas", {}},
      {"saturation", {}},
      {"list", {}},
  };
  for (const auto& [command, numbers] : expected) {
    const CliRun r = run_cli({command, "--help"});
    ASSERT_EQ(r.status, 0) << command;
    EXPECT_NE(r.out.find("Limits:"), std::string::npos) << command << ":\n" << r.out;
    for (const std::string& n : numbers)
      EXPECT_NE(r.out.find(n), std::string::npos) << command << " --help lacks " << n;
  }
}

// The caps hold exactly at their value: the largest allowed is accepted by the parser (checked
// cheaply where running it would be long), one more is refused with exit 2 naming the cap.
TEST(CliLimits, CapsAreExact) {
  const std::string over_range = "0:1:" + std::to_string(limits::kEvalRangePoints + 1);
  actgrad_test::expect_usage_error(run_cli({"eval", "relu", "--range", over_range}),
                                   {"--range", std::to_string(limits::kEvalRangePoints)});
  const std::string over_axis = "0:1:" + std::to_string(limits::kPhaseAxisPoints + 1);
  actgrad_test::expect_usage_error(
      run_cli({"phase", "tanh", "--sigma-w2", over_axis, "--sigma-b2", "0:0:1"}),
      {"--sigma-w2", std::to_string(limits::kPhaseAxisPoints)});
  // The largest axis is accepted: a 1000 x 1 grid at S = 0 (q* = T = 0 at once) is quick.
  const std::string max_axis = "0:0:" + std::to_string(limits::kPhaseAxisPoints);
  const CliRun ok = run_cli({"phase", "relu", "--sigma-w2", max_axis, "--sigma-b2", "0:0:1"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(std::count(ok.out.begin(), ok.out.end(), '\n'), limits::kPhaseAxisPoints + 1);
  actgrad_test::expect_usage_error(
      run_cli({"bench", "relu", "--size", std::to_string(limits::kBenchMaxSize + 1)}), {"--size"});
  actgrad_test::expect_usage_error(
      run_cli({"bench", "relu", "--size", std::to_string(limits::kBenchMinSize - 1)}), {"--size"});
}

} // namespace
