// Fuzz target: the actgrad command line in-process (run_cli) on fuzzed argument vectors and stdin,
// with the sizes it may ask for bounded and no file output. Every run returns 0, 1 or 2 and never
// crashes; a failure writes exactly one line on stderr and nothing on stdout (SPEC §5), and a
// quiet success writes nothing on stderr.
//
// Input format (text, so the seed corpus is readable): one argument per line, the first being the
// subcommand; a line "<stdin>" ends the arguments and everything after it is stdin.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "actgrad/tensor.hpp"
#include "cli.hpp"
#include "limits.hpp"
#include "number_format.hpp"

extern "C" __attribute__((weak)) void __sanitizer_set_report_fd(void* fd);

namespace {

// Bounds on what a fuzzed command may ask for, far below the CLI's own limits, so one run takes
// at most about 0.1 s under the sanitizers (atlas of the whole catalogue, decay's default 65536
// chain paths at depth 16); phase's default 36 x 26 grid takes a second, so phase needs both
// axes.
constexpr std::size_t kMaxArgs = 16;
constexpr std::size_t kMaxCommasPerArg = 6; // activation lists: at most 7 activations
constexpr std::int64_t kMaxRangePoints = 64;
constexpr double kMaxAxisPoints = 4;
constexpr std::int64_t kMaxDepth = 16;
constexpr std::int64_t kMaxWidth = 16;
constexpr std::int64_t kMaxBatch = 64;

int g_report_fd = 2;    // the original stderr: sanitizer reports and our own failures
int g_saved_stdout = 1; // restored between runs
std::string g_out_path, g_err_path, g_in_path;
int g_out_fd = -1, g_err_fd = -1;

[[noreturn]] void fail(const std::vector<std::string>& args, int status, const std::string& what,
                       const std::string& out, const std::string& err) {
  std::string argv = "actgrad";
  for (const std::string& a : args) argv += " '" + a + "'";
  dprintf(g_report_fd,
          "fuzz_cli_argv: %s\n  argv: %s\n  status: %d\n  stdout: %.300s\n  stderr: %.300s\n",
          what.c_str(), argv.c_str(), status, out.c_str(), err.c_str());
  std::abort();
}

std::string make_temp(const char* tag) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/actgrad-fuzz-" + tag + "-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    std::perror("fuzz_cli_argv: mkstemp");
    std::abort();
  }
  close(fd);
  return path;
}

void remove_temps() {
  for (const std::string* p : {&g_out_path, &g_err_path, &g_in_path})
    if (!p->empty()) unlink(p->c_str());
}

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  lseek(fd, 0, SEEK_SET);
  ssize_t got = 0;
  while ((got = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(got));
  return s;
}

void reset(int fd) {
  if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
    std::perror("fuzz_cli_argv: truncating a capture file");
    std::abort();
  }
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The values given to option `name` ("--name VALUE" or "--name=VALUE"), in order.
std::vector<std::string> values_of(const std::vector<std::string>& args, const std::string& name) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name && i + 1 < args.size()) v.push_back(args[i + 1]);
    if (args[i].compare(0, name.size() + 1, name + "=") == 0)
      v.push_back(args[i].substr(name.size() + 1));
  }
  return v;
}
bool has(const std::vector<std::string>& args, const std::string& name) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return a == name || a.compare(0, name.size() + 1, name + "=") == 0;
  });
}

// Whether every value of integer option `name` is one CLI11 refuses or at most `cap`: CLI11 reads
// integers with strtoll in base 0 (so 0x10 and 010 count too).
bool int_values_at_most(const std::vector<std::string>& args, const std::string& name,
                        std::int64_t cap) {
  for (const std::string& text : values_of(args, name)) {
    std::int64_t v = 0;
    if (CLI::detail::lexical_cast(trimmed(text), v) && v > cap) return false;
  }
  return true;
}

// eval --range A:B:N: N as cmd_eval reads it (digits after the second colon, trimmed).
bool range_small(const std::string& text) {
  const std::size_t c1 = text.find(':');
  const std::size_t c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string::npos) return true;
  const std::string n = trimmed(std::string_view(text).substr(c2 + 1));
  if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) return true;
  const std::string digits = n.substr(std::min(n.find_first_not_of('0'), n.size()));
  return digits.size() <= 3 && (digits.empty() || std::stoll(digits) <= kMaxRangePoints);
}

// phase --sigma-w2/--sigma-b2 A:B:N: N as cmd_phase reads it (a double after the second colon).
bool axis_small(const std::string& text) {
  const std::size_t c1 = text.find(':');
  const std::size_t c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string::npos) return true;
  double n = 0;
  if (!actgrad::cli::parse_double(text.substr(c2 + 1), n)) return true;
  return !(n > kMaxAxisPoints);
}

// Whether running `args` stays within the bounds above and writes no file.
bool bounded(const std::vector<std::string>& args) {
  if (args.empty() || args.size() > kMaxArgs) return false;
  for (const std::string& a : args) {
    if (std::count(a.begin(), a.end(), ',') > static_cast<long>(kMaxCommasPerArg)) return false;
    // --out and --plot write files (and start gnuplot): never.
    if (a.compare(0, 5, "--out") == 0 || a.compare(0, 6, "--plot") == 0) return false;
  }
  const bool help = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "--help" || a == "-h" || a == "--version";
  });
  if (help) return true;
  // A subcommand may follow another's arguments (CLI11 chains them: `eval relu phase tanh` runs
  // phase), so each subcommand's bounds apply wherever its name appears.
  auto mentions = [&](const char* cmd) {
    return std::find(args.begin(), args.end(), cmd) != args.end();
  };
  for (const std::string& r : values_of(args, "--range"))
    if (!range_small(r)) return false;
  if (mentions("phase")) {
    // The default grid (36 x 26 fixed points) is too slow: both axes must be given, and small.
    if (!has(args, "--sigma-w2") || !has(args, "--sigma-b2")) return false;
    for (const char* axis : {"--sigma-w2", "--sigma-b2"})
      for (const std::string& v : values_of(args, axis))
        if (!axis_small(v)) return false;
  }
  if (mentions("decay")) {
    if (!int_values_at_most(args, "--batch", kMaxBatch) ||
        !int_values_at_most(args, "--depth", kMaxDepth) ||
        !int_values_at_most(args, "--width", kMaxWidth))
      return false;
    // The dense model's default width (1024) is too large: dense needs an explicit --width.
    const bool dense = std::any_of(args.begin(), args.end(), [](const std::string& a) {
      return a.find("dense") != std::string::npos;
    });
    if (dense && !has(args, "--width")) return false;
  }
  if (mentions("bench")) {
    // Timing takes at least 0.1 s a pass: only runs that fail before timing starts, a --size
    // CLI11 refuses or CUDA where there is none.
    bool refused_size = false;
    for (const std::string& text : values_of(args, "--size")) { // exactly as CLI11 reads it
      std::int64_t v = 0;
      if (!CLI::detail::lexical_cast(text, v) || v < actgrad::cli::limits::kBenchMinSize ||
          v > actgrad::cli::limits::kBenchMaxSize)
        refused_size = true;
    }
    const std::vector<std::string> dev = values_of(args, "--device");
    const bool no_cuda = !actgrad::Device::cuda_available() &&
                         std::find(dev.begin(), dev.end(), "cuda") != dev.end();
    if (!refused_size && !no_cuda) return false;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Sanitizer reports and our own failure messages go to the real stderr; the CLI's stdout and
  // stderr go to capture files that each run checks.
  g_report_fd = dup(2);
  g_saved_stdout = dup(1);
  if (__sanitizer_set_report_fd)
    __sanitizer_set_report_fd(reinterpret_cast<void*>(static_cast<std::intptr_t>(g_report_fd)));
  g_out_path = make_temp("stdout");
  g_err_path = make_temp("stderr");
  g_in_path = make_temp("stdin");
  std::atexit(remove_temps);
  g_out_fd = open(g_out_path.c_str(), O_RDWR);
  g_err_fd = open(g_err_path.c_str(), O_RDWR);
  if (g_out_fd < 0 || g_err_fd < 0) {
    std::perror("fuzz_cli_argv: open");
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  std::string stdin_text;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, nl - pos);
    if (line == "<stdin>") {
      stdin_text = std::string(text.substr(std::min(nl + 1, text.size())));
      break;
    }
    if (nl == text.size() && line.empty()) break; // a final newline ends the last argument
    // The program sees each argument up to its first NUL, as C strings end there.
    args.emplace_back(line.substr(0, line.find('\0')));
    if (args.size() > kMaxArgs) return 0;
    pos = nl + 1;
  }
  if (!bounded(args)) return 0;

  // stdin: the rest of the input, through a file the CLI reads to its end.
  {
    FILE* f = std::fopen(g_in_path.c_str(), "wb");
    if (!f || std::fwrite(stdin_text.data(), 1, stdin_text.size(), f) != stdin_text.size() ||
        std::fclose(f) != 0) {
      std::perror("fuzz_cli_argv: writing stdin");
      std::abort();
    }
    if (!std::freopen(g_in_path.c_str(), "rb", stdin)) {
      std::perror("fuzz_cli_argv: freopen stdin");
      std::abort();
    }
  }

  std::vector<std::string> storage = {"actgrad"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  reset(g_out_fd);
  reset(g_err_fd);
  std::fflush(stdout);
  dup2(g_out_fd, 1);
  dup2(g_err_fd, 2);
  const int status = actgrad::cli::run_cli(static_cast<int>(storage.size()), argv.data());
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(g_saved_stdout, 1);
  dup2(g_report_fd, 2);
  const std::string out = read_all(g_out_fd), err = read_all(g_err_fd);

  if (status != 0 && status != 1 && status != 2)
    fail(args, status, "exit status not 0, 1 or 2", out, err);
  const bool verbose = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a.compare(0, 9, "--verbose") == 0 ||
           (a.size() > 1 && a[0] == '-' && a[1] != '-' && a.find('v') != std::string::npos);
  });
  if (status != 0) {
    if (!out.empty()) fail(args, status, "a failure wrote to stdout", out, err);
    if (err.empty() || err.back() != '\n')
      fail(args, status, "a failure without a message line", out, err);
    if (!verbose && std::count(err.begin(), err.end(), '\n') != 1)
      fail(args, status, "a failure wrote more than one line on stderr", out, err);
  } else if (!verbose && !err.empty()) {
    fail(args, status, "a quiet success wrote to stderr", out, err);
  }
  return 0;
}
