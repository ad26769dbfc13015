// Numerics of every catalogue activation x dtype: f' against central differences, the derivative
// from the output against f', backward against g f', and special values against the reference.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "actgrad/activation.hpp"
#include "actgrad/api.hpp"
#include "reference.hpp"

namespace actgrad {
namespace {

using ref::hex;

const DType kDtypes[] = {DType::f16, DType::bf16, DType::f32, DType::f64};

// gtest names allow [A-Za-z0-9_] only.
std::string sanitize(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

// Catalogue entries (defaults), optionally with the reference's extra parameter sets; filtered.
template <class Keep>
std::vector<std::string> specs(bool variants, Keep keep) {
  std::vector<std::string> r;
  for (ActId id : catalogue()) {
    const std::string name = catalogue_info(id).name;
    std::vector<std::string> all = {name};
    if (variants)
      for (const std::string& v : ref::reference_variants(name)) all.push_back(name + ":" + v);
    for (const std::string& s : all)
      if (keep(Activation::parse(s))) r.push_back(s);
  }
  return r;
}
bool any(const Activation&) { return true; }
bool from_output(const Activation& a) { return !a.is_gated() && a.has_derivative_from_output(); }

// --- Host buffers of any dtype, values held as doubles at the API boundary -----------------

class Buf {
public:
  Buf(DType t, const std::vector<double>& v) : t_(t), bytes_(v.size() * dtype_size(t)) {
    for (std::size_t i = 0; i < v.size(); ++i) set(i, v[i]);
  }
  Buf(DType t, std::size_t n) : t_(t), bytes_(n * dtype_size(t)) {}
  TensorView view() {
    return {bytes_.data(), static_cast<std::int64_t>(bytes_.size() / dtype_size(t_)), t_,
            Device::cpu()};
  }
  double get(std::size_t i) const {
    const unsigned char* p = bytes_.data() + i * dtype_size(t_);
    switch (t_) {
    case DType::f64:
      return load<double>(p);
    case DType::f32:
      return load<float>(p);
    case DType::f16:
      return to_float(load<half_t>(p));
    case DType::bf16:
      return to_float(load<bfloat16_t>(p));
    }
    return 0;
  }
  std::vector<double> values() const {
    std::vector<double> r(bytes_.size() / dtype_size(t_));
    for (std::size_t i = 0; i < r.size(); ++i) r[i] = get(i);
    return r;
  }

private:
  template <class S>
  static S load(const unsigned char* p) {
    S s;
    std::memcpy(&s, p, sizeof s);
    return s;
  }
  template <class S>
  void store(std::size_t i, S s) {
    std::memcpy(bytes_.data() + i * sizeof s, &s, sizeof s);
  }
  // v must be representable in the dtype (callers round first).
  void set(std::size_t i, double v) {
    switch (t_) {
    case DType::f64:
      store(i, v);
      break;
    case DType::f32:
      store(i, static_cast<float>(v));
      break;
    case DType::f16:
      store(i, to_half(static_cast<float>(v)));
      break;
    case DType::bf16:
      store(i, to_bfloat16(static_cast<float>(v)));
      break;
    }
  }
  DType t_;
  std::vector<unsigned char> bytes_;
};

// Gradient values exact in every dtype, both signs, zero included.
double grad_for(std::size_t i) {
  static const double kG[] = {1.0, -0.5, 3.0, 0.0, -1.25, 0.0078125, 96.0, -2.0};
  return kG[i % (sizeof kG / sizeof kG[0])];
}

std::string where(const std::string& act, DType t) { return act + " " + dtype_name(t); }

// --- f' against central differences ------------------------------------------------------

// The analytic derivative against (f(x + h) - f(x - h)) / 2h in f64, away from kinks and outside
// the domain: an f' that agrees with the reference only because both are wrong in the same
// way cannot pass this, since it uses the library's f alone.
class FiniteDifference : public ::testing::TestWithParam<std::string> {};

TEST_P(FiniteDifference, DerivativeMatchesCentralDifference) {
  const Activation act = Activation::parse(GetParam());
  const ref::Reference r(act);
  const std::vector<double> kinks = r.kinks();
  // h = cbrt(eps) max(1, |x|) balances truncation h^2 f'''/6 against rounding eps f / h: both
  // ~ 4e-11 of the scale below, far inside kTol.
  const double kCbrtEps = std::cbrt(std::numeric_limits<double>::epsilon());
  constexpr double kTol = 1e-6;
  std::vector<double> xs;
  for (int i = -320; i <= 320; ++i) xs.push_back(i * 0.0375 + 0.001); // [-12, 12], off the grid
  for (int i = -30; i <= 30; ++i)
    for (double s : {1.0, -1.0}) xs.push_back(s * std::pow(10.0, i / 5.0)); // 1e-6 .. 1e6
  std::vector<double> pts, bs;
  for (double x : xs) {
    bool near_kink = false;
    for (double k : kinks)
      near_kink |= std::fabs(x - k) < 8 * kCbrtEps * std::max(1.0, std::fabs(x));
    if (near_kink) continue;
    pts.push_back(x);
    bs.push_back(r.gated() ? r.b_for(x) : 0.0);
  }
  const std::size_t n = pts.size();
  Buf x(DType::f64, pts), b(DType::f64, bs);
  Buf y(DType::f64, n), d(DType::f64, n), db(DType::f64, n);
  if (act.is_gated())
    gated_forward_with_derivative(act, x.view(), b.view(), y.view(), d.view(), db.view());
  else
    forward_with_derivative(act, x.view(), y.view(), d.view());

  // Central differences in `arg` (0: x or a, 1: b) with step h and h/2. Where truncation
  // dominates, D(h) - f' ~ C h^2 is three times D(h) - D(h/2) while D(h/2) - f' ~ C h^2/4, so
  // |D(h/2) - f'| <= kTol scale + |D(h) - D(h/2)| holds for a right f' and fails for a wrong one
  // wherever the differences are stable.
  const auto central = [&](int arg, double frac, std::vector<double>* step) {
    std::vector<double> lo_a = pts, hi_a = pts, lo_b = bs, hi_b = bs;
    step->assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const double c = arg == 0 ? pts[i] : bs[i];
      const double h = frac * kCbrtEps * std::max(1.0, std::fabs(c));
      (*step)[i] = h;
      (arg == 0 ? lo_a : lo_b)[i] = c - h;
      (arg == 0 ? hi_a : hi_b)[i] = c + h;
    }
    Buf la(DType::f64, lo_a), ha(DType::f64, hi_a), lb(DType::f64, lo_b), hb(DType::f64, hi_b);
    Buf yl(DType::f64, n), yh(DType::f64, n);
    if (act.is_gated()) {
      gated_forward(act, la.view(), lb.view(), yl.view());
      gated_forward(act, ha.view(), hb.view(), yh.view());
    } else {
      forward(act, la.view(), yl.view());
      forward(act, ha.view(), yh.view());
    }
    std::vector<double> r(n);
    for (std::size_t i = 0; i < n; ++i) r[i] = (yh.get(i) - yl.get(i)) / (2 * (*step)[i]);
    return r;
  };
  int bad = 0, checked = 0;
  for (int arg = 0; arg < (act.is_gated() ? 2 : 1); ++arg) {
    std::vector<double> step;
    const std::vector<double> d1 = central(arg, 1.0, &step), d2 = central(arg, 0.5, &step);
    for (std::size_t i = 0; i < n; ++i) {
      const double f = y.get(i), di = arg == 0 ? d.get(i) : db.get(i);
      bool near_kink = false;
      if (arg == 1)
        for (double k : r.b_kinks()) near_kink |= std::fabs(bs[i] - k) < 16 * step[i];
      // Outside the domain or overflowing: nothing to compare.
      if (near_kink || !std::isfinite(f) || !std::isfinite(d1[i]) || !std::isfinite(d2[i]))
        continue;
      ++checked;
      const double c = arg == 0 ? pts[i] : bs[i];
      const double scale =
          std::max({std::fabs(di), std::fabs(f) / std::max(1.0, std::fabs(c)), 1e-300});
      if (!(std::fabs(d2[i] - di) <= kTol * scale + std::fabs(d1[i] - d2[i])) && bad++ < 8)
        ADD_FAILURE() << GetParam() << " f64 " << (arg == 0 ? "f'" : "d/db")
                      << " at x = " << hex(pts[i]) << (act.is_gated() ? ", b = " + hex(bs[i]) : "")
                      << ": " << di << " but central differences give " << d2[i] << " (h) and "
                      << d1[i] << " (2h)";
    }
  }
  EXPECT_GT(checked, 100) << GetParam() << ": too few points inside the domain";
}

INSTANTIATE_TEST_SUITE_P(Catalogue, FiniteDifference, ::testing::ValuesIn(specs(true, any)),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return sanitize(info.param);
                         });

// --- Derivative from the output ----------------------------------------------------------

class PerDtype : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};
std::string name_of(const ::testing::TestParamInfo<PerDtype::ParamType>& info) {
  return sanitize(std::get<0>(info.param)) + "_" + dtype_name(std::get<1>(info.param));
}

// y's own rounding (a few ulps) moves g(y) = f'(f^-1(y)) by up to |g(y +- k ulp) - g(y)|; beyond
// that, and 4 ulps of f' itself, derivative_from_output must agree with f'.
class FromOutput : public PerDtype {};

TEST_P(FromOutput, MatchesDerivative) {
  const Activation act = Activation::parse(std::get<0>(GetParam()));
  const DType t = std::get<1>(GetParam());
  const ref::Reference r(act);
  // Where f jumps at a kink (softplus at beta x = threshold), y values within the jump come from
  // x on both sides, so f' is not a function of y there: those x are left out.
  std::vector<std::pair<double, double>> windows;
  for (double k : r.kinks()) {
    const ref::RefValue at = r.eval(k), above = r.eval(std::nextafter(k, INFINITY));
    const double jump = std::fabs(above.out[0].f64 - at.out[0].f64);
    const double slope = std::max(std::fabs(at.out[1].f64), 1e-300);
    if (ref::ulp_distance(DType::f64, above.out[0].f64, at.out[0].f64) > 4)
      windows.emplace_back(k - 2 * jump / slope, k + 2 * jump / slope);
  }
  std::vector<double> xs;
  for (double v : ref::sample(t, r, true)) {
    bool in_window = false;
    for (const auto& w : windows) in_window |= v >= w.first && v <= w.second;
    if (!in_window) xs.push_back(v);
  }
  const std::size_t n = xs.size();
  Buf x(t, xs), y(t, n), d(t, n), g(t, n);
  forward_with_derivative(act, x.view(), y.view(), d.view());
  derivative_from_output(act, y.view(), g.view());
  // g at y's neighbours: k = -2, -1, 1, 2 ulps of the dtype.
  constexpr int kNeighbourUlps = 2;
  std::vector<double> ys = y.values(), around;
  for (double v : ys)
    for (int k = 1; k <= kNeighbourUlps; ++k) {
      const double step = std::isfinite(v) ? k * ref::ulp_of(t, v) : 0.0;
      around.push_back(ref::round_to(t, v + step));
      around.push_back(ref::round_to(t, v - step));
    }
  Buf yn(t, around), gn(t, around.size());
  derivative_from_output(act, yn.view(), gn.view());
  int bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double di = d.get(i), gi = g.get(i);
    // y = ±inf from a finite x (overflow) carries no information about x.
    if (std::isinf(ys[i]) && std::isfinite(xs[i])) continue;
    bool ok;
    if (std::isnan(di) || !std::isfinite(ys[i])) {
      ok = (std::isnan(di) && std::isnan(gi)) || di == gi || ref::ulp_distance(t, gi, di) <= 4;
    } else {
      double sens = 0;
      for (int k = 0; k < 2 * kNeighbourUlps; ++k) {
        const double gk = gn.get(i * 2 * kNeighbourUlps + k);
        if (std::isfinite(gk)) sens = std::max(sens, std::fabs(gk - gi));
      }
      ok = !std::isnan(gi) && (gi == di || std::fabs(gi - di) <= 4 * ref::ulp_of(t, di) + sens);
    }
    if (!ok && bad++ < 8)
      ADD_FAILURE() << where(act.to_string(), t) << " at x = " << hex(xs[i])
                    << ", y = " << hex(ys[i]) << ": derivative_from_output = " << hex(gi)
                    << " but f' = " << hex(di);
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, FromOutput,
                         ::testing::Combine(::testing::ValuesIn(specs(true, from_output)),
                                            ::testing::ValuesIn(kDtypes)),
                         name_of);

// --- backward == g f' ----------------------------------------------------------------------

// backward(x, g) against g times the fused f' (and the from-output and gated variants): one
// rounding apart at most (the fused f' is rounded to the dtype before the product here).
class Backward : public PerDtype {};

TEST_P(Backward, EqualsGradTimesDerivative) {
  const Activation act = Activation::parse(std::get<0>(GetParam()));
  const DType t = std::get<1>(GetParam());
  const ref::Reference r(act);
  const std::vector<double> xs = ref::sample(t, r, true);
  const std::size_t n = xs.size();
  std::vector<double> gs(n), bs(n);
  for (std::size_t i = 0; i < n; ++i) {
    gs[i] = grad_for(i);
    bs[i] = r.b_for(xs[i]);
  }
  Buf x(t, xs), b(t, bs), g(t, gs);
  int bad = 0;
  // The fused f' is rounded to the dtype, so g f' is known from it to |g| ulp(f') (large when
  // f' is subnormal in the dtype and g is not small), plus the final rounding.
  // An f' that overflowed the dtype says nothing about g f' unless g = 0: then g f' = 0, as f'
  // is finite (the reference tells overflow from a truly infinite f' such as sqrt'(0)).
  // From the output, a y that overflowed carries no information about x: skipped.
  const auto check = [&](const char* what, const Buf& got, const Buf& deriv, int slot,
                         const Buf* y_from = nullptr) {
    for (std::size_t i = 0; i < n; ++i) {
      const double di = deriv.get(i);
      if (y_from && std::isinf(y_from->get(i)) && std::isfinite(xs[i])) continue;
      if (std::isinf(di) && std::isfinite(xs[i]) && std::isfinite(bs[i])) {
        const ref::RefValue v = act.is_gated() ? r.eval(xs[i], bs[i]) : r.eval(xs[i]);
        if (gs[i] != 0 || v.out[slot].infinite) continue;
        if (got.get(i) != 0 && bad++ < 8)
          ADD_FAILURE() << where(act.to_string(), t) << " " << what << " at x = " << hex(xs[i])
                        << ", g = 0: got " << hex(got.get(i))
                        << ", expected 0 (f' overflowed the dtype but is finite)";
        continue;
      }
      const double expected = ref::round_to(t, gs[i] * di);
      const double v = got.get(i);
      const bool close =
          ref::ulp_distance(t, v, expected) <= 1 ||
          std::fabs(v - gs[i] * di) <= std::fabs(gs[i]) * ref::ulp_of(t, di) + ref::ulp_of(t, v);
      if (!close && bad++ < 8)
        ADD_FAILURE() << where(act.to_string(), t) << " " << what << " at x = " << hex(xs[i])
                      << (act.is_gated() ? ", b = " + hex(bs[i]) : "") << ", g = " << gs[i]
                      << ": got " << hex(v) << ", expected g * f' = " << hex(expected);
    }
  };
  if (act.is_gated()) {
    Buf out(t, n), da(t, n), db(t, n), ga(t, n), gb(t, n);
    gated_forward_with_derivative(act, x.view(), b.view(), out.view(), da.view(), db.view());
    gated_backward(act, x.view(), b.view(), g.view(), ga.view(), gb.view());
    check("gated_backward grad_a", ga, da, 1);
    check("gated_backward grad_b", gb, db, 2);
    return;
  }
  Buf y(t, n), d(t, n), gx(t, n);
  forward_with_derivative(act, x.view(), y.view(), d.view());
  backward(act, x.view(), g.view(), gx.view());
  check("backward", gx, d, 1);
  if (act.has_derivative_from_output()) {
    Buf dy(t, n), gy(t, n);
    derivative_from_output(act, y.view(), dy.view());
    backward_from_output(act, y.view(), g.view(), gy.view());
    check("backward_from_output", gy, dy, 1, &y);
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, Backward,
                         ::testing::Combine(::testing::ValuesIn(specs(false, any)),
                                            ::testing::ValuesIn(kDtypes)),
                         name_of);

// --- Special values --------------------------------------------------------------------------

// ±0, subnormals, ±1e30, ±FLT_MAX, ±inf and NaN (rounded into the dtype) against the reference:
// NaN gives NaN; ±inf give the mathematical limits; finite inputs give NaN only outside the
// domain (where the reference is NaN too); everything else within the accuracy bound.
class SpecialValues : public PerDtype {};

TEST_P(SpecialValues, MatchReference) {
  const Activation act = Activation::parse(std::get<0>(GetParam()));
  const DType t = std::get<1>(GetParam());
  const ref::Reference r(act);
  const std::vector<double> specials = ref::special_values(t);
  std::vector<double> as, bs;
  if (act.is_gated()) {
    // Each special as a with ordinary b, and as b with ordinary a.
    for (double s : specials)
      for (double o : {1.5, -0.75, 0.0, -3.0}) {
        as.push_back(s);
        bs.push_back(o);
        as.push_back(o);
        bs.push_back(s);
      }
  } else {
    as = specials;
  }
  const std::size_t n = as.size();
  Buf a(t, as), b(t, act.is_gated() ? bs : std::vector<double>(n, 0.0));
  Buf o0(t, n), o1(t, n), o2(t, n), o3(t, n);
  if (act.is_gated()) {
    gated_forward_with_derivative(act, a.view(), b.view(), o0.view(), o1.view(), o2.view());
    gated_forward(act, a.view(), b.view(), o3.view());
  } else {
    forward_with_derivative(act, a.view(), o0.view(), o1.view());
    forward(act, a.view(), o3.view());
  }
  const Buf* outs[4] = {&o0, &o1, &o2, &o3};
  for (std::size_t i = 0; i < n; ++i) {
    const ref::RefValue v = act.is_gated() ? r.eval(as[i], bs[i]) : r.eval(as[i]);
    const bool inputs_finite = std::isfinite(as[i]) && (!act.is_gated() || std::isfinite(bs[i]));
    const bool inputs_inf =
        !inputs_finite && !std::isnan(as[i]) && (!act.is_gated() || !std::isnan(bs[i]));
    for (int slot = 0; slot < 4; ++slot) {
      if (slot == int(ref::Out::db) && !act.is_gated()) continue;
      const double expected = v.out[slot == int(ref::Out::fwd) ? 0 : slot].in(t);
      const double got = outs[slot]->get(i);
      const std::string at = where(act.to_string(), t) + " " + ref::out_name(act.is_gated(), slot) +
                             " at x = " + hex(as[i]) +
                             (act.is_gated() ? ", b = " + hex(bs[i]) : "");
      if (std::isnan(expected)) {
        EXPECT_TRUE(std::isnan(got)) << at << ": got " << hex(got) << ", expected NaN";
        continue;
      }
      if (inputs_finite) {
        EXPECT_FALSE(std::isnan(got))
            << at << ": NaN from a finite input (expected " << hex(expected) << ")";
      }
      if (std::isinf(expected) || inputs_inf) {
        // Limits at ±inf and infinite results are exact classes; finite limits get the bound.
        if (std::isinf(expected) || std::isinf(got)) {
          EXPECT_EQ(got, expected) << at;
          continue;
        }
      }
      const ref::Bound bound = ref::bound_for(act, t, slot);
      const ref::Verdict verdict = ref::judge(bound, act, t, as[i], act.is_gated() ? bs[i] : 0.0,
                                              got, v.out[slot == int(ref::Out::fwd) ? 0 : slot]);
      EXPECT_TRUE(verdict.ok) << at << ": got " << hex(got) << ", expected " << hex(expected)
                              << " (" << verdict.ulps << " ulp; bound " << bound.max_ulp << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, SpecialValues,
                         ::testing::Combine(::testing::ValuesIn(specs(false, any)),
                                            ::testing::ValuesIn(kDtypes)),
                         name_of);

// softplus divides by beta as a product with RN(1/beta) in float: where the quotient overflows
// (tiny beta; ln 2 / 1e-40 > FLT_MAX), f must be +inf, not the NaN of an inf - inf correction,
// and just inside the range it must still be the accurate quotient.
TEST(SoftplusTinyBeta, OverflowGivesInfAndNoNaN) {
  const std::vector<double> xs = {-3.0, 0.0, 1.0, 1e30};
  for (const char* spec : {"softplus:beta=1e-40", "softplus:beta=1e-38"}) {
    const Activation act = Activation::parse(spec);
    const double beta = double(float(act.param("beta")));
    Buf x(DType::f32, xs), y(DType::f32, xs.size()), d(DType::f32, xs.size());
    forward_with_derivative(act, x.view(), y.view(), d.view());
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double u = beta * double(float(xs[i]));
      const double exact = std::log1p(std::exp(u)) / beta; // u is tiny: no overflow in double
      const double got = y.get(i);
      if (exact > double(std::numeric_limits<float>::max())) {
        EXPECT_EQ(got, std::numeric_limits<double>::infinity()) << spec << " at x = " << xs[i];
      } else {
        EXPECT_NEAR(got, exact, 4e-7 * exact) << spec << " at x = " << xs[i];
      }
      EXPECT_FALSE(std::isnan(d.get(i))) << spec << " f' at x = " << xs[i];
    }
  }
}

} // namespace
} // namespace actgrad
