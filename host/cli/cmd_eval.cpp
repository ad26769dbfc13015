// `actgrad eval`: f and f' of one activation at given points, as CSV that round-trips in the dtype.
//
// Input is read and validated in full before anything is computed, and output is written only
// after everything is computed, so a bad argument or input line leaves stdout empty (SPEC §5).
// The values come from the public API (forward_with_derivative, derivative_from_output,
// gated_forward_with_derivative) on the chosen device, so the CLI exercises the library itself.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actgrad/actgrad.hpp"
#include "command.hpp"
#include "limits.hpp"
#include "number_format.hpp"
#include "options.hpp"
#include "output.hpp"

namespace actgrad::cli {
namespace {

using limits::kEvalRangePoints;
using limits::kQuoteBytes;
// Stdin is read in blocks of this many bytes.
constexpr std::size_t kReadBlock = std::size_t(1) << 20;
// Output is handed to stdout in blocks of about this many bytes.
constexpr std::size_t kWriteBlock = std::size_t(1) << 20;

constexpr const char* kNumberForms = "a decimal, a hex-float such as 0x1.8p+3, inf, -inf or nan";

struct EvalConfig {
  std::string act;
  std::string dtype = "f32";
  std::string device = "auto";
  std::string range;
  CLI::Option* range_opt = nullptr; // given at all: --range '' is an error, not "no range"
  bool from_output = false;
  bool verbose = false;
};

// User text inside a one-line message: control bytes escaped, long text cut.
std::string quote(std::string_view text) {
  std::string q = "'";
  for (std::size_t i = 0; i < text.size() && i < kQuoteBytes; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (std::isprint(c)) {
      q += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      q += hex;
    }
  }
  if (text.size() > kQuoteBytes) q += "...";
  return q + "'";
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

struct Range {
  std::string a_text, b_text;
  double a = 0, b = 0;
  std::int64_t n = 0;
};

Range parse_range(const std::string& text) {
  const std::string allowed = "--range " + quote(text) +
                              ": expected A:B:N with A and B finite numbers and N an integer in "
                              "[1, " +
                              std::to_string(kEvalRangePoints) + "], e.g. -4:4:81";
  const std::size_t c1 = text.find(':');
  const std::size_t c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string::npos || text.find(':', c2 + 1) != std::string::npos)
    throw UsageError(allowed);
  Range r;
  r.a_text = std::string(trim(std::string_view(text).substr(0, c1)));
  r.b_text = std::string(trim(std::string_view(text).substr(c1 + 1, c2 - c1 - 1)));
  const std::string n_text(trim(std::string_view(text).substr(c2 + 1)));
  if (!parse_double(r.a_text, r.a) || !parse_double(r.b_text, r.b) || !std::isfinite(r.a) ||
      !std::isfinite(r.b))
    throw UsageError(allowed);
  if (n_text.empty() || n_text.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError(allowed);
  errno = 0;
  const long long n = std::strtoll(n_text.c_str(), nullptr, 10);
  if (errno == ERANGE || n < 1 || n > kEvalRangePoints) throw UsageError(allowed);
  r.n = n;
  return r;
}

// Point i of N evenly spaced over [A, B], both ends included, rounded into S. The ends are
// rounded from their text so they are exactly what `--range` says; the inner points are
// computed in double and rounded once.
template <class S>
std::vector<S> range_points(const Range& r) {
  std::vector<S> x(static_cast<std::size_t>(r.n));
  const double span = r.b - r.a;
  for (std::int64_t i = 0; i < r.n; ++i) {
    const double t = r.n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(r.n - 1);
    // A + (B - A) t, unless B - A overflows (A, B near ±DBL_MAX); then the blend, which cannot.
    const double v = std::isfinite(span) ? r.a + span * t : r.a * (1 - t) + r.b * t;
    x[static_cast<std::size_t>(i)] = round_from_double<S>(v);
  }
  parse_value(r.a_text, x.front());
  if (r.n > 1) parse_value(r.b_text, x.back());
  return x;
}

std::string read_stdin() {
  std::string data;
  std::vector<char> block(kReadBlock);
  std::size_t got = 0;
  while ((got = std::fread(block.data(), 1, block.size(), stdin)) > 0)
    data.append(block.data(), got);
  if (std::ferror(stdin)) throw std::runtime_error("reading stdin failed");
  return data;
}

// Calls fn(line_number, trimmed_text) for every non-blank line of `data` (numbers from 1).
template <class Fn>
void for_each_line(const std::string& data, Fn&& fn) {
  std::size_t start = 0;
  std::int64_t number = 0;
  while (start < data.size()) {
    std::size_t end = data.find('\n', start);
    if (end == std::string::npos) end = data.size();
    ++number;
    const std::string_view line = trim(std::string_view(data).substr(start, end - start));
    if (!line.empty()) fn(number, line);
    start = end + 1;
  }
}

template <class S>
void read_unary(const std::string& data, const Activation& act, std::vector<S>& x) {
  for_each_line(data, [&](std::int64_t number, std::string_view line) {
    S v{};
    if (!parse_value(line, v))
      throw UsageError("stdin line " + std::to_string(number) + ": " + quote(line) +
                       " is not a number; each line of input to " + act.name() +
                       " holds one x: " + kNumberForms);
    x.push_back(v);
  });
}

template <class S>
void read_gated(const std::string& data, const Activation& act, std::vector<S>& a,
                std::vector<S>& b) {
  for_each_line(data, [&](std::int64_t number, std::string_view line) {
    const std::size_t comma = line.find(',');
    S va{}, vb{};
    const bool ok = comma != std::string_view::npos &&
                    line.find(',', comma + 1) == std::string_view::npos &&
                    parse_value(trim(line.substr(0, comma)), va) &&
                    parse_value(trim(line.substr(comma + 1)), vb);
    if (!ok)
      throw UsageError("stdin line " + std::to_string(number) + ": " + quote(line) +
                       " is not a pair 'a,b'; each line of input to the gated unit " + act.name() +
                       " holds two numbers separated by a comma, each " + kNumberForms);
    a.push_back(va);
    b.push_back(vb);
  });
}

// Runs `op(inputs, outputs)` on views of host vectors: directly on the CPU, or through device
// buffers on CUDA (inputs copied in, outputs copied back).
template <class S, class Op>
void run_on(Device device, std::vector<const std::vector<S>*> in, std::vector<std::vector<S>*> out,
            Op&& op) {
  const std::int64_t n = static_cast<std::int64_t>(in.front()->size());
  for (std::vector<S>* o : out) o->resize(static_cast<std::size_t>(n));
  std::vector<ConstTensorView> in_views;
  std::vector<TensorView> out_views;
  if (device.kind == DeviceKind::cpu) {
    for (const std::vector<S>* v : in) in_views.push_back(view(v->data(), n));
    for (std::vector<S>* v : out) out_views.push_back(view(v->data(), n));
    op(in_views, out_views);
    return;
  }
  const DType dtype = Storage<S>::dtype;
  std::vector<Buffer> in_buf, out_buf;
  for (const std::vector<S>* v : in) {
    in_buf.emplace_back(dtype, n, device);
    copy(view(v->data(), n), in_buf.back().view());
    in_views.push_back(std::as_const(in_buf.back()).view());
  }
  for (std::size_t k = 0; k < out.size(); ++k) {
    out_buf.emplace_back(dtype, n, device);
    out_views.push_back(out_buf.back().view());
  }
  op(in_views, out_views);
  for (std::size_t k = 0; k < out.size(); ++k) copy(out_buf[k].view(), view(out[k]->data(), n));
}

// Collects CSV text and hands it to stdout in large blocks.
class CsvWriter {
public:
  CsvWriter() { text_.reserve(kWriteBlock + kWriteBlock / 4); }
  template <class S>
  void row(std::initializer_list<S> values) {
    bool first = true;
    for (const S& v : values) {
      if (!first) text_ += ',';
      append_number(text_, v);
      first = false;
    }
    text_ += '\n';
    if (text_.size() >= kWriteBlock) flush();
  }
  void line(const char* text) {
    text_ += text;
    text_ += '\n';
  }
  void flush() {
    if (!text_.empty()) write_stdout(text_);
    text_.clear();
  }
  void finish() { flush(); }

private:
  std::string text_;
};

template <class S>
int eval_typed(const EvalConfig& cfg, const Activation& act, Device device) {
  const std::unique_ptr<Range> range =
      cfg.range_opt->count() == 0 ? nullptr : std::make_unique<Range>(parse_range(cfg.range));
  std::vector<S> x, b;
  if (range) {
    x = range_points<S>(*range);
    // Gated units over a range: a sweeps the range and b = 1, so f = act(a) and dfda = act'(a).
    if (act.is_gated()) b.assign(x.size(), round_from_double<S>(1.0));
  } else {
    const std::string data = read_stdin();
    if (act.is_gated())
      read_gated(data, act, x, b);
    else
      read_unary(data, act, x);
  }
  if (cfg.verbose)
    std::cerr << "actgrad eval: " << act.to_string() << ", " << x.size() << " inputs, dtype "
              << cfg.dtype << ", device " << device.describe() << '\n';

  CsvWriter csv;
  if (act.is_gated()) {
    std::vector<S> f, da, db;
    if (!x.empty())
      run_on<S>(device, {&x, &b}, {&f, &da, &db}, [&](const auto& in, const auto& out) {
        gated_forward_with_derivative(act, in[0], in[1], out[0], out[1], out[2]);
      });
    csv.line("a,b,f,dfda,dfdb");
    for (std::size_t i = 0; i < x.size(); ++i) csv.row<S>({x[i], b[i], f[i], da[i], db[i]});
  } else {
    std::vector<S> f, df;
    if (!x.empty())
      run_on<S>(device, {&x}, {&f, &df}, [&](const auto& in, const auto& out) {
        if (cfg.from_output) {
          forward(act, in[0], out[0]);
          derivative_from_output(act, out[0], out[1]);
        } else {
          forward_with_derivative(act, in[0], out[0], out[1]);
        }
      });
    csv.line("x,f,df");
    for (std::size_t i = 0; i < x.size(); ++i) csv.row<S>({x[i], f[i], df[i]});
  }
  csv.finish();
  return 0;
}

// Activations whose f' is available from y at their default parameters, for messages.
std::string from_output_names() {
  std::string names;
  for (const ActId id : catalogue())
    if (catalogue_info(id).from_output)
      names += (names.empty() ? "" : ", ") + std::string(catalogue_info(id).name);
  return names;
}

int eval(const EvalConfig& cfg) {
  const Activation act = Activation::parse(cfg.act);
  if (cfg.from_output && act.is_gated())
    throw UsageError(
        "--from-output: " + act.to_string() +
        " is a gated unit; its derivatives need a and b. Allowed with: " + from_output_names());
  if (cfg.from_output && !act.has_derivative_from_output())
    throw UsageError("--from-output: the derivative of " + act.to_string() +
                     " is not a function of its output y. Allowed with: " + from_output_names());
  const Device device = resolve_device(cfg.device, cfg.verbose, "actgrad eval");
  const DType dtype = parse_dtype(cfg.dtype);
  switch (dtype) {
  case DType::f32:
    return eval_typed<float>(cfg, act, device);
  case DType::f64:
    return eval_typed<double>(cfg, act, device);
  case DType::f16:
    return eval_typed<half_t>(cfg, act, device);
  case DType::bf16:
    return eval_typed<bfloat16_t>(cfg, act, device);
  }
  return 1;
}

} // namespace

Command add_eval_command(CLI::App& root) {
  auto cfg = std::make_shared<EvalConfig>();
  CLI::App* app = root.add_subcommand("eval", "Evaluate f and f' of one activation and print CSV");
  app->footer(
      "Input: without --range, x values come from stdin, one per line: a decimal, a hex-float\n"
      "such as 0x1.8p+3, inf, -inf or nan (anything C strtod accepts in full, e.g. +1.5, 1e-3,\n"
      "Infinity). Surrounding white space is ignored; blank lines are skipped. Gated units\n"
      "(kind 'gated' in 'actgrad list') read 'a,b' pairs instead.\n"
      "Output: header x,f,df (gated: a,b,f,dfda,dfdb), then one row per input. x is the input\n"
      "rounded once to the dtype (to nearest even); every number is printed with the fewest\n"
      "digits that read back to the same value in the dtype; nan, inf, -inf for specials.\n"
      "Limits: --range N from 1 to " +
      std::to_string(kEvalRangePoints) +
      "; stdin is read whole (no count limit beyond memory).\n"
      "Exit status: 0 ok; 2 bad argument or input (one line on stderr, nothing on stdout);\n"
      "1 any other failure.");
  app->add_option("ACT", cfg->act,
                  "activation: a name such as relu, or name:param=value,... such as "
                  "leaky_relu:negative_slope=0.2 ('actgrad list' shows them all)")
      ->required();
  app->add_option("--dtype", cfg->dtype,
                  "element type; f16 and bf16 are computed in f32 and rounded to nearest even")
      ->check(one_of({"f32", "f64", "f16", "bf16"}))
      ->capture_default_str();
  app->add_option("--device", cfg->device,
                  "auto: CUDA when a GPU is usable, else the CPU (-v says which and why)")
      ->check(one_of({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cfg->range_opt =
      app->add_option(
             "--range", cfg->range,
             "A:B:N: N evenly spaced points from A to B, both included (N=1 gives A; N at most " +
                 std::to_string(kEvalRangePoints) +
                 "), instead of stdin. Gated units sweep a over the range with b = 1")
          ->type_name("A:B:N");
  app->add_flag("--from-output", cfg->from_output,
                "print as df the derivative computed from y = f(x) alone "
                "(derivative_from_output); an error where f' is not a function of y");
  app->add_flag("-v,--verbose", cfg->verbose, "say on stderr which device ran and why");
  return {app, [cfg] { return eval(*cfg); }};
}

} // namespace actgrad::cli
