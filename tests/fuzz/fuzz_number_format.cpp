// Fuzz target: the CLI's number reader (parse_value, what `actgrad eval` reads from stdin and
// --range) in f32, f64, f16 and bf16. A text that reads must print (append_number) and read back
// to the same bits (any NaN for a NaN), and the printed text must also read back through strtod /
// strtof followed by rounding to nearest even (SPEC §5's round-trip rule); f32 and f64 readings
// must agree with strtof / strtod.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "actgrad/dtype.hpp"
#include "number_format.hpp"

namespace {

using actgrad::bfloat16_t;
using actgrad::half_t;

std::string_view g_input;

[[noreturn]] void fail(const char* dtype, const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_number_format (%s): %s\n  input: '%.*s'\n  %s\n", dtype, what,
               static_cast<int>(g_input.size()), g_input.data(), detail.c_str());
  std::abort();
}

std::uint64_t bits(float v) { return actgrad::detail::float_bits(v); }
std::uint64_t bits(double v) {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}
std::uint64_t bits(half_t v) { return v.bits; }
std::uint64_t bits(bfloat16_t v) { return v.bits; }

bool is_nan(float v) { return std::isnan(v); }
bool is_nan(double v) { return std::isnan(v); }
bool is_nan(half_t v) { return std::isnan(actgrad::to_float(v)); }
bool is_nan(bfloat16_t v) { return std::isnan(actgrad::to_float(v)); }

bool same(std::uint64_t a_bits, bool a_nan, std::uint64_t b_bits, bool b_nan) {
  return a_nan ? b_nan : a_bits == b_bits;
}

// The other reader SPEC §5 promises round trips through: strtod / strtof, then round to nearest
// even into the dtype.
float strtof_full(const std::string& s) { return std::strtof(s.c_str(), nullptr); }
double other_reader(const std::string& s, double) { return std::strtod(s.c_str(), nullptr); }
float other_reader(const std::string& s, float) { return strtof_full(s); }
half_t other_reader(const std::string& s, half_t) { return actgrad::to_half(strtof_full(s)); }
bfloat16_t other_reader(const std::string& s, bfloat16_t) {
  return actgrad::to_bfloat16(strtof_full(s));
}

template <class S>
void check(std::string_view text, const char* dtype) {
  S v{};
  if (!actgrad::cli::parse_value(text, v)) return;
  std::string printed;
  actgrad::cli::append_number(printed, v);
  const std::string detail = "read bits " + std::to_string(bits(v)) + ", printed '" + printed + "'";
  S back{};
  if (!actgrad::cli::parse_value(printed, back)) fail(dtype, "printed text does not read", detail);
  if (!same(bits(v), is_nan(v), bits(back), is_nan(back)))
    fail(dtype, "print-then-read changed the value",
         detail + ", read back bits " + std::to_string(bits(back)));
  const S other = other_reader(printed, S{});
  if (!same(bits(v), is_nan(v), bits(other), is_nan(other)))
    fail(dtype, "printed text does not round-trip through strtod/strtof then rounding",
         detail + ", that reader gives bits " + std::to_string(bits(other)));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  g_input = text;
  check<float>(text, "f32");
  check<double>(text, "f64");
  check<half_t>(text, "f16");
  check<bfloat16_t>(text, "bf16");

  // The f32 and f64 readers take a fast path (std::from_chars) before strtof / strtod; both must
  // give exactly what strtof / strtod give for the whole text.
  const std::string s(text);
  const bool has_nul = s.find('\0') != std::string::npos;
  double d = 0;
  if (actgrad::cli::parse_double(text, d)) {
    if (has_nul) fail("f64", "text with a NUL byte reads", "");
    char* end = nullptr;
    const double ref = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) fail("f64", "reads text that strtod does not take whole", "");
    if (!same(bits(d), std::isnan(d), bits(ref), std::isnan(ref)))
      fail("f64", "differs from strtod",
           std::to_string(bits(d)) + " vs " + std::to_string(bits(ref)));
  }
  float f = 0;
  if (actgrad::cli::parse_value(text, f)) {
    const float ref = std::strtof(s.c_str(), nullptr);
    if (!same(bits(f), std::isnan(f), bits(ref), std::isnan(ref)))
      fail("f32", "differs from strtof",
           std::to_string(bits(f)) + " vs " + std::to_string(bits(ref)));
  }
  return 0;
}
