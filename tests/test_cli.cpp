// CLI tests: run the built `actgrad` binary with given stdin, check stdout, stderr and exit status.
//
// Expected numbers come from the library itself (the CLI must print exactly what the public API
// computes, in a form that reads back to the same bits), so these tests check the CLI's parsing,
// rounding, printing and error handling, not the math (tests/test_accuracy* do that).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actgrad/actgrad.hpp"
#include "cli_run.hpp"

namespace {

using actgrad::Activation;
using actgrad::bfloat16_t;
using actgrad::half_t;
using actgrad_test::CliRun;
using actgrad_test::expect_usage_error;
using actgrad_test::lines;
using actgrad_test::run_cli;

// ---------------------------------------------------------------------------------------------
// Running the binary

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& items, const char* sep = "\n") {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? sep : "") + items[i];
  return s + (items.empty() ? "" : sep);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Per-dtype reading and comparison of printed numbers

template <class S>
struct Num;
template <>
struct Num<float> {
  static constexpr const char* name = "f32";
  static float read(const std::string& s) { return std::strtof(s.c_str(), nullptr); }
  static double value(float v) { return v; }
};
template <>
struct Num<double> {
  static constexpr const char* name = "f64";
  static double read(const std::string& s) { return std::strtod(s.c_str(), nullptr); }
  static double value(double v) { return v; }
};
// SPEC §5's round-trip rule for 16-bit types: read as float, then round to nearest even.
template <>
struct Num<half_t> {
  static constexpr const char* name = "f16";
  static half_t read(const std::string& s) {
    return actgrad::to_half(std::strtof(s.c_str(), nullptr));
  }
  static double value(half_t v) { return actgrad::to_float(v); }
};
template <>
struct Num<bfloat16_t> {
  static constexpr const char* name = "bf16";
  static bfloat16_t read(const std::string& s) {
    return actgrad::to_bfloat16(std::strtof(s.c_str(), nullptr));
  }
  static double value(bfloat16_t v) { return actgrad::to_float(v); }
};

template <class S>
std::uint64_t bits(S v) {
  std::uint64_t b = 0;
  std::memcpy(&b, &v, sizeof v);
  return b;
}

// Same value: identical bits, or both NaN (the CLI prints every NaN as `nan`).
template <class S>
bool same(S a, S b) {
  const bool na = std::isnan(Num<S>::value(a)), nb = std::isnan(Num<S>::value(b));
  return na || nb ? na && nb : bits(a) == bits(b);
}

// Significant digits of a decimal text such as -1.25e-07 or 0.0012 (leading zeros excluded).
int significant_digits(const std::string& text) {
  const std::string mantissa = text.substr(0, text.find_first_of("eE"));
  int digits = 0;
  bool started = false;
  for (const char c : mantissa) {
    if (c < '0' || c > '9') continue;
    started = started || c != '0';
    if (started) ++digits;
  }
  // Trailing zeros of an integer such as 65500 are placeholders, not significant.
  if (mantissa.find('.') == std::string::npos)
    for (auto it = mantissa.rbegin(); it != mantissa.rend() && *it == '0' && digits > 1; ++it)
      --digits;
  return digits;
}

// Checks that `text` is a shortest representation of v: no decimal with one digit fewer (the
// nearest one or either neighbour) reads back to v.
template <class S>
void expect_shortest(const std::string& text, S v, const std::string& where) {
  const double x = Num<S>::value(v);
  if (!std::isfinite(x) || x == 0) return;
  const int p = significant_digits(text);
  if (p <= 1) return;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*e", p - 2, x);
  const std::string sci(buf);
  const std::size_t e = sci.find('e');
  std::string digits;
  for (std::size_t i = 0; i < e; ++i)
    if (sci[i] >= '0' && sci[i] <= '9') digits += sci[i];
  const long long m = std::stoll(digits);
  const int exp10 = std::stoi(sci.substr(e + 1)) - (p - 2);
  for (const long long c : {m - 1, m, m + 1}) {
    if (c <= 0) continue;
    const std::string shorter =
        (x < 0 ? "-" : "") + std::to_string(c) + "e" + std::to_string(exp10);
    EXPECT_FALSE(same(Num<S>::read(shorter), v))
        << where << ": '" << text << "' is not shortest; '" << shorter << "' also reads back";
  }
}

// Exact text of a value of S as stdin input: a hex-float (every S is exactly a double).
template <class S>
std::string hex_text(S v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", Num<S>::value(v));
  return buf;
}

template <class S>
S from_bits(std::uint64_t b) {
  S v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// The specials, zeros, subnormals and extremes of a 32- or 64-bit type, plus `count` patterns
// spread over all bit patterns.
template <class S>
std::vector<S> sample_wide(std::size_t count) {
  std::vector<S> x;
  using L = std::numeric_limits<S>;
  for (const S v : {S(0), -S(0), L::denorm_min(), -L::denorm_min(), L::min(), L::max(), -L::max(),
                    L::infinity(), -L::infinity(), L::quiet_NaN(), S(1), S(-1), S(0.5)})
    x.push_back(v);
  // A Weyl sequence over the bit patterns: the step is the golden ratio scaled to 64 bits
  // (2^64 / phi, rounded to odd), which visits well spread patterns of every exponent.
  constexpr std::uint64_t kGoldenStep = 0x9e3779b97f4a7c15ull;
  std::uint64_t state = 0;
  for (std::size_t i = 0; i < count; ++i) {
    state += kGoldenStep;
    x.push_back(from_bits<S>(sizeof(S) == 4 ? state >> 32 : state));
  }
  return x;
}

// Inputs covering every class: all 65 536 patterns for 16-bit types, else sample_wide(count).
template <class S>
std::vector<S> sample_inputs(std::size_t count) {
  if constexpr (sizeof(S) == 2) {
    std::vector<S> x;
    for (std::uint64_t b = 0; b < (1u << 16); ++b) x.push_back(from_bits<S>(b));
    return x;
  } else {
    return sample_wide<S>(count);
  }
}

// Evaluates `act` on x through the CLI in dtype S and checks every printed number against the
// library's result: x reads back to the input, f and df to the library's y and f'.
template <class S>
void check_eval_round_trip(const Activation& act, const std::vector<S>& x) {
  const std::string what = std::string(act.name()) + " " + Num<S>::name;
  std::vector<std::string> input;
  for (const S v : x) input.push_back(hex_text(v));
  const CliRun r = run_cli({"eval", act.to_string(), "--dtype", Num<S>::name}, join(input));
  ASSERT_EQ(r.status, 0) << what << ": " << r.err;
  EXPECT_EQ(r.err, "") << what;
  const std::vector<std::string> rows = lines(r.out);
  ASSERT_EQ(rows.size(), x.size() + 1) << what;
  EXPECT_EQ(rows[0], "x,f,df") << what;

  std::vector<S> y(x.size()), dy(x.size());
  actgrad::forward_with_derivative(act, actgrad::view(x.data(), std::int64_t(x.size())),
                                   actgrad::view(y.data(), std::int64_t(y.size())),
                                   actgrad::view(dy.data(), std::int64_t(dy.size())));
  int failures = 0;
  for (std::size_t i = 0; i < x.size() && failures < 10; ++i) {
    const std::vector<std::string> f = split(rows[i + 1], ',');
    ASSERT_EQ(f.size(), 3u) << what << " row " << i + 1 << ": " << rows[i + 1];
    const S expected[3] = {x[i], y[i], dy[i]};
    for (int k = 0; k < 3; ++k) {
      const S got = Num<S>::read(f[static_cast<std::size_t>(k)]);
      if (!same(got, expected[k])) {
        ++failures;
        ADD_FAILURE() << what << " input " << hex_text(x[i]) << " column " << k << ": printed '"
                      << f[static_cast<std::size_t>(k)] << "' reads back as " << hex_text(got)
                      << ", library gives " << hex_text(expected[k]);
      }
      expect_shortest(f[static_cast<std::size_t>(k)], expected[k], what);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// eval: output shape, numbers and input forms

TEST(CliEval, HeaderAndOneRowPerInput) {
  const CliRun r = run_cli({"eval", "relu"}, "1\n-2\n0\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::vector<std::string> rows = lines(r.out);
  ASSERT_EQ(rows.size(), 4u) << r.out;
  EXPECT_EQ(rows[0], "x,f,df");
  EXPECT_EQ(rows[1], "1,1,1");
  EXPECT_EQ(rows[2], "-2,0,0");
  EXPECT_EQ(rows[3], "0,0,0") << "relu'(0) = 0 (SPEC §2)";
}

TEST(CliEval, EmptyInputPrintsTheHeaderOnly) {
  const CliRun r = run_cli({"eval", "sigmoid"}, "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "x,f,df\n");
}

template <class S>
class CliRoundTrip : public ::testing::Test {};
using StorageTypes = ::testing::Types<float, double, half_t, bfloat16_t>;
TYPED_TEST_SUITE(CliRoundTrip, StorageTypes);

// sigmoid over every input class (all 65 536 patterns for 16-bit types).
TYPED_TEST(CliRoundTrip, SigmoidEveryClass) {
  check_eval_round_trip(Activation::parse("sigmoid"), sample_inputs<TypeParam>(20000));
}

// Every unary catalogue entry at its defaults, on a sample (16-bit: every 31st pattern).
TYPED_TEST(CliRoundTrip, EveryUnaryActivation) {
  // 31 is odd, hence prime to 2^16: the stride meets every exponent, both signs and the NaNs.
  constexpr std::size_t kStride16 = 31;
  std::vector<TypeParam> x = sample_inputs<TypeParam>(1500);
  if (sizeof(TypeParam) == 2) {
    std::vector<TypeParam> thinned;
    for (std::size_t i = 0; i < x.size(); i += kStride16) thinned.push_back(x[i]);
    x = thinned;
  }
  for (const actgrad::ActId id : actgrad::catalogue()) {
    const Activation act(id);
    if (!act.is_gated()) check_eval_round_trip(act, x);
  }
}

TEST(CliEval, InputForms) {
  // hex-float, signs, infinities in several spellings, NaN, negative zero, surrounding blanks,
  // CRLF line ends and blank lines (skipped).
  const std::string input = "0x1.8p+3\n  2.5\t\n+inf\r\nInfinity\n\n-inf\nnan\n-0\n   \n1e-3\n";
  const CliRun r = run_cli({"eval", "relu"}, input);
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> xs;
  for (const std::string& row : lines(r.out)) xs.push_back(split(row, ',')[0]);
  const std::vector<std::string> expected = {"x",    "12",  "2.5", "inf",  "inf",
                                             "-inf", "nan", "-0",  "0.001"};
  EXPECT_EQ(xs, expected) << r.out;
}

TEST(CliEval, InputIsRoundedToTheDtypeOnce) {
  // 1 + 2^-11 is the f16 half-way point between 1 and 1 + 2^-10; a decimal a hair above it must
  // round up. Reading it as a float first would land on the half-way point and round to even (1).
  const std::string above_halfway = "1.00048828125000000000000001";
  const CliRun r =
      run_cli({"eval", "identity", "--dtype", "f16"}, above_halfway + "\n1.00048828125\n");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines(r.out);
  ASSERT_EQ(rows.size(), 3u);
  const half_t up = Num<half_t>::read(split(rows[1], ',')[0]);
  const half_t tie = Num<half_t>::read(split(rows[2], ',')[0]);
  // 1 + 2^-10 in binary16: exponent 15 (0x3c00) plus the last mantissa bit.
  constexpr std::uint16_t kOnePlusUlp = 0x3c01;
  // Exactly on the half-way point: ties to even, i.e. 1.0.
  constexpr std::uint16_t kOne = 0x3c00;
  EXPECT_EQ(up.bits, kOnePlusUlp) << rows[1];
  EXPECT_EQ(tie.bits, kOne) << rows[2];
}

TEST(CliEval, LargeInput) {
  // 10^6 + 3 lines, streamed through the whole pipeline (sizes past any internal block).
  constexpr int kLines = 1000003;
  std::string input;
  for (int i = 0; i < kLines; ++i) input += std::to_string(i % 2000 - 1000) + ".25\n";
  const CliRun r = run_cli({"eval", "tanh"}, input);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines(r.out);
  ASSERT_EQ(rows.size(), std::size_t(kLines) + 1);
  const int last = (kLines - 1) % 2000 - 1000;
  EXPECT_EQ(split(rows.back(), ',')[0], std::to_string(last) + ".25");
}

// ---------------------------------------------------------------------------------------------
// eval --range

std::vector<std::string> column(const std::string& out, std::size_t k) {
  std::vector<std::string> c;
  const std::vector<std::string> rows = lines(out);
  for (std::size_t i = 1; i < rows.size(); ++i) c.push_back(split(rows[i], ',')[k]);
  return c;
}

TEST(CliRange, EvenlySpacedWithBothEnds) {
  const CliRun r = run_cli({"eval", "relu", "--range", "-3:3:7"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> expected = {"-3", "-2", "-1", "0", "1", "2", "3"};
  EXPECT_EQ(column(r.out, 0), expected);
}

TEST(CliRange, EndsAreExactlyTheGivenValues) {
  for (const char* dtype : {"f32", "f64", "f16", "bf16"}) {
    const CliRun r = run_cli({"eval", "identity", "--range", "0.1:0.7:4", "--dtype", dtype});
    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<std::string> x = column(r.out, 0);
    ASSERT_EQ(x.size(), 4u) << dtype;
    EXPECT_EQ(x.front(), "0.1") << dtype;
    EXPECT_EQ(x.back(), "0.7") << dtype;
  }
  const CliRun down = run_cli({"eval", "identity", "--range", "1:-1:3"});
  const std::vector<std::string> expected = {"1", "0", "-1"};
  EXPECT_EQ(column(down.out, 0), expected);
}

TEST(CliRange, OnePointIsA) {
  const CliRun r = run_cli({"eval", "relu", "--range", "2.5:9:1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(column(r.out, 0), std::vector<std::string>{"2.5"});
}

TEST(CliRange, NegativeStartAsSeparateArgument) {
  // "-3:..." must be taken as the value of --range, not as an option.
  const CliRun r = run_cli({"eval", "relu", "--range", "-1.5:1.5:3"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), 4u);
}

TEST(CliRange, ManyPoints) {
  constexpr int kPoints = 100001;
  const CliRun r = run_cli({"eval", "sigmoid", "--range", "-8:8:" + std::to_string(kPoints)});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> x = column(r.out, 0);
  ASSERT_EQ(x.size(), std::size_t(kPoints));
  EXPECT_EQ(x.front(), "-8");
  EXPECT_EQ(x.back(), "8");
  EXPECT_EQ(x[kPoints / 2], "0");
}

// ---------------------------------------------------------------------------------------------
// Gated units and --from-output

// The first gated unit of the catalogue, or null when it has none.
const Activation* first_gated() {
  static const std::optional<Activation> gated = []() -> std::optional<Activation> {
    for (const actgrad::ActId id : actgrad::catalogue())
      if (actgrad::catalogue_info(id).kind == actgrad::Kind::gated) return Activation(id);
    return std::nullopt;
  }();
  return gated ? &*gated : nullptr;
}

TEST(CliGated, PairsMatchTheLibrary) {
  const Activation* act = first_gated();
  if (!act) GTEST_SKIP() << "no gated unit in the catalogue";
  const std::vector<float> a = {1.0f, -1.5f, 0.0f, 3.25f, -0.0f};
  const std::vector<float> b = {2.0f, 0.25f, -4.0f, 1.0f, 7.5f};
  std::string input;
  for (std::size_t i = 0; i < a.size(); ++i)
    input += hex_text(a[i]) + " , " + hex_text(b[i]) + "\n";
  const CliRun r = run_cli({"eval", act->to_string()}, input);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines(r.out);
  ASSERT_EQ(rows.size(), a.size() + 1);
  EXPECT_EQ(rows[0], "a,b,f,dfda,dfdb");
  const std::int64_t n = static_cast<std::int64_t>(a.size());
  std::vector<float> f(a.size()), da(a.size()), db(a.size());
  actgrad::gated_forward_with_derivative(*act, actgrad::view(a.data(), n),
                                         actgrad::view(b.data(), n), actgrad::view(f.data(), n),
                                         actgrad::view(da.data(), n), actgrad::view(db.data(), n));
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::vector<std::string> c = split(rows[i + 1], ',');
    ASSERT_EQ(c.size(), 5u) << rows[i + 1];
    const float expected[5] = {a[i], b[i], f[i], da[i], db[i]};
    for (std::size_t k = 0; k < 5; ++k)
      EXPECT_TRUE(same(Num<float>::read(c[k]), expected[k]))
          << act->name() << " row " << i + 1 << " column " << k << ": " << rows[i + 1];
  }
}

TEST(CliGated, RangeSweepsAWithBOne) {
  const Activation* act = first_gated();
  if (!act) GTEST_SKIP() << "no gated unit in the catalogue";
  const CliRun r = run_cli({"eval", act->to_string(), "--range", "-2:2:5"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(column(r.out, 0), (std::vector<std::string>{"-2", "-1", "0", "1", "2"}));
  EXPECT_EQ(column(r.out, 1), std::vector<std::string>(5, "1"));
  // With b = 1, f = act(a) = d out/d b.
  EXPECT_EQ(column(r.out, 2), column(r.out, 4));
}

TEST(CliGated, BadPairReportsItsLine) {
  const Activation* act = first_gated();
  if (!act) GTEST_SKIP() << "no gated unit in the catalogue";
  expect_usage_error(run_cli({"eval", act->to_string()}, "1,2\n3\n"), {"line 2", "'3'"},
                     "one number");
  expect_usage_error(run_cli({"eval", act->to_string()}, "1,2,3\n"), {"line 1"}, "three numbers");
  expect_usage_error(run_cli({"eval", act->to_string()}, "1,x\n"), {"line 1", "1,x"}, "bad b");
}

TEST(CliFromOutput, SigmoidMatchesTheLibrary) {
  const Activation act = Activation::parse("sigmoid");
  ASSERT_TRUE(act.has_derivative_from_output());
  const std::vector<float> x = {-30.0f, -2.0f, -0.0f, 0.5f, 4.0f, 17.0f};
  std::string input;
  for (const float v : x) input += hex_text(v) + "\n";
  const CliRun r = run_cli({"eval", "sigmoid", "--from-output"}, input);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::int64_t n = static_cast<std::int64_t>(x.size());
  std::vector<float> y(x.size()), dy(x.size());
  actgrad::forward(act, actgrad::view(x.data(), n), actgrad::view(y.data(), n));
  actgrad::derivative_from_output(act, actgrad::view(y.data(), n), actgrad::view(dy.data(), n));
  const std::vector<std::string> df = column(r.out, 2);
  ASSERT_EQ(df.size(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    EXPECT_TRUE(same(Num<float>::read(df[i]), dy[i])) << "x = " << x[i] << ": " << df[i];
}

TEST(CliFromOutput, NotAvailableIsAnError) {
  // gelu's f' is not a function of y (SPEC §2); before gelu exists, any entry without one.
  std::string name;
  try {
    name = Activation::parse("gelu").name();
  } catch (const actgrad::Error&) {
    for (const actgrad::ActId id : actgrad::catalogue()) {
      const Activation a(id);
      if (!a.is_gated() && !a.has_derivative_from_output()) name = a.name();
    }
  }
  if (name.empty()) GTEST_SKIP() << "every unary entry has a derivative from its output";
  expect_usage_error(run_cli({"eval", name, "--from-output", "--range", "0:1:2"}),
                     {"--from-output", name}, name);
  if (const Activation* g = first_gated())
    expect_usage_error(run_cli({"eval", g->to_string(), "--from-output", "--range", "0:1:2"}),
                       {"--from-output", g->name()}, "gated");
}

// ---------------------------------------------------------------------------------------------
// Bad input: exit 2, one line on stderr naming the argument and what is allowed, empty stdout

TEST(CliBadInput, UnknownActivationListsCloseNames) {
  expect_usage_error(run_cli({"eval", "sigmod", "--range", "0:1:2"}), {"sigmod", "sigmoid"},
                     "misspelt");
}

TEST(CliBadInput, UnknownParameter) {
  expect_usage_error(run_cli({"eval", "sigmoid:foo=1", "--range", "0:1:2"}), {"foo"},
                     "unknown parameter");
}

TEST(CliBadInput, ParameterOutOfRangeOrNotANumber) {
  // Any entry with a bounded parameter, so the test follows the catalogue.
  for (const actgrad::ActId id : actgrad::catalogue()) {
    const actgrad::ActInfo& info = actgrad::catalogue_info(id);
    for (int p = 0; p < info.num_params; ++p) {
      const actgrad::ParamSpec& spec = info.params[p];
      const std::string base = std::string(info.name) + ":" + spec.name + "=";
      expect_usage_error(run_cli({"eval", base + "abc", "--range", "0:1:2"}), {spec.name, "abc"},
                         base + "abc");
      if (std::isfinite(spec.min)) {
        // One below the bound, or the bound itself where it is excluded.
        const double outside = spec.min_open ? spec.min : spec.min - 1;
        std::ostringstream v;
        v.precision(17);
        v << outside;
        expect_usage_error(run_cli({"eval", base + v.str(), "--range", "0:1:2"}), {spec.name},
                           base + v.str());
        return;
      }
    }
  }
  GTEST_SKIP() << "no catalogue entry has a parameter with a finite lower bound";
}

TEST(CliBadInput, MalformedLineReportsItsNumber) {
  expect_usage_error(run_cli({"eval", "relu"}, "1\n2\nfoo\n4\n"), {"line 3", "'foo'"}, "word");
  expect_usage_error(run_cli({"eval", "relu"}, "1.5.2\n"), {"line 1", "1.5.2"}, "two points");
  expect_usage_error(run_cli({"eval", "relu"}, "1\n\n2 3\n"), {"line 3", "2 3"}, "two numbers");
  expect_usage_error(run_cli({"eval", "relu"}, "0x\n"), {"line 1"}, "bare 0x");
  expect_usage_error(run_cli({"eval", "relu", "--dtype", "f16"}, "1e\n"), {"line 1"}, "f16 path");
  // The error comes before any output even when the bad line is the last of many.
  std::string input;
  for (int i = 0; i < 5000; ++i) input += "1\n";
  expect_usage_error(run_cli({"eval", "relu"}, input + "oops\n"), {"line 5001", "oops"},
                     "late line");
}

TEST(CliBadInput, BadRange) {
  for (const char* bad : {"1:2", "1:2:3:4", "a:b:3", "1:2:0", "1:2:-1", "1:2:3.5", "1:inf:3",
                          "nan:1:3", "1:2:", ":2:3", "1:2:99999999999999999999"})
    expect_usage_error(run_cli({"eval", "relu", "--range", bad}), {"--range", "A:B:N"}, bad);
}

TEST(CliBadInput, BadDtypeAndDevice) {
  expect_usage_error(run_cli({"eval", "relu", "--dtype", "f128", "--range", "0:1:2"}),
                     {"--dtype", "f128", "f32", "bf16"}, "dtype");
  expect_usage_error(run_cli({"eval", "relu", "--device", "gpu", "--range", "0:1:2"}),
                     {"--device", "gpu", "cpu", "cuda"}, "device");
}

TEST(CliBadInput, CudaWithoutAGpu) {
  if (actgrad::Device::cuda_available()) GTEST_SKIP() << "a CUDA device is usable here";
  expect_usage_error(run_cli({"eval", "relu", "--device", "cuda", "--range", "0:1:2"}),
                     {"--device cuda", "cpu"}, "cuda");
}

TEST(CliBadInput, SubcommandsAndArguments) {
  expect_usage_error(run_cli({"frobnicate"}), {"frobnicate", "list", "eval"}, "unknown subcommand");
  expect_usage_error(run_cli({}), {"subcommand", "list", "eval"}, "no subcommand");
  expect_usage_error(run_cli({"eval"}), {"ACT", "actgrad list"}, "missing activation");
  expect_usage_error(run_cli({"eval", "relu", "extra"}), {"extra"}, "extra positional");
  expect_usage_error(run_cli({"list", "--format", "xml"}), {"--format", "xml", "json"}, "format");
  expect_usage_error(run_cli({"list", "--bogus"}), {"--bogus"}, "unknown option");
}

// ---------------------------------------------------------------------------------------------
// Devices, help

TEST(CliDevice, AutoSaysWhichOnlyWhenAsked) {
  const CliRun quiet = run_cli({"eval", "relu", "--range", "0:1:2"});
  ASSERT_EQ(quiet.status, 0);
  EXPECT_EQ(quiet.err, "");
  const CliRun loud = run_cli({"eval", "relu", "--range", "0:1:2", "-v"});
  ASSERT_EQ(loud.status, 0) << loud.err;
  EXPECT_TRUE(contains(loud.err, "auto")) << loud.err;
  EXPECT_TRUE(contains(loud.err, actgrad::Device::automatic().describe())) << loud.err;
  EXPECT_EQ(loud.out, quiet.out);
  const CliRun cpu = run_cli({"eval", "relu", "--range", "0:1:2", "--device", "cpu"});
  EXPECT_EQ(cpu.status, 0);
  EXPECT_EQ(cpu.out, quiet.out);
}

TEST(CliHelp, EverySubcommand) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                               {"list", "--help"},
                                               {"eval", "--help"},
                                               {"eval", "-h"}}) {
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.status, 0) << join(args, " ");
    EXPECT_TRUE(contains(r.out, "Usage")) << r.out;
    EXPECT_EQ(r.err, "");
  }
}

// ---------------------------------------------------------------------------------------------
// list

// Splits one RFC 4180 CSV line (quoted fields may hold commas and doubled quotes).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

TEST(CliList, Table) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"}, {"list", "--format", "table"}}) {
    const CliRun r = run_cli(args);
    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<std::string> rows = lines(r.out);
    ASSERT_EQ(rows.size(), std::size_t(actgrad::catalogue_size()) + 1);
    for (std::size_t i = 0; i < actgrad::catalogue().size(); ++i) {
      const std::string name = actgrad::catalogue_info(actgrad::catalogue()[i]).name;
      EXPECT_EQ(rows[i + 1].substr(0, name.size() + 1), name + " ") << rows[i + 1];
    }
  }
}

TEST(CliList, Csv) {
  const CliRun r = run_cli({"list", "--format", "csv"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines(r.out);
  ASSERT_EQ(rows.size(), std::size_t(actgrad::catalogue_size()) + 1);
  const std::vector<std::string> header = csv_fields(rows[0]);
  ASSERT_GE(header.size(), 12u);
  EXPECT_EQ(header[0], "name");
  for (std::size_t i = 0; i < actgrad::catalogue().size(); ++i) {
    const actgrad::ActInfo& info = actgrad::catalogue_info(actgrad::catalogue()[i]);
    const std::vector<std::string> f = csv_fields(rows[i + 1]);
    ASSERT_EQ(f.size(), header.size()) << rows[i + 1];
    EXPECT_EQ(f[0], info.name);
    for (int p = 0; p < info.num_params; ++p)
      EXPECT_TRUE(contains(rows[i + 1], info.params[p].name)) << rows[i + 1];
  }
}

TEST(CliList, Json) {
  const CliRun r = run_cli({"list", "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  ASSERT_TRUE(doc.is_array());
  ASSERT_EQ(doc.size(), std::size_t(actgrad::catalogue_size()));
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const actgrad::ActInfo& info = actgrad::catalogue_info(actgrad::catalogue()[i]);
    const nlohmann::json& e = doc[i];
    EXPECT_EQ(e.at("name"), info.name);
    EXPECT_EQ(e.at("kind"), info.kind == actgrad::Kind::gated ? "gated" : "unary");
    EXPECT_EQ(e.at("from_output"), info.from_output);
    EXPECT_EQ(e.at("monotonic"), info.traits.monotonic);
    EXPECT_EQ(e.at("saturation_left"), actgrad::saturation_name(info.traits.left));
    ASSERT_EQ(e.at("parameters").size(), std::size_t(info.num_params));
    for (int p = 0; p < info.num_params; ++p) {
      EXPECT_EQ(e["parameters"][p].at("name"), info.params[p].name);
      if (std::isfinite(info.params[p].default_value)) {
        EXPECT_EQ(e["parameters"][p].at("default").get<double>(), info.params[p].default_value);
      }
    }
    if (std::isfinite(info.traits.d_at_zero)) {
      EXPECT_EQ(e.at("df_at_0").get<double>(), info.traits.d_at_zero);
    }
  }
}

} // namespace

// ---------------------------------------------------------------------------------------------
// actgrad bench (issue 3): per activation and op, time, GB/s and % of a same-run copy.

TEST(CliBench, JsonHasEveryActivationAndOpWithPositiveRates) {
  const CliRun r = run_cli({"bench", "relu", "glu", "leaky_relu:negative_slope=0.2", "--device",
                            "cpu", "--size", "65536", "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["size"], 65536);
  EXPECT_EQ(doc["dtype"], "f32");
  EXPECT_TRUE(contains(doc["device"].get<std::string>(), "cpu")) << doc["device"];
  EXPECT_GT(doc["copy_gbps"].get<double>(), 0.0);
  ASSERT_EQ(doc["results"].size(), 6u);
  const char* names[] = {"relu", "glu", "leaky_relu:negative_slope=0.2"};
  for (std::size_t i = 0; i < 6; ++i) {
    const nlohmann::json& e = doc["results"][i];
    EXPECT_EQ(e["activation"], names[i / 2]);
    EXPECT_EQ(e["op"], i % 2 == 0 ? "fused" : "backward");
    EXPECT_GT(e["ms"].get<double>(), 0.0);
    EXPECT_GT(e["gbps"].get<double>(), 0.0);
    // fraction_of_copy is gbps over the copy's rate, by definition.
    EXPECT_NEAR(e["fraction_of_copy"].get<double>(),
                e["gbps"].get<double>() / doc["copy_gbps"].get<double>(), 1e-9);
  }
}

TEST(CliBench, TableNamesTheMachineAndTheCopy) {
  const CliRun r =
      run_cli({"bench", "sigmoid", "--device", "cpu", "--dtype", "bf16", "--size", "4096"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "# actgrad bench on cpu (")) << r.out;
  EXPECT_TRUE(contains(r.out, "bf16, n = 4096 elements")) << r.out;
  EXPECT_TRUE(contains(r.out, "# copy: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "activation")) << r.out;
  // One row per op: the name padded to the widest (at least "activation"), then the op.
  EXPECT_TRUE(contains(r.out, "\nsigmoid     fused ")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nsigmoid     backward ")) << r.out;
}

TEST(CliBench, BadArguments) {
  expect_usage_error(run_cli({"bench", "nosuch", "--device", "cpu"}), {"nosuch"},
                     "unknown activation");
  expect_usage_error(run_cli({"bench", "relu", "--size", "0"}), {"--size"}, "size 0");
  expect_usage_error(run_cli({"bench", "relu", "--dtype", "f8"}), {"--dtype", "f32"}, "dtype");
  expect_usage_error(run_cli({"bench", "relu", "--format", "xml"}), {"--format"}, "format");
  if (!actgrad::Device::cuda_available())
    expect_usage_error(run_cli({"bench", "relu", "--device", "cuda"}), {"--device cuda"}, "no GPU");
}
