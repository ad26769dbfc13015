// Accuracy of every catalogue activation x dtype against the MPFR reference (SPEC §3 goals), and
// checks of the reference itself (coverage of the catalogue, rounding, stability, derivatives).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "actgrad/activation.hpp"
#include "reference.hpp"

namespace actgrad {
namespace {

using ref::test_name;
std::vector<std::string> specs() { return ref::catalogue_specs(); }

const DType kDtypes[] = {DType::f16, DType::bf16, DType::f32, DType::f64};

std::string describe(const ref::Measurement& m, int slot, const ref::Bound& b) {
  const ref::OutStats& s = m.out[slot];
  std::ostringstream os;
  os << m.act << " " << dtype_name(m.dtype) << " " << ref::out_name(m.gated, slot) << ": "
     << s.failures << " of " << m.points << " inputs exceed " << b.max_ulp << " ulp (" << b.reason
     << "); max " << s.max_ulp << " ulp at x = " << ref::hex(s.worst_x);
  if (m.gated) os << ", b = " << ref::hex(s.worst_b);
  for (const ref::Failure& f : s.first) {
    os << "\n  x = " << ref::hex(f.x);
    if (m.gated) os << ", b = " << ref::hex(f.b);
    os << ": got " << ref::hex(f.got) << ", expected " << ref::hex(f.expected) << ", " << f.ulps
       << " ulp";
  }
  return os.str();
}

// --- The accuracy goals --------------------------------------------------------------------

class Accuracy : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(Accuracy, WithinBound) {
  const std::string& spec = std::get<0>(GetParam());
  const DType t = std::get<1>(GetParam());
  const Activation act = Activation::parse(spec);
  const ref::Measurement m = ref::measure(act, t, ref::quick_mode());
  ASSERT_GT(m.points, 0);
  for (int slot = 0; slot < 4; ++slot) {
    if (slot == int(ref::Out::db) && !m.gated) continue;
    const ref::Bound b = ref::bound_for(act, t, slot);
    EXPECT_EQ(m.out[slot].failures, 0) << describe(m, slot, b);
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, Accuracy,
                         ::testing::Combine(::testing::ValuesIn(specs()),
                                            ::testing::ValuesIn(kDtypes)),
                         [](const ::testing::TestParamInfo<Accuracy::ParamType>& info) {
                           return test_name(std::get<0>(info.param)) + "_" +
                                  dtype_name(std::get<1>(info.param));
                         });

// --- The reference itself ------------------------------------------------------------------

// Every catalogue entry has a reference with the same parameter names and SPEC defaults.
TEST(Reference, CoversCatalogue) {
  for (ActId id : catalogue()) {
    const ActInfo& info = catalogue_info(id);
    EXPECT_NO_THROW(ref::Reference{Activation(id)}) << info.name;
    const auto params = ref::reference_params(info.name);
    for (int i = 0; i < info.num_params; ++i) {
      for (const auto& p : params) {
        if (p.first == info.params[i].name) {
          EXPECT_EQ(info.params[i].default_value, p.second)
              << info.name << ": default of '" << p.first << "' differs from SPEC §2";
        }
      }
    }
  }
}

// Every activation of SPEC §2 (the reference table) is in the catalogue.
TEST(Reference, CatalogueHasEverySpecActivation) {
  std::string missing;
  for (const std::string& name : ref::reference_names()) {
    try {
      Activation::parse(name);
    } catch (const std::exception&) {
      missing += " " + name;
    }
  }
  EXPECT_TRUE(missing.empty()) << "not in the catalogue:" << missing;
}

// Rounding into 16-bit formats on ties, subnormals and overflow, checked against values worked
// out by hand from the IEEE / bfloat16 definitions.
TEST(Reference, RoundsToNearestEvenInto16Bit) {
  struct Case {
    const char* text;
    double f16, bf16;
  };
  const double inf = INFINITY;
  const Case cases[] = {
      {"65504", 65504, 65536},              // f16 max; bf16 rounds to 2^16 (8 bits)
      {"65519.999", 65504, 65536},          // below the f16 overflow tie
      {"65520", inf, 65536},                // f16 tie max / 2^16: even is 2^16 -> inf
      {"0x1p-25", 0, 0x1p-25},              // f16 tie 0 / 2^-24: even is 0
      {"0x1.000001p-25", 0x1p-24, 0x1p-25}, // just above the tie
      {"0x3p-25", 0x1p-23, 0x3p-25},        // f16 tie 2^-24 (odd) / 2^-23 (even)
      {"0x1.01p0", 0x1.01p0, 1},            // bf16 tie 1 / 1+2^-7: even is 1
      {"0x1.03p0", 0x1.03p0, 0x1.04p0},     // bf16 tie 1+2^-7 (odd) / 1+2^-6 (even)
      {"0x1p-134", 0, 0},                   // bf16 subnormal tie 0 / 2^-133
      {"0x1.8p-134", 0, 0x1p-133},          // above it
      {"0x1.ffp127", inf, inf},             // bf16 tie max / 2^128: even is 2^128 -> inf
      {"0x1.fe8p127", inf, 0x1.fep127},     // below that tie: bf16 max
      {"-0x1.fe8p127", -inf, -0x1.fep127},
  };
  for (const Case& c : cases) {
    const ref::Rounded r = ref::round_text(c.text);
    EXPECT_EQ(to_float(r.f16), c.f16) << c.text;
    EXPECT_EQ(to_float(r.bf16), c.bf16) << c.text;
  }
}

// f64 and f32 rounding agree with glibc's correctly rounded strtod/strtof on random decimals
// (subnormal and overflow ranges included), and the 16-bit roundings of exact floats agree with
// the library's single-rounding to_half/to_bfloat16.
TEST(Reference, RoundingAgreesWithStrtodAndStorageConversions) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> digit(0, 9), exp10(-330, 310);
  for (int i = 0; i < 2000; ++i) {
    std::string s = std::to_string(digit(rng)) + ".";
    for (int k = 0; k < 24; ++k) s += char('0' + digit(rng));
    s += "e" + std::to_string(i % 2 ? exp10(rng) : exp10(rng) / 8);
    const ref::Rounded r = ref::round_text(s.c_str());
    EXPECT_EQ(r.f64, std::strtod(s.c_str(), nullptr)) << s;
    EXPECT_EQ(r.f32, std::strtof(s.c_str(), nullptr)) << s;
  }
  for (int i = 0; i < 20000; ++i) {
    const float f = detail::bits_float(static_cast<std::uint32_t>(rng()) & 0x7f7fffffu);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%a", double(f));
    const ref::Rounded r = ref::round_text(buf);
    EXPECT_EQ(r.f16.bits, to_half(f).bits) << buf;
    EXPECT_EQ(r.bf16.bits, to_bfloat16(f).bits) << buf;
  }
}

TEST(Reference, NormalCdfAgreesWithMpfrErfc) { EXPECT_EQ(ref::self_check(), ""); }

// Points of the f32 and f64 samples at which the reference is checked against itself.
std::vector<double> check_points(const ref::Reference& r, std::size_t n) {
  std::vector<double> xs;
  for (DType t : {DType::f32, DType::f64}) {
    const std::vector<double> s = ref::sample(t, r, true);
    const std::size_t step = std::max<std::size_t>(1, s.size() / n);
    for (std::size_t i = 0; i < s.size(); i += step) xs.push_back(s[i]);
    for (double v : ref::special_values(t)) xs.push_back(v);
  }
  return xs;
}

class ReferenceOf : public ::testing::TestWithParam<std::string> {};

// 96 more bits of working precision change no rounded result: the formulas lose no more than
// the margin kBasePrecision leaves (cancellation is rewritten away or carried as precision).
TEST_P(ReferenceOf, StableUnderMorePrecision) {
  const ref::Reference r(Activation::parse(GetParam()));
  constexpr int kExtraBits = 96;
  constexpr std::size_t kPoints = 600;
  int reported = 0;
  for (double x : check_points(r, kPoints)) {
    const double b = r.gated() ? r.b_for(x) : 0;
    const ref::RefValue v0 = r.gated() ? r.eval(x, b) : r.eval(x);
    const ref::RefValue v1 = r.gated() ? r.eval(x, b, kExtraBits) : r.eval(x, kExtraBits);
    for (int k = 0; k < v0.count; ++k)
      for (DType t : kDtypes) {
        const double a0 = v0.out[k].in(t), a1 = v1.out[k].in(t);
        // A midpoint the reference marked unresolved may round either way.
        const double allowed = (v0.out[k].either >> int(t)) & 1u;
        if (ref::ulp_distance(t, a0, a1) > allowed && reported++ < 8)
          ADD_FAILURE() << GetParam() << " output " << k << " " << dtype_name(t)
                        << " at x = " << ref::hex(x) << ": " << ref::hex(a0) << " vs "
                        << ref::hex(a1) << " with " << kExtraBits << " more bits";
      }
  }
}

// The reference's f' (d/da, d/db) matches a central difference of its own f in double, away
// from kinks: the analytic derivatives in the table are checked independently of the library.
TEST_P(ReferenceOf, DerivativeMatchesDifferenceQuotient) {
  const ref::Reference r(Activation::parse(GetParam()));
  const std::vector<double> kinks = r.kinks();
  // h = 2^-20 |x|-relative: truncation h^2 |f'''| / 6 ~ 2^-42 and rounding 2^-53 |f| / h ~ 2^-33
  // relative to the terms, far inside the 2^-24 tolerance.
  constexpr double kH = 0x1p-20, kTol = 0x1p-24;
  for (int i = -200; i <= 200; ++i) {
    const double x = i * 0.05 + 0.0123; // off the kinks' usual grid points
    const double h = kH * std::max(1.0, std::fabs(x));
    bool near_kink = false;
    for (double k : kinks) near_kink |= std::fabs(x - k) < 4 * h;
    if (near_kink) continue;
    const double b = r.gated() ? r.b_for(x) : 0;
    const auto f = [&](double xa, double xb) {
      return r.gated() ? r.eval(xa, xb).out[0].f64 : r.eval(xa).out[0].f64;
    };
    const ref::RefValue v = r.gated() ? r.eval(x, b) : r.eval(x);
    if (std::isnan(v.out[0].f64) || std::isnan(f(x - h, b)) || std::isnan(f(x + h, b))) continue;
    const double fd = (f(x + h, b) - f(x - h, b)) / (2 * h);
    const double scale = std::max(
        {1.0, std::fabs(v.out[1].f64), std::fabs(v.out[0].f64) / std::max(1.0, std::fabs(x))});
    EXPECT_NEAR(fd, v.out[1].f64, kTol * scale) << GetParam() << " f' at x = " << ref::hex(x);
    if (r.gated()) {
      const double hb = kH * std::max(1.0, std::fabs(b));
      bool near_b_kink = false;
      for (double k : r.b_kinks()) near_b_kink |= std::fabs(b - k) < 4 * hb;
      if (near_b_kink) continue;
      const double fdb = (f(x, b + hb) - f(x, b - hb)) / (2 * hb);
      EXPECT_NEAR(fdb, v.out[2].f64, kTol * std::max(1.0, std::fabs(v.out[2].f64)))
          << GetParam() << " d/db at a = " << ref::hex(x) << ", b = " << ref::hex(b);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, ReferenceOf, ::testing::ValuesIn(specs()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return test_name(info.param);
                         });

} // namespace
} // namespace actgrad
