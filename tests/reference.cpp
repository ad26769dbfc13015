// MPFR reference formulas for every SPEC §2 activation, correct rounding into each dtype, and the
// accuracy harness with its one tolerance table (see reference.hpp).
#include "reference.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include <mpfr.h>

#include "actgrad/api.hpp"

namespace actgrad {
namespace ref {
namespace {

// ---------------------------------------------------------------------------------------------
// Real: an MPFR number with value semantics, created at the current working precision.

// f64 needs 53 bits; the other 107 make a wrong final rounding (the 160-bit value falling on the
// wrong side of a binary64 tie) a 2^-100 event and absorb the few bits any formula below loses.
constexpr mpfr_prec_t kBasePrecision = 160;
thread_local mpfr_prec_t g_prec = kBasePrecision;

// Raises (or sets) the working precision for the enclosed scope.
class WorkingPrecision {
public:
  explicit WorkingPrecision(mpfr_prec_t p) : saved_(g_prec) { g_prec = p; }
  ~WorkingPrecision() { g_prec = saved_; }
  WorkingPrecision(const WorkingPrecision&) = delete;
  WorkingPrecision& operator=(const WorkingPrecision&) = delete;

private:
  mpfr_prec_t saved_;
};

class Real {
public:
  Real() {
    mpfr_init2(v_, g_prec);
    mpfr_set_zero(v_, 1);
  }
  Real(double d) { // NOLINT: implicit, so formulas read like maths
    mpfr_init2(v_, g_prec);
    mpfr_set_d(v_, d, MPFR_RNDN); // exact: g_prec >= 53
  }
  // A decimal constant (e.g. "1.702") rounded once at the working precision.
  static Real dec(const char* text) {
    Real r;
    mpfr_set_str(r.v_, text, 10, MPFR_RNDN);
    return r;
  }
  static Real nan() {
    Real r;
    mpfr_set_nan(r.v_);
    return r;
  }
  static Real pi() {
    Real r;
    mpfr_const_pi(r.v_, MPFR_RNDN);
    return r;
  }
  // sign * 2^e
  static Real pow2(long e, int sign = 1) {
    Real r;
    mpfr_set_si_2exp(r.v_, sign, e, MPFR_RNDN);
    return r;
  }
  Real(const Real& o) {
    mpfr_init2(v_, mpfr_get_prec(o.v_));
    mpfr_set(v_, o.v_, MPFR_RNDN);
  }
  Real(Real&& o) noexcept {
    mpfr_init2(v_, MPFR_PREC_MIN);
    mpfr_swap(v_, o.v_);
  }
  Real& operator=(Real o) noexcept {
    mpfr_swap(v_, o.v_);
    return *this;
  }
  ~Real() { mpfr_clear(v_); }

  mpfr_ptr get() { return v_; }
  mpfr_srcptr get() const { return v_; }
  bool is_nan() const { return mpfr_nan_p(v_) != 0; }
  bool is_inf() const { return mpfr_inf_p(v_) != 0; }
  bool is_zero() const { return mpfr_zero_p(v_) != 0; }
  bool is_integer() const { return mpfr_integer_p(v_) != 0; }
  bool negative() const { return mpfr_signbit(v_) != 0; }
  // |x| in [2^(e-1), 2^e) for finite non-zero x.
  long exponent() const { return static_cast<long>(mpfr_get_exp(v_)); }
  double to_double() const { return mpfr_get_d(v_, MPFR_RNDN); }
  int cmp(double d) const { return mpfr_cmp_d(v_, d); }

private:
  mpfr_t v_;
};

using Unop = int (*)(mpfr_ptr, mpfr_srcptr, mpfr_rnd_t);
Real apply(Unop f, const Real& x) {
  Real r;
  f(r.get(), x.get(), MPFR_RNDN);
  return r;
}
using Binop = int (*)(mpfr_ptr, mpfr_srcptr, mpfr_srcptr, mpfr_rnd_t);
Real apply(Binop f, const Real& a, const Real& b) {
  Real r;
  f(r.get(), a.get(), b.get(), MPFR_RNDN);
  return r;
}

Real operator+(const Real& a, const Real& b) { return apply(mpfr_add, a, b); }
Real operator-(const Real& a, const Real& b) { return apply(mpfr_sub, a, b); }
Real operator*(const Real& a, const Real& b) { return apply(mpfr_mul, a, b); }
Real operator/(const Real& a, const Real& b) { return apply(mpfr_div, a, b); }
Real operator-(const Real& a) { return apply(mpfr_neg, a); }
// Comparisons with a double; false when x is NaN.
bool operator>(const Real& x, double d) { return !x.is_nan() && x.cmp(d) > 0; }
bool operator>=(const Real& x, double d) { return !x.is_nan() && x.cmp(d) >= 0; }
bool operator<(const Real& x, double d) { return !x.is_nan() && x.cmp(d) < 0; }
bool operator<=(const Real& x, double d) { return !x.is_nan() && x.cmp(d) <= 0; }

Real exp(const Real& x) { return apply(mpfr_exp, x); }
Real expm1(const Real& x) { return apply(mpfr_expm1, x); }
Real log(const Real& x) { return apply(mpfr_log, x); }
Real log1p(const Real& x) { return apply(mpfr_log1p, x); }
Real sqrt(const Real& x) { return apply(mpfr_sqrt, x); }
Real sqr(const Real& x) { return apply(mpfr_sqr, x); }
Real abs(const Real& x) { return apply(mpfr_abs, x); }
Real pow(const Real& x, const Real& y) { return apply(mpfr_pow, x, y); }
Real min(const Real& a, const Real& b) { return apply(mpfr_min, a, b); }
Real max(const Real& a, const Real& b) { return apply(mpfr_max, a, b); }

// The formulas below take one exponential per input where they can (MPFR's exp costs ~1.3 us,
// the arithmetic ~0.05 us) and are arranged so that no rounded quantity is cancelled.

// sigmoid(z) and sigmoid(-z) from e = e^-|z| in [0, 1]: sigmoid(|z|) = 1/(1 + e),
// sigmoid(-|z|) = e/(1 + e). At z = ±inf, e = 0 gives the limits 1 and 0.
struct SigmoidPair {
  Real pos, neg; // sigmoid(z), sigmoid(-z)
};
SigmoidPair sigmoid_pair_from(const Real& z, const Real& e) {
  const Real big = 1 / (1 + e), small = e * big;
  return z.negative() ? SigmoidPair{small, big} : SigmoidPair{big, small};
}
SigmoidPair sigmoid_pair(const Real& z) { return sigmoid_pair_from(z, exp(-abs(z))); }

// tanh(x) and sech(x)^2 from one call: with e = e^(-2|x|) and m = e - 1, tanh|x| = -m/(1 + e)
// and sech^2 = 4e/(1 + e)^2. For |x| < 1, m = expm1(-2|x|) keeps tanh's relative accuracy at
// tiny x and e = 1 + m >= e^-2 does not cancel; otherwise e = exp(-2|x|) <= e^-2 and m = e - 1
// does not cancel.
struct TanhPair {
  Real t, sech2;
};
TanhPair tanh_pair(const Real& x) {
  const Real arg = -2 * abs(x);
  Real e, m;
  if (abs(x) < 1) {
    m = expm1(arg);
    e = 1 + m;
  } else {
    e = exp(arg);
    m = e - 1;
  }
  const Real t = -m / (1 + e);
  return {x.negative() ? -t : t, 4 * e / sqr(1 + e)};
}

// e^x and e^x - 1 from one call: for x < -1, e = exp(x) <= 1/e and e - 1 does not cancel; else
// m = expm1(x) >= 1/e - 1 and 1 + m does not cancel.
struct ExpPair {
  Real e, em1;
};
ExpPair exp_pair(const Real& x) {
  if (x < -1) {
    const Real e = exp(x);
    return {e, e - 1};
  }
  const Real m = expm1(x);
  return {1 + m, m};
}

// ---------------------------------------------------------------------------------------------
// The standard normal CDF Phi(x) = erfc(-x/sqrt 2) / 2 without MPFR's erfc, which is slow for
// 3 < |z| < 15 (up to 1 ms per call): a positive-term series below |z| = 6, a continued fraction
// above. Both are checked against mpfr_erfc by self_check().

// Below this |z| the series, above it the continued fraction, each at ~60 terms at most.
constexpr double kSeriesLimit = 6;

// erf(z) = 2/sqrt(pi) e^(-z^2) sum_{n>=0} 2^n z^(2n+1) / (1 3 5 ... (2n+1))   (A&S 7.1.6).
// Every term is positive, so each is rounded once and nothing cancels.
// The loops below update in place: they dominate gelu's reference cost.
Real erf_series(const Real& z) {
  if (z.is_zero()) return z;
  const Real z2 = sqr(z), two_z2 = 2 * z2;
  const double z2d = z2.to_double();
  Real term = z, sum = z;
  for (unsigned long n = 1;; ++n) {
    // term_n = term_(n-1) 2 z^2 / (2n + 1)
    mpfr_mul(term.get(), term.get(), two_z2.get(), MPFR_RNDN);
    mpfr_div_ui(term.get(), term.get(), 2 * n + 1, MPFR_RNDN);
    mpfr_add(sum.get(), sum.get(), term.get(), MPFR_RNDN);
    // Ratio of the next term to this one is 2 z^2 / (2n + 3); once it is <= 1/2 the tail is at
    // most one more such term, so stopping at 2^-(prec+8) of the sum is safe.
    if (4 * z2d <= double(2 * n + 3) &&
        (term.is_zero() || term.exponent() < sum.exponent() - long(g_prec) - 8))
      break;
  }
  return sum * exp(-z2) * 2 / sqrt(Real::pi());
}

// erfc(z) for z >= kSeriesLimit: e^(-z^2)/sqrt(pi) * K, K = 1/(z + (1/2)/(z + (2/2)/(z + ...)))
// (Laplace; A&S 7.1.14). K_n = A_n/B_n by the forward recurrence; all A, B are positive and the
// convergents alternate around K, so |K_n - K_(n-1)| = (a_1...a_n)/(B_n B_(n-1)) bounds the error.
Real erfc_cf(const Real& z) {
  WorkingPrecision wp(g_prec + 16);
  Real a_prev = 0, a_cur = 1, b_prev = 1, b_cur = z, prod = 1;
  // X_n = z X_(n-1) + a_n X_(n-2) with a_n = (n - 1)/2, for X = A, B; prod = a_1 ... a_n.
  const auto step = [&z](Real& prev, Real& cur, unsigned long n) {
    mpfr_mul_ui(prev.get(), prev.get(), n - 1, MPFR_RNDN);
    mpfr_div_2ui(prev.get(), prev.get(), 1, MPFR_RNDN);
    mpfr_fma(prev.get(), z.get(), cur.get(), prev.get(), MPFR_RNDN);
    mpfr_swap(prev.get(), cur.get());
  };
  for (unsigned long n = 2;; ++n) {
    step(a_prev, a_cur, n);
    step(b_prev, b_cur, n);
    mpfr_mul_ui(prod.get(), prod.get(), n - 1, MPFR_RNDN);
    mpfr_div_2ui(prod.get(), prod.get(), 1, MPFR_RNDN);
    // |K_n - K_(n-1)| / K_n = prod / (A_n B_(n-1)) < 2^(e(prod) - e(A_n) - e(B_(n-1)) + 2).
    if (prod.exponent() - a_cur.exponent() - b_prev.exponent() + 2 < -long(g_prec)) break;
  }
  return exp(-sqr(z)) / sqrt(Real::pi()) * (a_cur / b_cur);
}

// Phi(x) for finite or infinite x.
Real normal_cdf(const Real& x) {
  if (x.is_inf()) return x.negative() ? Real(0) : Real(1);
  const Real z = abs(x) / sqrt(Real(2));
  const double zd = z.to_double();
  if (zd < kSeriesLimit) {
    // For x < 0, 1 - erf(z) = erfc(z) ~ e^(-z^2)/(z sqrt(pi)) cancels about z^2 log2(e) bits
    // (log2(e) < 1.45); carry them, plus a guard byte.
    WorkingPrecision wp(g_prec + (x.negative() ? long(std::ceil(1.45 * zd * zd)) : 0) + 8);
    const Real e = erf_series(z);
    return x.negative() ? (1 - e) / 2 : (1 + e) / 2;
  }
  const Real c = erfc_cf(z);
  return x.negative() ? c / 2 : 1 - c / 2;
}

// phi(x) = e^(-x^2/2) / sqrt(2 pi).
Real normal_pdf(const Real& x) { return exp(-sqr(x) / 2) / sqrt(2 * Real::pi()); }

// ---------------------------------------------------------------------------------------------
// Correct rounding into each format.

struct Format {
  int precision;     // significand bits, hidden bit included
  long min_sub_exp;  // exponent of the smallest subnormal
  long overflow_exp; // values >= 2^overflow_exp round to inf
};
constexpr Format kF64{53, -1074, 1024};
constexpr Format kF32{24, -149, 128};
constexpr Format kF16{11, -24, 16};
constexpr Format kBF16{8, -133, 128};

const Format& format_of(DType t) {
  switch (t) {
  case DType::f64:
    return kF64;
  case DType::f32:
    return kF32;
  case DType::f16:
    return kF16;
  case DType::bf16:
    return kBF16;
  }
  return kF64;
}

// v rounded to nearest even in `f`, returned as a double (every such value is one).
double round_format(mpfr_srcptr v, const Format& f) {
  if (mpfr_nan_p(v)) return std::numeric_limits<double>::quiet_NaN();
  const bool neg = mpfr_signbit(v) != 0;
  const double inf =
      neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  if (mpfr_inf_p(v)) return inf;
  if (mpfr_zero_p(v)) return neg ? -0.0 : 0.0;
  // |v| in [2^(e-1), 2^e): a normal result's ulp is 2^(e - precision); subnormals share the
  // fixed spacing 2^min_sub_exp. Scale so that ulp = 1, round to an integer (ties to even,
  // mpfr_rint with RNDN), scale back: exact steps, one rounding.
  const long e = mpfr_get_exp(v);
  const long ulp_exp = std::max(e - f.precision, f.min_sub_exp);
  mpfr_t t;
  mpfr_init2(t, std::max<mpfr_prec_t>(mpfr_get_prec(v), 64));
  mpfr_mul_2si(t, v, -ulp_exp, MPFR_RNDN);
  mpfr_rint(t, t, MPFR_RNDN);
  mpfr_mul_2si(t, t, ulp_exp, MPFR_RNDN);
  double r;
  if (mpfr_zero_p(t))
    r = neg ? -0.0 : 0.0;
  else if (mpfr_get_exp(t) > f.overflow_exp)
    r = inf;
  else
    r = mpfr_get_d(t, MPFR_RNDN); // exact
  mpfr_clear(t);
  return r;
}

// d (a double) rounded to nearest even in `f`; *tie tells whether d was exactly halfway.
double round_double(double d, const Format& f, bool* tie) {
  *tie = false;
  if (d == 0 || !std::isfinite(d)) return d;
  const long e = std::ilogb(d); // |d| in [2^e, 2^(e+1)): ulp 2^(e + 1 - precision)
  const long ulp_exp = std::max(e + 1 - f.precision, f.min_sub_exp);
  const double s = std::ldexp(d, static_cast<int>(-ulp_exp)); // exact, |s| < 2^precision
  *tie = std::fabs(s - std::trunc(s)) == 0.5;
  const double r = std::ldexp(std::nearbyint(s), static_cast<int>(ulp_exp)); // ties to even
  if (std::fabs(r) >= std::ldexp(1.0, static_cast<int>(f.overflow_exp)))
    return std::copysign(std::numeric_limits<double>::infinity(), d);
  return r;
}

// A computed value closer than 2^kGuardBits units of its last place to a midpoint of some dtype
// cannot be rounded with confidence: the formula's own rounding errors may have moved it across.
constexpr long kGuardBits = 24;

// v (the formula's result at the working precision; `exact` when no operation rounded) rounded
// into every dtype. Every narrow format's midpoints are binary64 numbers, so rounding the
// correctly rounded binary64 value again is exact unless that value is itself a midpoint that v
// is not: only then is v rounded directly (round_format), which is slower. *ambiguous gets the
// bit (1 << DType) of each format whose midpoint v is too close to, when v is inexact.
Rounded round_all(mpfr_srcptr v, bool exact, unsigned* ambiguous) {
  Rounded r;
  r.infinite = mpfr_inf_p(v) != 0;
  r.f64 = mpfr_get_d(v, MPFR_RNDN); // correctly rounded, subnormals and overflow included
  const bool regular = mpfr_regular_p(v) != 0;
  const bool is_f64 = regular && mpfr_cmp_d(v, r.f64) == 0;
  if (regular && !exact && std::isfinite(r.f64) && !is_f64) {
    // |v - r64| against half an ulp of r64 (the difference is exact: they share the top bits).
    mpfr_t d;
    mpfr_init2(d, mpfr_get_prec(v));
    mpfr_sub_d(d, v, r.f64, MPFR_RNDN);
    mpfr_abs(d, d, MPFR_RNDN);
    const double half_ulp = ulp_of(DType::f64, r.f64) / 2;
    mpfr_sub_d(d, d, half_ulp, MPFR_RNDN);
    if (mpfr_zero_p(d) || mpfr_get_exp(d) < mpfr_get_exp(v) - long(mpfr_get_prec(v)) + kGuardBits)
      *ambiguous |= 1u << int(DType::f64);
    mpfr_clear(d);
  }
  const auto narrow = [&](const Format& f, DType t) {
    bool tie;
    const double n = round_double(r.f64, f, &tie);
    if (tie && !exact) *ambiguous |= 1u << int(t);
    return tie && !is_f64 ? round_format(v, f) : n;
  };
  r.f32 = static_cast<float>(narrow(kF32, DType::f32)); // exact
  r.f16 = to_half(static_cast<float>(narrow(kF16, DType::f16)));
  r.bf16 = to_bfloat16(static_cast<float>(narrow(kBF16, DType::bf16)));
  return r;
}

void widest_exponent_range() {
  // Intermediates such as e^(1e30) or x^3 at x = 2^1000 must neither overflow nor underflow.
  mpfr_set_emin(mpfr_get_emin_min());
  mpfr_set_emax(mpfr_get_emax_max());
}

} // namespace

// ---------------------------------------------------------------------------------------------
// The reference table: one entry per SPEC §2 activation.

namespace {

struct UnaryOut {
  Real f, df;
};
struct GatedOut {
  Real out, da, db;
};
using P = const double*; // parameters in the entry's own order
using UnaryFn = std::function<UnaryOut(const Real& x, P p)>;
using GatedFn = std::function<GatedOut(const Real& a, const Real& b, P p)>;
using KinkFn = std::function<std::vector<double>(P p)>;

UnaryOut piece(double f, double df) { return {Real(f), Real(df)}; }

} // namespace

struct Entry {
  const char* name;
  std::vector<std::pair<const char*, double>> params; // SPEC names and defaults, in order
  UnaryFn f;                                          // unary: f and f'
  const char* gate; // gated: out = gate(a) * b, gate being a unary entry (same params)
  GatedFn gated;    // gated units that are not gate(a) * b
  KinkFn kinks;     // may be empty
  KinkFn b_kinks;   // may be empty
  std::vector<const char*> variants; // extra parameter sets for the accuracy test
  const Entry* gate_entry = nullptr;
};

namespace {

KinkFn at(std::vector<double> xs) {
  return [xs](P) { return xs; };
}

// SELU constants (Klambauer et al. 2017, the fixed point for unit mean and variance), to 32
// digits; PyTorch uses their double roundings.
const char* const kSeluAlpha = "1.6732632423543772848170429916717";
const char* const kSeluScale = "1.0507009873554804934193349852946";
// quick_gelu's 1.702 (Hendrycks & Gimpel 2016, sigmoid approximation of GELU).
const char* const kQuickGeluAlpha = "1.702";
// gelu_tanh's cubic coefficient (Hendrycks & Gimpel 2016; PyTorch kKappa).
const char* const kGeluTanhKappa = "0.044715";

// x * sigmoid(k x) with its derivative sigmoid(kx) (1 + k x sigmoid(-k x)), shared by silu,
// swish, quick_gelu and clamped_swiglu.
UnaryOut x_sigmoid(const Real& x, const Real& k) {
  const Real kx = k * x;
  const SigmoidPair s = sigmoid_pair(kx);
  return {x * s.pos, s.pos * (1 + kx * s.neg)};
}

UnaryOut gelu(const Real& x) {
  const Real phi_cdf = normal_cdf(x);
  return {x * phi_cdf, phi_cdf + x * normal_pdf(x)};
}

UnaryOut gelu_tanh(const Real& x) {
  const Real c = sqrt(2 / Real::pi());
  const Real kappa = Real::dec(kGeluTanhKappa);
  const Real u = c * (x + kappa * x * sqr(x));
  // 1 + tanh(u) = 2 sigmoid(2u) (no cancellation for u << 0); sech^2(u) = 4 sigmoid(2u)
  // sigmoid(-2u).
  const SigmoidPair s = sigmoid_pair(2 * u);
  const Real du = c * (1 + 3 * kappa * sqr(x));
  return {x * s.pos, s.pos + 2 * x * s.pos * s.neg * du};
}

using Params = std::vector<std::pair<const char*, double>>;
using Variants = std::vector<const char*>;

// Row builders: a unary entry, a gated unit gate(a) * b over a unary entry, or a gated unit
// with its own formula.
Entry unary(const char* name, Params params, UnaryFn f, KinkFn kinks = {}, Variants v = {}) {
  return {name, std::move(params), std::move(f), nullptr, {}, std::move(kinks), {}, std::move(v)};
}
Entry gated_by(const char* name, const char* gate) { return {name, {}, {}, gate, {}, {}, {}, {}}; }
Entry gated(const char* name, Params params, GatedFn f, KinkFn kinks, KinkFn b_kinks) {
  return {name, std::move(params), {}, nullptr, std::move(f), std::move(kinks), std::move(b_kinks),
          {}};
}
// Kinks from parameters: param(i) is p[i].
KinkFn param_kinks(std::vector<int> idx, std::vector<double> sign) {
  return [idx, sign](P p) {
    std::vector<double> r;
    for (std::size_t i = 0; i < idx.size(); ++i) r.push_back(sign[i] * p[idx[i]]);
    return r;
  };
}

const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = [] {
    std::vector<Entry> t = {
        // --- ReLU family (PyTorch) ---------------------------------------------------------
        unary("identity", {},
              [](const Real& x, P) {
                return UnaryOut{x, Real(1)};
              }),
        // relu'(0) = 0 (PyTorch autograd).
        unary(
            "relu", {},
            [](const Real& x, P) {
              return x > 0 ? UnaryOut{x, Real(1)} : piece(0, 0);
            },
            at({0})),
        // leaky_relu'(0) = negative_slope: PyTorch's backward tests x > 0.
        unary("leaky_relu", {{"negative_slope", 0.01}},
              [](const Real& x, P p) {
                return x > 0 ? UnaryOut{x, Real(1)} : UnaryOut{p[0] * x, Real(p[0])};
              },
              at({0}), {"negative_slope=0.2"}),
        // relu6 = hardtanh(0, 6): f' = 0 at both bounds.
        unary(
            "relu6", {},
            [](const Real& x, P) {
              if (x <= 0) return piece(0, 0);
              if (x >= 6) return piece(6, 0);
              return UnaryOut{x, Real(1)};
            },
            at({0, 6})),
        // hardtanh: clamp(x, min_val, max_val); f' = 1 strictly inside, 0 at both bounds.
        unary("hardtanh", {{"min_val", -1.0}, {"max_val", 1.0}},
              [](const Real& x, P p) {
                if (x <= p[0]) return piece(p[0], 0);
                if (x >= p[1]) return piece(p[1], 0);
                return UnaryOut{x, Real(1)};
              },
              param_kinks({0, 1}, {1, 1}), {"min_val=-2,max_val=3"}),
        // threshold: x if x > threshold else value; f' = 1 if x > threshold else 0.
        unary("threshold", {{"threshold", 0.0}, {"value", 0.0}},
              [](const Real& x, P p) {
                return x > p[0] ? UnaryOut{x, Real(1)} : piece(p[1], 0);
              },
              param_kinks({0}, {1}), {"threshold=1,value=-2"}),
        // hardshrink: x if |x| > lambd else 0; f' = 0 at |x| = lambd (PyTorch).
        unary(
            "hardshrink", {{"lambd", 0.5}},
            [](const Real& x, P p) {
              return abs(x) > p[0] ? UnaryOut{x, Real(1)} : piece(0, 0);
            },
            param_kinks({0, 0}, {-1, 1})),
        // softshrink: x - lambd above lambd, x + lambd below -lambd, else 0; f' as hardshrink.
        unary(
            "softshrink", {{"lambd", 0.5}},
            [](const Real& x, P p) {
              if (x > p[0]) return UnaryOut{x - p[0], Real(1)};
              if (x < -p[0]) return UnaryOut{x + p[0], Real(1)};
              return piece(0, 0);
            },
            param_kinks({0, 0}, {-1, 1})),
        // rrelu in evaluation mode: leaky_relu with slope (lower + upper) / 2; f'(0) = slope.
        unary(
            "rrelu", {{"lower", 1.0 / 8}, {"upper", 1.0 / 3}},
            [](const Real& x, P p) {
              const Real slope = (Real(p[0]) + p[1]) / 2;
              return x > 0 ? UnaryOut{x, Real(1)} : UnaryOut{slope * x, slope};
            },
            at({0})),
        // squared_relu: relu(x)^2 (So et al. 2021, Primer); f' = 2 relu(x).
        unary(
            "squared_relu", {},
            [](const Real& x, P) {
              return x > 0 ? UnaryOut{sqr(x), 2 * x} : piece(0, 0);
            },
            at({0})),
        // --- Smooth rectifiers -------------------------------------------------------------
        // elu: x > 0 ? x : alpha (e^x - 1); f' = alpha e^x for x <= 0, so elu'(0) = alpha.
        unary("elu", {{"alpha", 1.0}},
              [](const Real& x, P p) {
                if (x > 0) return UnaryOut{x, Real(1)};
                const ExpPair e = exp_pair(x);
                return UnaryOut{p[0] * e.em1, p[0] * e.e};
              },
              at({0}), {"alpha=0.5"}),
        // selu: scale * elu(x, alpha) with the fixed-point constants; selu'(0) = scale alpha.
        unary(
            "selu", {},
            [](const Real& x, P) {
              const Real scale = Real::dec(kSeluScale), alpha = Real::dec(kSeluAlpha);
              if (x > 0) return UnaryOut{scale * x, scale};
              const ExpPair e = exp_pair(x);
              return UnaryOut{scale * alpha * e.em1, scale * alpha * e.e};
            },
            at({0})),
        // celu: x > 0 ? x : alpha (e^(x/alpha) - 1); f' = e^(x/alpha) for x <= 0 (celu'(0) = 1).
        unary("celu", {{"alpha", 1.0}},
              [](const Real& x, P p) {
                if (x > 0) return UnaryOut{x, Real(1)};
                const ExpPair e = exp_pair(x / p[0]);
                return UnaryOut{p[0] * e.em1, e.e};
              },
              at({0}), {"alpha=2", "alpha=0.3"}),
        // softplus: log(1 + e^(beta x)) / beta, and x (f' = 1) where beta x > threshold.
        // log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow, no cancellation; f' = sigmoid(z).
        unary(
            "softplus", {{"beta", 1.0}, {"threshold", 20.0}},
            [](const Real& x, P p) {
              const Real z = p[0] * x;
              if (z > p[1]) return UnaryOut{x, Real(1)};
              const Real e = exp(-abs(z));
              return UnaryOut{(max(z, 0) + log1p(e)) / p[0], sigmoid_pair_from(z, e).pos};
            },
            [](P p) { return std::vector<double>{p[1] / p[0]}; }, {"beta=2,threshold=10"}),
        // squareplus (JAX): (x + sqrt(x^2 + b)) / 2; f' = (1 + x / sqrt(x^2 + b)) / 2. For x < 0
        // both are rewritten without the cancellation: b / (2 (s - x)) and b / (2 s (s - x)).
        unary("squareplus", {{"b", 4.0}},
              [](const Real& x, P p) {
                const Real s = sqrt(sqr(x) + p[0]);
                if (x >= 0) return UnaryOut{(x + s) / 2, (1 + x / s) / 2};
                const Real d = s - x;
                return UnaryOut{p[0] / (2 * d), p[0] / (2 * s * d)};
              },
              {}, {"b=1"}),
        // sparse_plus (JAX): 0 for x <= -1, x for x >= 1, (x + 1)^2 / 4 between; C^1.
        unary(
            "sparse_plus", {},
            [](const Real& x, P) {
              if (x <= -1) return piece(0, 0);
              if (x >= 1) return UnaryOut{x, Real(1)};
              return UnaryOut{sqr(x + 1) / 4, (x + 1) / 2};
            },
            at({-1, 1})),
        // --- Gated by a sigmoid or Gaussian ------------------------------------------------
        // gelu (erf form): x Phi(x); f' = Phi(x) + x phi(x). Hendrycks & Gimpel 2016.
        unary("gelu", {}, [](const Real& x, P) { return gelu(x); }),
        // gelu_tanh: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
        unary("gelu_tanh", {}, [](const Real& x, P) { return gelu_tanh(x); }),
        // quick_gelu: x sigmoid(1.702 x).
        unary("quick_gelu", {},
              [](const Real& x, P) { return x_sigmoid(x, Real::dec(kQuickGeluAlpha)); }),
        // silu: x sigmoid(x). Elfwing et al. 2018.
        unary("silu", {}, [](const Real& x, P) { return x_sigmoid(x, Real(1)); }),
        // swish: x sigmoid(beta x). Ramachandran et al. 2017.
        unary("swish", {{"beta", 1.0}}, [](const Real& x, P p) { return x_sigmoid(x, Real(p[0])); },
              {}, {"beta=1.5"}),
        // mish: x tanh(softplus(x)); f' = tanh(sp) + x sech^2(sp) sigmoid(x). Misra 2019.
        // With w = e^x, tanh(sp) = n/(n + 2) and sech^2(sp) = 4(w + 1)^2/(n + 2)^2, n = w(w + 2);
        // written in e = e^-|x| <= 1 (w = 1/e for x >= 0) every term is positive.
        unary("mish", {},
              [](const Real& x, P) {
                const Real e = exp(-abs(x));
                Real t, sech2;
                if (x >= 0) {
                  const Real d = 1 + 2 * e + 2 * sqr(e);
                  t = (1 + 2 * e) / d;
                  sech2 = 4 * sqr(e * (1 + e)) / sqr(d);
                } else {
                  const Real n = e * (e + 2);
                  t = n / (n + 2);
                  sech2 = 4 * sqr(1 + e) / sqr(n + 2);
                }
                return UnaryOut{x * t, t + x * sech2 * sigmoid_pair_from(x, e).pos};
              }),
        // hardswish: x relu6(x + 3) / 6; f' = 0 for x <= -3, (2x + 3)/6 inside, 1 for x >= 3
        // (SPEC §2). Howard et al. 2019.
        unary(
            "hardswish", {},
            [](const Real& x, P) {
              if (x <= -3) return piece(0, 0);
              if (x >= 3) return UnaryOut{x, Real(1)};
              return UnaryOut{x * (x + 3) / 6, (2 * x + 3) / 6};
            },
            at({-3, 3})),
        // --- Squashing ---------------------------------------------------------------------
        unary("sigmoid", {},
              [](const Real& x, P) {
                const SigmoidPair s = sigmoid_pair(x);
                return UnaryOut{s.pos, s.pos * s.neg};
              }),
        // hardsigmoid: relu6(x + 3) / 6; f' = 1/6 strictly inside (-3, 3), else 0.
        unary(
            "hardsigmoid", {},
            [](const Real& x, P) {
              if (x <= -3) return piece(0, 0);
              if (x >= 3) return piece(1, 0);
              return UnaryOut{(x + 3) / 6, Real(1) / 6};
            },
            at({-3, 3})),
        // sparse_sigmoid (JAX): clip(x + 1, 0, 2) / 2; f' = 1/2 strictly inside (-1, 1).
        unary(
            "sparse_sigmoid", {},
            [](const Real& x, P) {
              if (x <= -1) return piece(0, 0);
              if (x >= 1) return piece(1, 0);
              return UnaryOut{(x + 1) / 2, Real(0.5)};
            },
            at({-1, 1})),
        // logsigmoid: -softplus(-x) = min(x, 0) - log1p(e^-|x|); f' = sigmoid(-x).
        unary("logsigmoid", {},
              [](const Real& x, P) {
                const Real e = exp(-abs(x));
                return UnaryOut{min(x, 0) - log1p(e), sigmoid_pair_from(x, e).neg};
              }),
        unary("tanh", {},
              [](const Real& x, P) {
                const TanhPair t = tanh_pair(x);
                return UnaryOut{t.t, t.sech2};
              }),
        // softsign: x / (1 + |x|); f' = 1 / (1 + |x|)^2.
        unary("softsign", {},
              [](const Real& x, P) {
                const Real d = 1 + abs(x);
                return UnaryOut{x / d, 1 / sqr(d)};
              }),
        // tanhshrink: x - tanh(x); f' = tanh(x)^2. x - tanh x ~ x^3/3 loses 2 |log2 x| bits to
        // cancellation, carried as extra precision; below 2^-40 the series
        // x^3/3 - 2x^5/15 + 17x^7/315 is used (the next term is < 2^-300 relative).
        unary("tanhshrink", {},
              [](const Real& x, P) {
                if (x.is_zero() || x.is_inf()) {
                  const Real t = tanh_pair(x).t;
                  return UnaryOut{x - t, sqr(t)};
                }
                const long e = x.exponent();
                if (e < -40) {
                  const Real x2 = sqr(x), x3 = x * x2;
                  const Real f = x3 / 3 - 2 * x3 * x2 / 15 + 17 * x3 * sqr(x2) / 315;
                  return UnaryOut{f, sqr(tanh_pair(x).t)};
                }
                WorkingPrecision wp(g_prec + 2 * std::max(0L, -e));
                const Real t = tanh_pair(x).t;
                return UnaryOut{x - t, sqr(t)};
              }),
        // --- Elementary (oneDNN) -----------------------------------------------------------
        unary("linear", {{"alpha", 1.0}, {"beta", 0.0}},
              [](const Real& x, P p) {
                return UnaryOut{p[0] * x + p[1], Real(p[0])};
              },
              {}, {"alpha=2,beta=-1"}),
        unary("square", {},
              [](const Real& x, P) {
                return UnaryOut{sqr(x), 2 * x};
              }),
        // abs: |x|; f' = sign(x) with abs'(0) = 0.
        unary(
            "abs", {},
            [](const Real& x, P) {
              return UnaryOut{abs(x), Real(x > 0 ? 1 : x < 0 ? -1 : 0)};
            },
            at({0})),
        // sqrt: f' = 1 / (2 sqrt x); NaN for x < 0 (outside the domain). f'(±0) = +inf: -0 is
        // the point 0, whose (right) derivative is +inf, so the sign of zero does not flip it.
        unary(
            "sqrt", {},
            [](const Real& x, P) {
              if (x < 0) return UnaryOut{Real::nan(), Real::nan()};
              const Real s = sqrt(x);
              return UnaryOut{s, 1 / (2 * abs(s))};
            },
            at({0})),
        unary("exp", {},
              [](const Real& x, P) {
                const Real e = exp(x);
                return UnaryOut{e, e};
              }),
        // log: f' = 1/x; both NaN for x < 0 (outside the domain); f'(±0) = +inf as for sqrt.
        unary(
            "log", {},
            [](const Real& x, P) {
              if (x < 0) return UnaryOut{Real::nan(), Real::nan()};
              return UnaryOut{log(x), 1 / abs(x)};
            },
            at({0})),
        // pow (oneDNN): alpha x^beta; f' = alpha beta x^(beta - 1), and 0 when beta = 0 (a
        // constant). Negative x with non-integer beta is outside the domain: NaN.
        unary("pow", {{"alpha", 1.0}, {"beta", 1.0}},
              [](const Real& x, P p) {
                const Real beta = p[1];
                if (x < 0 && !beta.is_integer()) return UnaryOut{Real::nan(), Real::nan()};
                const Real f = p[0] * pow(x, beta);
                if (p[1] == 0) return UnaryOut{f, Real(0)};
                return UnaryOut{f, p[0] * beta * pow(x, beta - 1)};
              },
              at({0}),
              {"beta=0.5", "beta=3", "alpha=2,beta=-1.5", "beta=21.5", "alpha=1e-20,beta=4",
               "alpha=-0.5,beta=5", "beta=0"}),
        // --- Gated linear units: out = act(a) b, d/da = b act'(a), d/db = act(a) ------------
        gated_by("glu", "sigmoid"),
        gated_by("geglu", "gelu"),
        gated_by("geglu_tanh", "gelu_tanh"),
        gated_by("swiglu", "silu"),
        gated_by("reglu", "relu"),
        gated_by("qgeglu", "quick_gelu"),
        gated_by("sreglu", "squared_relu"),
        // clamped_swiglu (GPT-OSS): a_c = min(a, limit), b_c = clamp(b, -limit, limit),
        // out = a_c sigmoid(alpha a_c) (b_c + 1). Clamp gradients pass on the closed intervals
        // (torch.clamp): d/da = 0 for a > limit, d/db = 0 for |b| > limit. NaN b gives NaN d/db.
        gated(
            "clamped_swiglu", {{"limit", 7.0}, {"alpha", 1.702}},
            [](const Real& a, const Real& b, P p) {
              const double limit = p[0];
              const Real ac = a > limit ? Real(limit) : a;
              const UnaryOut g = ac.is_inf() ? UnaryOut{Real(0), Real(0)} // a = -inf: the limits
                                             : x_sigmoid(ac, Real(p[1]));
              const Real bc = b > limit ? Real(limit) : b < -limit ? Real(-limit) : b;
              const Real lin = bc + 1;
              const bool b_inside = b >= -limit && b <= limit;
              return GatedOut{g.f * lin, a > limit ? Real(0) : g.df * lin,
                              b.is_nan() ? Real::nan()
                              : b_inside ? g.f
                                         : Real(0)};
            },
            param_kinks({0}, {1}), param_kinks({0, 0}, {-1, 1})),
    };
    for (Entry& e : t)
      if (e.gate)
        for (const Entry& g : t)
          if (std::strcmp(g.name, e.gate) == 0) e.gate_entry = &g;
    return t;
  }();
  return entries;
}

const Entry* find_entry(const std::string& name) {
  for (const Entry& e : table())
    if (name == e.name) return &e;
  return nullptr;
}

// f, f' with the conventions every entry shares: NaN in gives NaN out, and at x = ±inf an
// output whose formula is indeterminate there (inf * 0, inf / inf) takes its value at
// ±2^(2^40), where every exponential term has under- or overflowed to its limit.
constexpr long kHugeExponent = 1L << 40;
UnaryOut eval_unary(const Entry& e, const Real& x, P p) {
  if (x.is_nan()) return {Real::nan(), Real::nan()};
  UnaryOut r = e.f(x, p);
  if (x.is_inf() && (r.f.is_nan() || r.df.is_nan())) {
    UnaryOut lim = e.f(Real::pow2(kHugeExponent, x.negative() ? -1 : 1), p);
    if (r.f.is_nan()) r.f = std::move(lim.f);
    if (r.df.is_nan()) r.df = std::move(lim.df);
  }
  return r;
}

GatedOut eval_gated(const Entry& e, const Real& a, const Real& b, P p) {
  if (e.gated) return e.gated(a, b, p);
  const UnaryOut g = eval_unary(*e.gate_entry, a, p);
  return {g.f * b, g.df * b, g.f};
}

std::uint64_t splitmix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t bits_of(double v) {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

} // namespace

double Rounded::in(DType t) const {
  switch (t) {
  case DType::f64:
    return f64;
  case DType::f32:
    return f32;
  case DType::f16:
    return to_float(f16);
  case DType::bf16:
    return to_float(bf16);
  }
  return f64;
}

Reference::Reference(const Activation& act) : entry_(find_entry(act.name())) {
  if (!entry_)
    throw std::runtime_error(std::string("no MPFR reference for '") + act.name() +
                             "': add its entry to tests/reference.cpp");
  const ActInfo& info = act.info();
  std::string ref_names, cat_names;
  for (const auto& pr : entry_->params) ref_names += std::string(" ") + pr.first;
  for (int i = 0; i < info.num_params; ++i) cat_names += std::string(" ") + info.params[i].name;
  if (static_cast<int>(entry_->params.size()) != info.num_params)
    throw std::runtime_error(std::string(act.name()) + ": reference parameters {" + ref_names +
                             " } differ from the catalogue's {" + cat_names + " }");
  for (const auto& pr : entry_->params) {
    int found = -1;
    for (int i = 0; i < info.num_params; ++i)
      if (std::strcmp(info.params[i].name, pr.first) == 0) found = i;
    if (found < 0)
      throw std::runtime_error(std::string(act.name()) + ": reference parameter '" + pr.first +
                               "' is not in the catalogue's {" + cat_names + " }");
    p_.push_back(act.params()[found]);
  }
  if (gated()) {
    // b values exact in every dtype (at most 8 significant bits, inside f16's normal range),
    // spread over signs and magnitudes, plus 0, -1 (clamped_swiglu's b + 1 = 0) and b's kinks
    // with their nearest bfloat16 neighbours.
    // 49152 = 0x1.8p15 and 2^-24 are near f16's largest and at its smallest magnitude.
    const double kB[] = {1.0,     -1.0,     0.5,    2.0,     -3.0,    0.75,      1.5,
                         -0.0625, 10.0,     -100.0, 0.0,     -0.0,    1.0 / 256, 1024,
                         -1.25,   3.140625, -2.5,   0.3125,  6.5,     -7.5,      1.0078125,
                         -17.0,   0.125,    -0.5,   49152.0, -0x1p-24};
    for (double b : kB) b_table_.push_back(b);
    for (double k : b_kinks())
      for (double b : {k, k * (1 + 1.0 / 128), k * (1 - 1.0 / 256)})
        if (round_to(DType::f16, b) == b && round_to(DType::bf16, b) == b) b_table_.push_back(b);
  }
}

bool Reference::gated() const { return entry_->gate || entry_->gated; }

namespace {

// Ziv's strategy: a result too close to a midpoint of one of the requested dtypes is computed
// again with kEscalationBits more precision. Results that are exact (no MPFR operation rounded,
// e.g. (x + 1)/2) are final at once: their ties are real. A result still ambiguous then (the
// formula's terms differ by more than ~2^-600, e.g. silu(x) = x - x e^-x at x > 420 where x is
// a midpoint) is marked in Rounded::either.
constexpr int kEscalationBits = 512;

template <class Compute>
RefValue eval_ziv(int extra_bits, unsigned formats, int count, Compute compute) {
  widest_exponent_range();
  for (int extra = extra_bits;; extra += kEscalationBits) {
    WorkingPrecision wp(kBasePrecision + extra);
    mpfr_clear_inexflag();
    Real outs[3];
    compute(outs);
    const bool exact = mpfr_inexflag_p() == 0;
    RefValue v;
    v.count = count;
    unsigned ambiguous[3] = {0, 0, 0};
    bool any = false;
    for (int k = 0; k < count; ++k) {
      v.out[k] = round_all(outs[k].get(), exact, &ambiguous[k]);
      ambiguous[k] &= formats;
      any |= ambiguous[k] != 0;
    }
    if (!any) return v;
    if (extra > extra_bits) {
      for (int k = 0; k < count; ++k) v.out[k].either = static_cast<std::uint8_t>(ambiguous[k]);
      return v;
    }
  }
}

} // namespace

RefValue Reference::eval(double x, int extra_bits, unsigned formats) const {
  return eval_ziv(extra_bits, formats, 2, [&](Real* outs) {
    UnaryOut r = eval_unary(*entry_, Real(x), p_.data());
    outs[0] = std::move(r.f);
    outs[1] = std::move(r.df);
  });
}

RefValue Reference::eval(double a, double b, int extra_bits, unsigned formats) const {
  return eval_ziv(extra_bits, formats, 3, [&](Real* outs) {
    GatedOut r = eval_gated(*entry_, Real(a), Real(b), p_.data());
    outs[0] = std::move(r.out);
    outs[1] = std::move(r.da);
    outs[2] = std::move(r.db);
  });
}

std::vector<double> Reference::kinks() const {
  const Entry& e = entry_->gate_entry ? *entry_->gate_entry : *entry_;
  if (entry_->kinks) return entry_->kinks(p_.data());
  return e.kinks ? e.kinks(p_.data()) : std::vector<double>{};
}

std::vector<double> Reference::b_kinks() const {
  return entry_->b_kinks ? entry_->b_kinks(p_.data()) : std::vector<double>{};
}

double Reference::b_for(double a) const {
  if (b_table_.empty()) return 1;
  return b_table_[splitmix(bits_of(a)) % b_table_.size()];
}

std::vector<std::string> reference_names() {
  std::vector<std::string> names;
  for (const Entry& e : table()) names.push_back(e.name);
  return names;
}

std::vector<std::pair<std::string, double>> reference_params(const std::string& name) {
  std::vector<std::pair<std::string, double>> r;
  if (const Entry* e = find_entry(name))
    for (const auto& pr : e->params) r.emplace_back(pr.first, pr.second);
  return r;
}

std::vector<std::string> reference_variants(const std::string& name) {
  std::vector<std::string> r;
  if (const Entry* e = find_entry(name))
    for (const char* v : e->variants) r.push_back(v);
  return r;
}

Rounded round_text(const char* text) {
  widest_exponent_range();
  mpfr_t v;
  mpfr_init2(v, 256);
  mpfr_set_str(v, text, 0, MPFR_RNDN);
  unsigned ambiguous = 0;
  const Rounded r = round_all(v, true, &ambiguous);
  mpfr_clear(v);
  return r;
}

std::string self_check() {
  widest_exponent_range();
  WorkingPrecision wp(kBasePrecision);
  // Phi(x) = erfc(-x / sqrt 2) / 2 by mpfr_erfc, at points on both sides of kSeriesLimit and
  // in the far tails, must round to the same binary64 as normal_cdf.
  const double xs[] = {-40.0, -12.5, -9.0, -8.4852, -8.49, -6.0, -3.3, -1.0, -1e-3,
                       0.0,   0.7,   2.9,  5.5,     8.48,  8.5,  9.9,  14.0, -1e-300};
  char buf[160];
  for (double xd : xs) {
    const Real x = xd;
    Real ref;
    {
      WorkingPrecision more(2 * kBasePrecision);
      Real zz = -Real(xd) / sqrt(Real(2));
      Real e;
      mpfr_erfc(e.get(), zz.get(), MPFR_RNDN);
      ref = e / 2;
    }
    const Real got = normal_cdf(x);
    const double g = mpfr_get_d(got.get(), MPFR_RNDN), r = mpfr_get_d(ref.get(), MPFR_RNDN);
    if (g != r) {
      std::snprintf(buf, sizeof buf, "normal_cdf(%a) = %a but mpfr_erfc gives %a", xd, g, r);
      return buf;
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Harness: samples, ulps, the tolerance table and the measurement.

bool quick_mode() {
  const char* q = std::getenv("ACTGRAD_QUICK");
  return q && std::strcmp(q, "0") != 0 && q[0] != '\0';
}

double round_to(DType t, double v) {
  if (t == DType::f64 || std::isnan(v)) return v;
  mpfr_t m;
  mpfr_init2(m, 64);
  mpfr_set_d(m, v, MPFR_RNDN);
  const double r = round_format(m, format_of(t));
  mpfr_clear(m);
  return r;
}

namespace {

// Largest finite value of t.
double max_finite(DType t) {
  switch (t) {
  case DType::f64:
    return std::numeric_limits<double>::max();
  case DType::f32:
    return std::numeric_limits<float>::max();
  case DType::f16:
    return 65504.0; // (2 - 2^-10) 2^15
  case DType::bf16:
    return to_float(bfloat16_t{0x7f7f});
  }
  return 0;
}

// The next value of t above (dir > 0) or below v, v being a value of t.
double next_in(DType t, double v, int dir) {
  const double inf = std::numeric_limits<double>::infinity();
  switch (t) {
  case DType::f64:
    return std::nextafter(v, dir > 0 ? inf : -inf);
  case DType::f32:
    return std::nextafter(static_cast<float>(v), dir > 0 ? float(inf) : -float(inf));
  case DType::f16:
  case DType::bf16: {
    // Step the 16-bit pattern in sign-magnitude order.
    const bool half = t == DType::f16;
    std::uint16_t bits = half ? to_half(float(v)).bits : to_bfloat16(float(v)).bits;
    const bool neg = (bits & 0x8000u) != 0 && (bits & 0x7fffu) != 0;
    if ((bits & 0x7fffu) == 0)
      bits = dir > 0 ? 0x0001 : 0x8001;
    else if (neg == (dir > 0))
      --bits;
    else
      ++bits;
    return half ? to_float(half_t{bits}) : to_float(bfloat16_t{bits});
  }
  }
  return v;
}

void add_neighbours(std::vector<double>& xs, DType t, double k, int n) {
  double up = round_to(t, k), down = up;
  xs.push_back(up);
  for (int i = 0; i < n; ++i) {
    up = next_in(t, up, 1);
    down = next_in(t, down, -1);
    xs.push_back(up);
    xs.push_back(down);
  }
}

void dedupe(std::vector<double>& xs) {
  std::vector<double> nans, rest;
  for (double v : xs) (std::isnan(v) ? nans : rest).push_back(v);
  std::sort(rest.begin(), rest.end(), [](double a, double b) { return bits_of(a) < bits_of(b); });
  rest.erase(std::unique(rest.begin(), rest.end(),
                         [](double a, double b) { return bits_of(a) == bits_of(b); }),
             rest.end());
  if (!nans.empty()) rest.push_back(std::numeric_limits<double>::quiet_NaN());
  xs.swap(rest);
}

// Sample sizes (full / quick). f32: the f16 and bf16 values (~110k) plus kStratF32 random
// significands per exponent and sign (2 * 255 * 160 ~ 82k) plus kUniform + kWideUniform uniform
// points
// (~82k): ~2^18 in all. f64: 2 * 2047 * 40 ~ 164k stratified plus the same uniform points.
constexpr int kStratF32 = 160, kStratF32Quick = 16;
constexpr int kStratF64 = 40, kStratF64Quick = 4;
constexpr int kUniform = 1 << 16, kWideUniform = 1 << 14; // in [-16, 16] and [-128, 128]
constexpr int kQuickDivisor = 10;
constexpr int kQuickStride = 7; // 16-bit patterns in quick mode: every 7th (odd, so both
                                // mantissa parities and all exponents are visited)
constexpr int kKinkNeighbours = 16;

} // namespace

std::vector<double> special_values(DType t) {
  const double dmin = std::numeric_limits<double>::denorm_min();
  std::vector<double> raw = {0.0,
                             1.0,
                             1e30,
                             double(std::numeric_limits<float>::max()),
                             double(std::numeric_limits<float>::denorm_min()),
                             double(std::numeric_limits<float>::min()),
                             1e300,
                             std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::min(),
                             dmin,
                             max_finite(t),
                             std::numeric_limits<double>::infinity()};
  std::vector<double> xs;
  for (double v : raw)
    for (double s : {1.0, -1.0}) xs.push_back(round_to(t, s * v));
  // Smallest, a middle and the largest subnormal of t.
  for (double s : {1.0, -1.0}) {
    const double small = next_in(t, 0.0, 1);
    const double min_normal = t == DType::f64   ? std::numeric_limits<double>::min()
                              : t == DType::f16 ? 6.103515625e-05 // 2^-14
                                                : double(std::numeric_limits<float>::min());
    xs.push_back(s * small);
    xs.push_back(s * next_in(t, min_normal, -1));
    xs.push_back(s * round_to(t, std::sqrt(small * min_normal)));
    xs.push_back(s * min_normal);
  }
  xs.push_back(std::numeric_limits<double>::quiet_NaN());
  dedupe(xs);
  return xs;
}

std::vector<double> sample(DType t, const Reference& r, bool quick) {
  std::vector<double> xs;
  std::mt19937_64 rng(0x5eed0000u + static_cast<unsigned>(t));
  const auto all16 = [&](bool half, int stride) {
    for (std::uint32_t b = 0; b < 0x10000u; b += stride)
      xs.push_back(half ? to_float(half_t{std::uint16_t(b)})
                        : to_float(bfloat16_t{std::uint16_t(b)}));
  };
  const int stride = quick ? kQuickStride : 1;
  const auto uniform = [&](int n, double lim) {
    std::uniform_real_distribution<double> u(-lim, lim);
    for (int i = 0; i < n; ++i) xs.push_back(round_to(t, u(rng)));
  };
  switch (t) {
  case DType::f16:
    all16(true, stride);
    break;
  case DType::bf16:
    all16(false, stride);
    break;
  case DType::f32: {
    all16(true, stride);
    all16(false, stride);
    const int k = quick ? kStratF32Quick : kStratF32;
    for (std::uint32_t sign = 0; sign < 2; ++sign)
      for (std::uint32_t e = 0; e < 255; ++e)
        for (int i = 0; i < k; ++i) {
          const std::uint32_t mant = static_cast<std::uint32_t>(rng()) & 0x7fffffu;
          xs.push_back(detail::bits_float((sign << 31) | (e << 23) | mant));
        }
    uniform(quick ? kUniform / kQuickDivisor : kUniform, 16);
    uniform(quick ? kWideUniform / kQuickDivisor : kWideUniform, 128);
    break;
  }
  case DType::f64: {
    const int k = quick ? kStratF64Quick : kStratF64;
    for (std::uint64_t sign = 0; sign < 2; ++sign)
      for (std::uint64_t e = 0; e < 2047; ++e)
        for (int i = 0; i < k; ++i) {
          const std::uint64_t u = (sign << 63) | (e << 52) | (rng() & ((1ull << 52) - 1));
          double v;
          std::memcpy(&v, &u, sizeof v);
          xs.push_back(v);
        }
    uniform(quick ? kUniform / kQuickDivisor : kUniform, 16);
    uniform(quick ? kWideUniform / kQuickDivisor : kWideUniform, 128);
    break;
  }
  }
  for (double k : r.kinks()) add_neighbours(xs, t, k, kKinkNeighbours);
  for (double v : special_values(t)) xs.push_back(v);
  dedupe(xs);
  return xs;
}

double ulp_distance(DType t, double got, double expected) {
  const bool gn = std::isnan(got), en = std::isnan(expected);
  if (gn || en) return gn && en ? 0 : std::numeric_limits<double>::infinity();
  // Sign-magnitude bit patterns mapped to a line where adjacent values differ by 1.
  std::int64_t a = 0, b = 0;
  switch (t) {
  case DType::f64: {
    const auto ord = [](double v) {
      const std::uint64_t u = bits_of(v);
      const std::int64_t mag = static_cast<std::int64_t>(u & 0x7fffffffffffffffull);
      return (u >> 63) ? -mag : mag;
    };
    a = ord(got);
    b = ord(expected);
    // |a - b| may exceed int64: opposite signs add magnitudes in uint64 (each < 2^63).
    const auto mag = [](std::int64_t v) {
      return v < 0 ? std::uint64_t(-(v + 1)) + 1 : std::uint64_t(v);
    };
    if ((a < 0) != (b < 0)) return static_cast<double>(mag(a) + mag(b));
    return static_cast<double>(a > b ? std::uint64_t(a - b) : std::uint64_t(b - a));
  }
  case DType::f32: {
    const auto ord = [](double v) {
      const std::uint32_t u = detail::float_bits(static_cast<float>(v));
      const std::int64_t mag = u & 0x7fffffffu;
      return (u >> 31) ? -mag : mag;
    };
    a = ord(got);
    b = ord(expected);
    break;
  }
  case DType::f16:
  case DType::bf16: {
    const bool half = t == DType::f16;
    const auto ord = [half](double v) {
      const std::uint16_t u =
          half ? to_half(static_cast<float>(v)).bits : to_bfloat16(static_cast<float>(v)).bits;
      const std::int64_t mag = u & 0x7fffu;
      return (u >> 15) ? -mag : mag;
    };
    a = ord(got);
    b = ord(expected);
    break;
  }
  }
  return static_cast<double>(a > b ? a - b : b - a);
}

double ulp_of(DType t, double m) {
  const Format& f = format_of(t);
  m = std::fabs(m);
  if (std::isinf(m) || std::isnan(m)) return m;
  if (m == 0) return std::ldexp(1.0, static_cast<int>(f.min_sub_exp));
  const int e = std::ilogb(m); // m in [2^e, 2^(e+1))
  return std::ldexp(1.0, static_cast<int>(std::max<long>(e - (f.precision - 1), f.min_sub_exp)));
}

const char* out_name(bool gated, int slot) {
  static const char* const kUnary[] = {"f", "f'", "-", "forward f"};
  static const char* const kGated[] = {"out", "d/da", "d/db", "gated_forward out"};
  return gated ? kGated[slot] : kUnary[slot];
}

std::string hex(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// THE TOLERANCE TABLE.
//
// Defaults (SPEC §3), in ulps of the dtype from the correctly rounded result:
//   f32, f64: values (f, forward, out, d/db = act(a)) 2; derivatives (f', d/da) 4.
//   f16, bf16: 1 for every output.
// A row may widen the bound of one (activation, output, dtypes) with its reason, or add an
// absolute rule where f or f' crosses zero inside the domain: there f is a difference of terms
// of size M (the magnitude function), so relative error is ill-conditioned; the rule accepts
// |got - exact| <= abs_k ulp(M) where abs(exact) <= M/2 (the terms cancel by half or more).
// No row is keyed by input index; every row says why.

namespace {

// The abs rows apply to f32 and f64, each computed in its own precision. f16 and bf16 need none:
// their float result is rounded to 8 or 11 bits, far coarser than float's absolute error near
// a zero of f'.
constexpr unsigned kWide = (1u << int(DType::f32)) | (1u << int(DType::f64));

double sigm(double z) { return 1 / (1 + std::exp(-z)); }
// Terms of d/dx [x sigmoid(k x)] = sigmoid(kx) + kx sigmoid(kx) sigmoid(-kx).
double x_sigmoid_terms(double x, double k) {
  const double z = k * x;
  return std::max(sigm(z), std::fabs(z) * sigm(z) * sigm(-z));
}
// Terms of gelu' = Phi(x) + x phi(x).
double gelu_terms(double x) {
  const double cdf = 0.5 * std::erfc(-x / std::sqrt(2.0));
  const double pdf = std::exp(-x * x / 2) / std::sqrt(2 * 3.14159265358979323846);
  return std::max(cdf, std::fabs(x) * pdf);
}
// Terms of gelu_tanh' = (1 + tanh u)/2 + x/2 sech^2(u) u'.
double gelu_tanh_terms(double x) {
  const double c = std::sqrt(2 / 3.14159265358979323846), k = 0.044715;
  const double u = c * (x + k * x * x * x);
  const double sech = 1 / std::cosh(u);
  return std::max(sigm(2 * u), std::fabs(x) / 2 * sech * sech * c * (1 + 3 * k * x * x));
}
// Terms of mish' = tanh(sp) + x sech^2(sp) sigmoid(x).
double mish_terms(double x) {
  const double sp = std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.0);
  const double sech = 1 / std::cosh(sp);
  return std::max(std::tanh(sp), std::fabs(x) * sech * sech * sigm(x));
}
// Clamped b + 1 of clamped_swiglu.
double clamped_lin(const Activation& a, double b) {
  const double limit = a.param("limit");
  return std::fabs(std::min(std::max(b, -limit), limit) + 1);
}

struct ToleranceRow {
  const char* name;
  unsigned dtypes; // bit (1 << int(DType))
  int slot;        // Out
  double max_ulp;  // < 0: keep the default
  double (*magnitude)(const Activation&, double x, double b);
  double abs_k;
  const char* reason;
};

const ToleranceRow kTolerance[] = {
    {"silu", kWide, 1, -1,
     [](const Activation&, double x, double) { return x_sigmoid_terms(x, 1); }, 4,
     "f' = s(x) + x s(x) s(-x) has a zero at x = -1.2785 where the two terms cancel"},
    {"swish", kWide, 1, -1,
     [](const Activation& a, double x, double) { return x_sigmoid_terms(x, a.param("beta")); }, 4,
     "f' = s(bx) + bx s(bx) s(-bx) has a zero at bx = -1.2785 where the two terms cancel"},
    {"quick_gelu", kWide, 1, -1,
     [](const Activation&, double x, double) { return x_sigmoid_terms(x, 1.702); }, 4,
     "f' = s(kx) + kx s(kx) s(-kx) has a zero at 1.702x = -1.2785 where the two terms cancel"},
    {"gelu", kWide, 1, -1, [](const Activation&, double x, double) { return gelu_terms(x); }, 4,
     "f' = Phi(x) + x phi(x) has a zero at x = -0.7518 where the two terms cancel"},
    {"gelu_tanh", kWide, 1, -1,
     [](const Activation&, double x, double) { return gelu_tanh_terms(x); }, 4,
     "f' = (1 + tanh u)/2 + x sech^2(u) u'/2 has a zero near x = -0.75 where the terms cancel"},
    {"mish", kWide, 1, -1, [](const Activation&, double x, double) { return mish_terms(x); }, 4,
     "f' = tanh(sp) + x sech^2(sp) s(x) has a zero at x = -1.1924 where the two terms cancel"},
    {"swiglu", kWide, 1, -1,
     [](const Activation&, double a, double b) { return std::fabs(b) * x_sigmoid_terms(a, 1); }, 4,
     "d/da = b silu'(a): silu' has a zero at a = -1.2785 where its terms cancel"},
    {"qgeglu", kWide, 1, -1,
     [](const Activation&, double a, double b) { return std::fabs(b) * x_sigmoid_terms(a, 1.702); },
     4, "d/da = b quick_gelu'(a): quick_gelu' has a zero where its terms cancel"},
    {"geglu", kWide, 1, -1,
     [](const Activation&, double a, double b) { return std::fabs(b) * gelu_terms(a); }, 4,
     "d/da = b gelu'(a): gelu' has a zero at a = -0.7518 where its terms cancel"},
    {"geglu_tanh", kWide, 1, -1,
     [](const Activation&, double a, double b) { return std::fabs(b) * gelu_tanh_terms(a); }, 4,
     "d/da = b gelu_tanh'(a): gelu_tanh' has a zero near a = -0.75 where its terms cancel"},
    {"clamped_swiglu", kWide, 1, -1,
     [](const Activation& act, double a, double b) {
       return clamped_lin(act, b) * x_sigmoid_terms(a, act.param("alpha"));
     },
     4,
     "d/da = (b_c + 1) swish'(a): swish' has a zero at alpha a = -1.2785 where its terms cancel"},
};

} // namespace

Bound bound_for(const Activation& act, DType t, int slot) {
  const bool wide = t == DType::f32 || t == DType::f64;
  const bool derivative = slot == int(Out::df);
  Bound b{wide ? (derivative ? 4.0 : 2.0) : 1.0};
  b.reason = wide ? (derivative ? "SPEC §3: f' <= 4 ulp" : "SPEC §3: f <= 2 ulp")
                  : "SPEC §3: 16-bit within 1 ulp of the correctly rounded result";
  const int check_slot = slot == int(Out::fwd) ? int(Out::f) : slot;
  for (const ToleranceRow& row : kTolerance) {
    if (std::strcmp(row.name, act.name()) != 0 || row.slot != check_slot) continue;
    if (!(row.dtypes & (1u << int(t)))) continue;
    if (row.max_ulp >= 0) b.max_ulp = row.max_ulp;
    if (row.magnitude) {
      b.magnitude = row.magnitude;
      b.abs_k = row.abs_k;
    }
    b.reason = row.reason;
  }
  return b;
}

std::vector<ToleranceInfo> tolerance_table() {
  std::vector<ToleranceInfo> r;
  for (const ToleranceRow& row : kTolerance) {
    ToleranceInfo info;
    info.name = row.name;
    const bool gated = Activation::parse(row.name).is_gated();
    info.output = out_name(gated, row.slot);
    for (DType t : {DType::f16, DType::bf16, DType::f32, DType::f64})
      if (row.dtypes & (1u << int(t)))
        info.dtypes += std::string(info.dtypes.empty() ? "" : " ") + dtype_name(t);
    char buf[96];
    if (row.max_ulp >= 0) {
      std::snprintf(buf, sizeof buf, "max %g ulp", row.max_ulp);
      info.rule = buf;
    }
    if (row.magnitude) {
      std::snprintf(buf, sizeof buf, "abs %g ulp(M) where abs(exact) <= M/2", row.abs_k);
      info.rule += (info.rule.empty() ? "" : "; ") + std::string(buf);
    }
    info.reason = row.reason;
    r.push_back(info);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Measurement.

namespace {

// References of the current activation for f32-representable inputs, shared by its f16, bf16
// and f32 measurements (the f16 and bf16 values are part of the f32 sample).
struct RefCache {
  std::string key;
  std::unordered_map<std::uint64_t, RefValue> map;
};
RefCache& ref_cache() {
  static RefCache c;
  return c;
}

template <class S>
S to_storage(double v) {
  if constexpr (std::is_same<S, double>::value)
    return v;
  else if constexpr (std::is_same<S, float>::value)
    return static_cast<float>(v);
  else if constexpr (std::is_same<S, half_t>::value)
    return to_half(static_cast<float>(v));
  else
    return to_bfloat16(static_cast<float>(v));
}
template <class S>
double from_storage(S v) {
  if constexpr (std::is_same<S, double>::value || std::is_same<S, float>::value)
    return v;
  else
    return to_float(v);
}

// Runs the library on the CPU: outputs in the Out slot order, widened to double.
template <class S>
std::vector<std::array<double, 4>> run_library(const Activation& act, const std::vector<double>& xs,
                                               const std::vector<double>& bs) {
  const std::int64_t n = static_cast<std::int64_t>(xs.size());
  std::vector<S> x(xs.size()), b(xs.size()), o0(xs.size()), o1(xs.size()), o2(xs.size()),
      o3(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    x[i] = to_storage<S>(xs[i]);
    if (!bs.empty()) b[i] = to_storage<S>(bs[i]);
  }
  if (act.is_gated()) {
    gated_forward_with_derivative(act, view(x.data(), n), view(b.data(), n), view(o0.data(), n),
                                  view(o1.data(), n), view(o2.data(), n));
    gated_forward(act, view(x.data(), n), view(b.data(), n), view(o3.data(), n));
  } else {
    forward_with_derivative(act, view(x.data(), n), view(o0.data(), n), view(o1.data(), n));
    forward(act, view(x.data(), n), view(o3.data(), n));
  }
  std::vector<std::array<double, 4>> r(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i)
    r[i] = {from_storage(o0[i]), from_storage(o1[i]), act.is_gated() ? from_storage(o2[i]) : 0.0,
            from_storage(o3[i])};
  return r;
}

constexpr std::size_t kFailuresKept = 8;

} // namespace

void record(OutStats& s, const Verdict& v, double x, double b, double got, double expected) {
  if (v.abs_rule) {
    ++s.abs_points;
    s.max_abs_units = std::max(s.max_abs_units, v.abs_units);
  }
  // Points the abs rule accepted do not count towards the max ulp; failures always do.
  if ((!v.abs_rule || !v.ok) && v.ulps > s.max_ulp) {
    s.max_ulp = v.ulps;
    s.worst_x = x;
    s.worst_b = b;
  }
  if (!v.ok) {
    ++s.failures;
    if (s.first.size() < kFailuresKept) s.first.push_back({x, b, got, expected, v.ulps});
  }
}

void merge(OutStats& into, const OutStats& part) {
  if (part.max_ulp > into.max_ulp) {
    into.max_ulp = part.max_ulp;
    into.worst_x = part.worst_x;
    into.worst_b = part.worst_b;
  }
  into.max_abs_units = std::max(into.max_abs_units, part.max_abs_units);
  into.abs_points += part.abs_points;
  into.failures += part.failures;
  for (const Failure& f : part.first)
    if (into.first.size() < kFailuresKept) into.first.push_back(f);
}

std::vector<std::string> catalogue_specs() {
  std::vector<std::string> r;
  for (ActId id : catalogue()) {
    const std::string name = catalogue_info(id).name;
    r.push_back(name);
    for (const std::string& v : reference_variants(name)) r.push_back(name + ":" + v);
  }
  return r;
}

std::string test_name(std::string spec) {
  for (char& c : spec)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return spec;
}

void f32_and_f64_paths(const Activation& act, const float* x, const double* x64, std::int64_t n,
                       double gate_b, float* y, float* d, double* y64, double* d64) {
  if (!act.is_gated()) {
    forward_with_derivative(act, view(x, n), view(y, n), view(d, n));
    forward_with_derivative(act, view(x64, n), view(y64, n), view(d64, n));
    return;
  }
  const auto m = static_cast<std::size_t>(n);
  std::vector<float> bf(m, float(gate_b)), db(m);
  std::vector<double> b64(m, gate_b), db64(m);
  gated_forward_with_derivative(act, view(x, n), view(bf.data(), n), view(y, n), view(d, n),
                                view(db.data(), n));
  gated_forward_with_derivative(act, view(x64, n), view(b64.data(), n), view(y64, n), view(d64, n),
                                view(db64.data(), n));
}

void judge_f32_against_f64(const Activation& act, int slot, const double* x, double b,
                           const float* got, const double* want, std::int64_t n, OutStats& st) {
  const Bound bound = bound_for(act, DType::f32, slot);
  for (std::int64_t i = 0; i < n; ++i) {
    Rounded r;
    r.f64 = want[i];
    r.f32 = float(want[i]);
    const Verdict v = judge(bound, act, DType::f32, x[i], b, double(got[i]), r);
    record(st, v, x[i], b, double(got[i]), double(r.f32));
  }
}

Verdict judge(const Bound& bound, const Activation& act, DType t, double x, double b, double got,
              const Rounded& expected) {
  Verdict v;
  const double e = expected.in(t);
  v.ulps = ulp_distance(t, got, e);
  // An unresolvable midpoint: both neighbours are correctly rounded.
  if (expected.either & (1u << int(t))) v.ulps = std::max(0.0, v.ulps - 1);
  v.ok = v.ulps <= bound.max_ulp;
  if (!v.ok && bound.magnitude && std::isfinite(got) && std::isfinite(e)) {
    const double mag = bound.magnitude(act, x, b);
    if (std::fabs(expected.f64) <= mag / 2) {
      v.abs_rule = true;
      v.abs_units = std::fabs(got - expected.f64) / ulp_of(t, mag);
      v.ok = v.abs_units <= bound.abs_k;
    }
  }
  return v;
}

Measurement measure(const Activation& act, DType t, bool quick) {
  const Reference r(act);
  Measurement m;
  m.act = act.to_string();
  m.dtype = t;
  m.gated = r.gated();
  const std::vector<double> xs = sample(t, r, quick);
  std::vector<double> bs;
  if (m.gated)
    for (double a : xs) bs.push_back(r.b_for(a));
  m.points = static_cast<std::int64_t>(xs.size());

  RefCache& cache = ref_cache();
  if (cache.key != m.act) {
    cache.key = m.act;
    cache.map.clear();
  }
  std::vector<RefValue> refs(xs.size());
  cache.map.reserve(cache.map.size() + xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const bool cacheable = t != DType::f64 && !std::isnan(xs[i]);
    if (cacheable) {
      const auto it = cache.map.find(bits_of(xs[i]));
      if (it != cache.map.end()) {
        refs[i] = it->second;
        continue;
      }
    }
    // Resolve midpoints only in the dtypes whose samples contain this input.
    unsigned formats = 1u << int(DType::f64);
    if (t != DType::f64)
      for (DType u : {DType::f32, DType::f16, DType::bf16})
        if (round_to(u, xs[i]) == xs[i] || std::isinf(xs[i])) formats |= 1u << int(u);
    refs[i] = m.gated ? r.eval(xs[i], bs[i], 0, formats) : r.eval(xs[i], 0, formats);
    if (cacheable) cache.map.emplace(bits_of(xs[i]), refs[i]);
  }

  std::vector<std::array<double, 4>> got;
  switch (t) {
  case DType::f64:
    got = run_library<double>(act, xs, bs);
    break;
  case DType::f32:
    got = run_library<float>(act, xs, bs);
    break;
  case DType::f16:
    got = run_library<half_t>(act, xs, bs);
    break;
  case DType::bf16:
    got = run_library<bfloat16_t>(act, xs, bs);
    break;
  }

  const int slots[] = {0, 1, 2, 3};
  for (int slot : slots) {
    if (slot == int(Out::db) && !m.gated) continue;
    const int ref_slot = slot == int(Out::fwd) ? 0 : slot;
    const Bound bound = bound_for(act, t, slot);
    OutStats& s = m.out[slot];
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const Rounded& expected = refs[i].out[ref_slot];
      const double g = got[i][slot];
      const double b = m.gated ? bs[i] : 0.0;
      record(s, judge(bound, act, t, xs[i], b, g, expected), xs[i], b, g, expected.in(t));
    }
  }
  return m;
}

} // namespace ref
} // namespace actgrad
