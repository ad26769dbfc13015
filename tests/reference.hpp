// Independent MPFR reference for every activation of SPEC §2, and the accuracy harness (samples,
// ulp measure, the one tolerance table) shared by test_accuracy and accuracy_report.
//
// The reference is written from the definitions (PyTorch torch.nn.functional, else JAX, else
// oneDNN) and never includes the functor headers, so a wrong functor cannot agree with itself.
// Every entry computes f and f' (gated units: out, d/da, d/db) in MPFR at 160 bits or more and is
// then rounded once, to nearest even, into each dtype: that is the "correctly rounded" result the
// SPEC §3 ulp goals are measured against.
//
//   actgrad::ref::Reference r(actgrad::Activation::parse("softplus:beta=2"));
//   actgrad::ref::RefValue v = r.eval(0.5);   // v.out[0] = f, v.out[1] = f', in every dtype
//
// Adding an activation costs one entry in the table at the top of reference.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "actgrad/activation.hpp"
#include "actgrad/dtype.hpp"

namespace actgrad {
namespace ref {

// One exact value rounded to nearest-even into every dtype (subnormals and overflow to inf as
// IEEE binary64/32/16 and bfloat16 do).
struct Rounded {
  double f64 = 0;
  float f32 = 0;
  half_t f16{0};
  bfloat16_t bf16{0};
  // Bit (1 << DType) set where the exact value lies within 2^-600 of a midpoint that the
  // reference could not resolve: both neighbours count as correctly rounded there.
  std::uint8_t either = 0;
  // The exact value is ±inf (not merely too large for a dtype), e.g. sqrt'(0).
  bool infinite = false;
  // The value in dtype `t`, widened exactly to double.
  double in(DType t) const;
};

// Reference outputs at one input: unary {f, f'}; gated {out, d out/da, d out/db}.
struct RefValue {
  int count = 0;
  Rounded out[3];
};

struct Entry; // one row of the table in reference.cpp

class Reference {
public:
  // Throws std::runtime_error when the table has no entry for the activation, or when the
  // catalogue's parameter names differ from the reference's (SPEC §2 names).
  explicit Reference(const Activation& act);

  bool gated() const;
  // Unary f, f' at x (`extra_bits` more working precision: used to check the reference itself).
  // Roundings are resolved (Ziv) for the dtypes in `formats` (bits 1 << DType); the others are
  // filled too but may be off by one at a midpoint.
  RefValue eval(double x, int extra_bits = 0, unsigned formats = 0xf) const;
  // Gated out, d/da, d/db at (a, b).
  RefValue eval(double a, double b, int extra_bits = 0, unsigned formats = 0xf) const;
  // Inputs where f or f' is not smooth (kinks, switches such as softplus's threshold); for gated
  // units these are in a. f' takes the SPEC §2 convention there.
  std::vector<double> kinks() const;
  // Gated units: values of b where d/db is not smooth (clamped_swiglu's clamp).
  std::vector<double> b_kinks() const;
  // Companion b for gated input a: a function of a alone (so results can be cached across
  // dtypes), drawn from values exact in every dtype, b's kinks and their neighbours included.
  double b_for(double a) const;

private:
  const Entry* entry_;
  std::vector<double> p_;       // parameter values in the reference's own order
  std::vector<double> b_table_; // the values b_for draws from
};

// Names of all reference entries (SPEC §2), their parameters with SPEC defaults, and the extra
// parameter sets ("beta=0.5") that the accuracy test runs besides the defaults.
std::vector<std::string> reference_names();
std::vector<std::pair<std::string, double>> reference_params(const std::string& name);
std::vector<std::string> reference_variants(const std::string& name);

// Decimal (or hex-float) text parsed at 256 bits and rounded into every dtype: checks the
// rounding on ties, subnormals and overflow.
Rounded round_text(const char* text);
// Cross-checks the reference's own special functions (normal CDF by series and continued
// fraction) against MPFR's erfc. Returns "" or a description of the first mismatch.
std::string self_check();

// ---------------------------------------------------------------------------------------------
// Accuracy harness.

// Whether ACTGRAD_QUICK=1 is set: samples ~10x smaller (f16/bf16 strided), specials kept.
bool quick_mode();

// Test inputs exactly representable in `t`: f16/bf16 every bit pattern (a stride in quick mode);
// f32/f64 stratified over every exponent and sign, dense in [-16, 16] and [-128, 128], kinks and
// their neighbours, and the special classes (±0, subnormals, ±1e30, ±FLT_MAX, ±inf, NaN).
std::vector<double> sample(DType t, const Reference& r, bool quick);
// The special classes alone, rounded into `t`.
std::vector<double> special_values(DType t);

// Distance in representable values of `t` between two values of `t` (±0 equal); NaN vs NaN is 0,
// NaN vs number is +inf.
double ulp_distance(DType t, double got, double expected);
// Spacing of `t` at magnitude m (subnormal spacing below the normal range).
double ulp_of(DType t, double m);
// `v` rounded to nearest even into `t` and widened back to double.
double round_to(DType t, double v);

// Output slots of a measurement: unary {f, f', forward()}, gated {out, d/da, d/db, forward()}.
enum class Out { f = 0, df = 1, db = 2, fwd = 3 };
const char* out_name(bool gated, int slot);

// One failing point, for messages.
struct Failure {
  double x = 0, b = 0, got = 0, expected = 0, ulps = 0;
};

// Statistics of one output over a sample.
struct OutStats {
  double max_ulp = 0; // over points judged by ulps (all but those the abs rule accepted)
  double worst_x = 0, worst_b = 0;
  double max_abs_units = 0; // abs-rule points: max |err| / ulp(magnitude of the terms)
  std::int64_t abs_points = 0;
  std::int64_t failures = 0;
  std::vector<Failure> first; // the first few failures
};

// The bound for one (activation, dtype, output) and its reason, from the tolerance table.
struct Bound {
  double max_ulp;
  // Absolute rule near a zero of f or f' (nullptr when none): where the exact value is at most
  // half the magnitude M of the formula's terms, |got - exact| <= abs_k * ulp_of(t, M) passes.
  double (*magnitude)(const Activation&, double x, double b) = nullptr;
  double abs_k = 0;
  const char* reason = "";
};
Bound bound_for(const Activation& act, DType t, int slot);

// The rows of the tolerance table, for documentation (accuracy_report prints them).
struct ToleranceInfo {
  std::string name;   // activation
  std::string output; // "f", "f'", "out", "d/da", ...
  std::string dtypes; // "f16 bf16 f32 f64"
  std::string rule;   // "max 3 ulp" or "abs 4 ulp(M) where |exact| <= M/2"
  std::string reason;
};
std::vector<ToleranceInfo> tolerance_table();

// One output judged against its bound: ulps from the correctly rounded value (less one at an
// unresolved midpoint), and the abs rule where it applies.
struct Verdict {
  bool ok = false;
  double ulps = 0;
  bool abs_rule = false; // the abs rule applied (the point is near a zero of the output)
  double abs_units = 0;  // |got - exact| / ulp(magnitude of the terms)
};
Verdict judge(const Bound& bound, const Activation& act, DType t, double x, double b, double got,
              const Rounded& expected);
// Adds one judged point to an output's statistics (`expected` is the value in the dtype).
void record(OutStats& s, const Verdict& v, double x, double b, double got, double expected);
// Folds the statistics of another part of the same run into `into`.
void merge(OutStats& into, const OutStats& part);

// Every catalogue entry with default parameters, each followed by its reference_variants as
// "name:p=v,...": the parameter list of the accuracy tests, generated, so a new catalogue row is
// tested without touching them. test_name: the spec with every character outside [A-Za-z0-9]
// replaced by '_' (gtest names).
std::vector<std::string> catalogue_specs();
std::string test_name(std::string spec);

// The CPU's f32 and f64 paths of forward_with_derivative at the n inputs x (x64: the same in
// double) into y, d (f32) and y64, d64 (f64); gated units run gated_forward_with_derivative with
// every b = gate_b, d = d/da.
void f32_and_f64_paths(const Activation& act, const float* x, const double* x64, std::int64_t n,
                       double gate_b, float* y, float* d, double* y64, double* d64);

// The f32 path against the f64 path (exhaustive_report, test_accuracy_stratified): judges the
// f32 outputs got[i] of one slot (0 = f or out, 1 = f' or d/da) against the f64 path's want[i]
// rounded to f32, with bound_for(act, f32, slot) and its abs rule, at inputs x[i] (gated: b),
// i in [0, n). The f64 path is within 2 ulp of double (docs/accuracy.md), so its rounding to
// f32 is the correctly rounded value except within about 2^-28 relative of a midpoint.
void judge_f32_against_f64(const Activation& act, int slot, const double* x, double b,
                           const float* got, const double* want, std::int64_t n, OutStats& st);

struct Measurement {
  std::string act;
  DType dtype = DType::f32;
  bool gated = false;
  std::int64_t points = 0;
  OutStats out[4];
};

// Runs forward_with_derivative and forward (gated: gated_forward_with_derivative and
// gated_forward) on the CPU over sample(t), compares each output with the reference, and applies
// the tolerance table. References for f32-representable inputs are cached across dtypes of the
// same activation (f16, bf16 and f32 share inputs).
Measurement measure(const Activation& act, DType t, bool quick);

// Hex-float text of a double ("0x1.8p+1", "nan", "inf").
std::string hex(double v);

} // namespace ref
} // namespace actgrad
