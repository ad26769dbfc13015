// Correctly rounded number parsing per dtype and shortest round-trip printing for the CLI.
#include "number_format.hpp"

#include <cfenv>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace actgrad::cli {
namespace {

// strtod/strtof need a NUL-terminated string; numbers are short, so copy onto the stack when
// they fit and onto the heap otherwise.
class CString {
public:
  explicit CString(std::string_view text) {
    if (text.size() < sizeof small_) {
      std::memcpy(small_, text.data(), text.size());
      small_[text.size()] = '\0';
      ptr_ = small_;
    } else {
      big_.assign(text);
      ptr_ = big_.c_str();
    }
    size_ = text.size();
  }
  const char* c_str() const { return ptr_; }
  std::size_t size() const { return size_; }

private:
  char small_[64];
  std::string big_;
  const char* ptr_;
  std::size_t size_;
};

// Whether strtod/strtof may be applied: non-empty and not starting with the white space they
// would silently skip (callers trim lines themselves; inner white space is an error).
bool plausible(std::string_view text) {
  return !text.empty() && !std::isspace(static_cast<unsigned char>(text.front()));
}

template <class F>
bool parse_full(std::string_view text, F&& convert) {
  if (!plausible(text)) return false;
  const CString s(text);
  char* end = nullptr;
  convert(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// Fast path for plain decimals: std::from_chars rounds correctly like strtod (so both give the
// same value) but is several times faster. It rejects a leading '+', hex-floats and results that
// overflow or underflow, which then go to strtod/strtof.
template <class T>
bool from_chars_full(std::string_view text, T& out) {
  T v{};
  const std::from_chars_result r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || text.empty()) return false;
  out = v;
  return true;
}

// Round to odd into float: the exact value itself when representable, else whichever of its two
// float neighbours has an odd last significand bit. Rounding that result to nearest even into
// f16 (11 bits) or bf16 (8 bits) equals rounding the exact value directly, because float keeps
// at least two more bits than either (Boldo & Melquiond 2008, "Emulation of FMA and correctly
// rounded sums: proved algorithms using rounding to odd").
float round_to_odd_float(double v) {
  const float f = static_cast<float>(v);
  if (std::isnan(v) || static_cast<double>(f) == v) return f;
  if (detail::float_bits(f) & 1u) return f;
  const float toward = v > static_cast<double>(f) ? std::numeric_limits<float>::infinity()
                                                  : -std::numeric_limits<float>::infinity();
  return std::nextafter(f, toward);
}

// Round to odd from text: glibc's strtof honours the rounding mode, so the downward and upward
// readings are the two float neighbours of the exact decimal value (equal when it is exact).
float read_round_to_odd_float(const char* s) {
  const int mode = std::fegetround();
  std::fesetround(FE_DOWNWARD);
  const float lo = std::strtof(s, nullptr);
  std::fesetround(FE_UPWARD);
  const float hi = std::strtof(s, nullptr);
  std::fesetround(mode);
  if (!(lo < hi)) return lo; // exact, infinite, or NaN
  return (detail::float_bits(lo) & 1u) ? lo : hi;
}

template <class S, class Narrow>
bool parse_narrow(std::string_view text, S& out, Narrow narrow) {
  // Fast path: read a double (rounded to nearest), then round it once into S. Rounding twice
  // can go wrong only where the double landed exactly on a half-way point of S while the text
  // lies beside it; nudging by one float ulp either way then changes the result. That test
  // also flags values next to such points and zeros; those few take the exact path below.
  constexpr float kInf = std::numeric_limits<float>::infinity();
  double wide = 0;
  if (from_chars_full(text, wide)) {
    const float f = round_to_odd_float(wide);
    if (std::isnan(f) ||
        narrow(std::nextafter(f, -kInf)).bits == narrow(std::nextafter(f, kInf)).bits) {
      out = narrow(f);
      return true;
    }
  }
  if (!plausible(text)) return false;
  const CString s(text);
  char* end = nullptr;
  std::strtof(s.c_str(), &end); // syntax check only; the value is read with directed rounding
  if (end != s.c_str() + s.size()) return false;
  out = narrow(read_round_to_odd_float(s.c_str()));
  return true;
}

// Writes the special values and zeros every dtype prints the same way; false for other values.
bool append_special(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "nan";
  } else if (std::isinf(v)) {
    out += v > 0 ? "inf" : "-inf";
  } else if (v == 0) {
    out += std::signbit(v) ? "-0" : "0";
  } else {
    return false;
  }
  return true;
}

// A decimal d1.d2d3...dp x 10^exp10 with p significant digits (no trailing zeros).
struct Decimal {
  bool negative = false;
  std::string digits;
  int exp10 = 0;
};

// Reads the digits and exponent of std::to_chars' scientific text "-d.ddde+XX".
Decimal decimal_from_scientific(std::string_view sci) {
  Decimal d;
  d.negative = sci.front() == '-';
  const std::size_t e = sci.find('e');
  for (std::size_t i = 0; i < e; ++i)
    if (sci[i] >= '0' && sci[i] <= '9') d.digits += sci[i];
  d.exp10 = std::atoi(std::string(sci.substr(e + 1)).c_str());
  while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
  return d;
}

// Lays the digits out in fixed or scientific notation, whichever is shorter, fixed on a tie
// (std::to_chars' rule). Fixed notation pads integers with zeros (1e+02 is written 100), which
// are placeholders, never extra significant digits: the digits stay the shortest.
void append_decimal(std::string& out, const Decimal& d) {
  const int p = static_cast<int>(d.digits.size());
  const int int_digits = d.exp10 + 1; // digits before the decimal point in fixed notation
  std::string fixed;
  if (int_digits <= 0)
    fixed = "0." + std::string(static_cast<std::size_t>(-int_digits), '0') + d.digits;
  else if (int_digits < p)
    fixed = d.digits.substr(0, static_cast<std::size_t>(int_digits)) + "." +
            d.digits.substr(static_cast<std::size_t>(int_digits));
  else
    fixed = d.digits + std::string(static_cast<std::size_t>(int_digits - p), '0');
  // Scientific: the exponent has a sign and at least two digits, as printf's %e writes it.
  std::string sci = d.digits.substr(0, 1);
  if (p > 1) sci += "." + d.digits.substr(1);
  const int mag = d.exp10 < 0 ? -d.exp10 : d.exp10;
  sci += std::string(d.exp10 < 0 ? "e-" : "e+") + (mag < 10 ? "0" : "") + std::to_string(mag);
  if (d.negative) out += '-';
  out += fixed.size() <= sci.size() ? fixed : sci;
}

// Shortest digits of a float or double for a correct reader of its own type (Ryu, in libstdc++).
template <class T>
Decimal shortest_decimal(T v) {
  char buf[64];
  const std::to_chars_result r =
      std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return decimal_from_scientific(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

// Digits enough for any double to round-trip: ceil(1 + 53 log10(2)) = 17.
constexpr int kMaxDigits = 17;

// Fewest significant digits whose text satisfies reads_back(text). At each digit count the
// nearest decimal and its two neighbours are tried: next to a power of two the round-trip
// interval is lopsided, and the nearest may fall outside it while a neighbour on the wider side
// is inside. Of those that read back, the one nearest v wins.
template <class ReadsBack>
Decimal shortest_decimal_for(double v, ReadsBack&& reads_back) {
  char buf[64];
  for (int digits = 1; digits <= kMaxDigits; ++digits) {
    const std::to_chars_result r =
        std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific, digits - 1);
    const Decimal nearest =
        decimal_from_scientific(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    // nearest as an integer mantissa m (exactly `digits` digits) times 10^(exp10 - digits + 1).
    std::int64_t mantissa = std::stoll(nearest.digits);
    for (int k = static_cast<int>(nearest.digits.size()); k < digits; ++k) mantissa *= 10;
    const int scale = nearest.exp10 - (digits - 1);
    bool found = false;
    Decimal best;
    double best_dist = std::numeric_limits<double>::infinity();
    for (const std::int64_t delta : {0, -1, 1}) {
      const std::int64_t m = mantissa + delta;
      if (m <= 0) continue;
      const std::string text = (v < 0 ? "-" : "") + std::to_string(m) + "e" + std::to_string(scale);
      if (!reads_back(text.c_str())) continue;
      const double dist = std::fabs(std::strtod(text.c_str(), nullptr) - v);
      if (dist >= best_dist) continue;
      best_dist = dist;
      found = true;
      best.negative = v < 0;
      best.digits = std::to_string(m);
      best.exp10 = scale + static_cast<int>(best.digits.size()) - 1;
      while (best.digits.size() > 1 && best.digits.back() == '0') best.digits.pop_back();
    }
    if (found) return best;
  }
  return shortest_decimal(v);
}

// Shortest text of a 16-bit value: at most 65 536 distinct strings, so each is computed once.
template <class S, class Narrow>
void append_16(std::string& out, S v, Narrow narrow) {
  const float f = to_float(v);
  if (append_special(out, f)) return;
  static std::vector<std::string> cache(std::size_t(1) << 16);
  std::string& text = cache[v.bits];
  if (text.empty()) {
    append_decimal(text, shortest_decimal_for(f, [&](const char* s) {
                     S correctly_rounded{};
                     parse_value(s, correctly_rounded);
                     return narrow(std::strtof(s, nullptr)).bits == v.bits &&
                            correctly_rounded.bits == v.bits;
                   }));
  }
  out += text;
}

} // namespace

bool parse_double(std::string_view text, double& out) {
  if (from_chars_full(text, out)) return true;
  return parse_full(text, [&](const char* s, char** end) { out = std::strtod(s, end); });
}
bool parse_value(std::string_view text, double& out) { return parse_double(text, out); }
bool parse_value(std::string_view text, float& out) {
  if (from_chars_full(text, out)) return true;
  return parse_full(text, [&](const char* s, char** end) { out = std::strtof(s, end); });
}
bool parse_value(std::string_view text, half_t& out) {
  return parse_narrow(text, out, [](float f) { return to_half(f); });
}
bool parse_value(std::string_view text, bfloat16_t& out) {
  return parse_narrow(text, out, [](float f) { return to_bfloat16(f); });
}

template <>
float round_from_double<float>(double v) {
  return static_cast<float>(v);
}
template <>
double round_from_double<double>(double v) {
  return v;
}
template <>
half_t round_from_double<half_t>(double v) {
  return to_half(round_to_odd_float(v));
}
template <>
bfloat16_t round_from_double<bfloat16_t>(double v) {
  return to_bfloat16(round_to_odd_float(v));
}

void append_number(std::string& out, double v) {
  if (!append_special(out, v)) append_decimal(out, shortest_decimal(v));
}

void append_number(std::string& out, float v) {
  if (append_special(out, v)) return;
  Decimal d = shortest_decimal(v);
  // These digits read back through a correct float reader. A reader that goes through double
  // first (strtod, then narrow) rounds twice and can differ next to a float half-way point;
  // such rare values get the digit search that satisfies both.
  const std::string text = (d.negative ? "-" : "") + d.digits + "e" +
                           std::to_string(d.exp10 - static_cast<int>(d.digits.size()) + 1);
  double wide = 0;
  if (!from_chars_full(text, wide) || static_cast<float>(wide) != v)
    d = shortest_decimal_for(v, [&](const char* s) {
      return std::strtof(s, nullptr) == v && static_cast<float>(std::strtod(s, nullptr)) == v;
    });
  append_decimal(out, d);
}

void append_number(std::string& out, half_t v) {
  append_16(out, v, [](float f) { return to_half(f); });
}
void append_number(std::string& out, bfloat16_t v) {
  append_16(out, v, [](float f) { return to_bfloat16(f); });
}

std::string format_double(double v) {
  std::string s;
  append_number(s, v);
  return s;
}

} // namespace actgrad::cli
