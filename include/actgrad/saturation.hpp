// Saturation analysis of one activation (SPEC §6): saturated regions, max|f'|, Gaussian moments,
// and one-pass saturation statistics of a tensor of pre-activations on the CPU or a CUDA GPU.
//
// All scalar analysis runs on the library's own f and f' in double (actgrad::evaluate), so it
// describes exactly what the tensor paths compute. Gated units act(a)*b are analysed through the
// gate: a = x, b = 1 (as evaluate() does); the tensor statistics likewise read x as a with b = 1.
#pragma once

#include <cstdint>
#include <vector>

#include "actgrad/activation.hpp"
#include "actgrad/api.hpp"
#include "actgrad/tensor.hpp"

namespace actgrad {

// One side of the real line (x -> -inf or x -> +inf).
struct SaturationSide {
  // Asymptotic type, independent of eps: hard where f' is exactly 0 beyond some x, soft where
  // f' -> 0 only in the limit, none otherwise (including where f' is NaN, outside the domain).
  Saturation type = Saturation::none;
  // The saturated region on this side is the longest interval reaching to -inf (left) or +inf
  // (right) on which |f'(x)| < threshold: x <= bound (left) or x >= bound (right). bound is -inf
  // (left) or +inf (right) when there is no such region, and NaN when the threshold is undefined
  // (max|f'| unbounded). A region can exist with type none when eps exceeds the asymptotic
  // |f'| relative to max|f'| (leaky_relu with eps > negative_slope).
  double bound = 0;
  // Probability that x ~ N(mean, std^2) falls in the region; NaN when bound is NaN.
  double mass = 0;
};

struct SaturationReport {
  double eps = 0.01;
  // sup |f'(x)| over the real line and a point where it is reached (or approached, for a
  // supremum at a jump such as hardswish at 3). +inf when f' is unbounded (exp, square, sqrt);
  // then argmax is the direction (+-inf) or 0 where it grows without bound.
  double max_abs_derivative = 0;
  double argmax = 0;
  // eps * max_abs_derivative (NaN when that is unbounded).
  double threshold = 0;
  SaturationSide left, right;
  // The input distribution N(mean, std^2) the masses refer to.
  double mean = 0, std = 1;
};

// Saturated regions for |f'| < eps * max|f'| and their mass under N(mean, std^2). The bounds
// come from bisection on f' (to the last bit), so kinks land exactly. Throws
// actgrad::Error(invalid_argument) for eps outside (0, 1), a non-finite mean, or std <= 0 or
// not finite.
SaturationReport saturation(const Activation& act, double eps = 0.01, double mean = 0,
                            double std = 1);

// The activation atlas row: shape of f and f' (SPEC §5 `actgrad atlas`).
struct AtlasEntry {
  double f0 = 0, df0 = 0;        // f(0), f'(0)
  double max_abs_derivative = 0; // as in SaturationReport
  double argmax = 0;             //
  double f_min = 0, f_max = 0;   // inf and sup of f over the line (+-inf included)
  double df_min = 0, df_max = 0; // inf and sup of f'
  double mean_f = 0;             // E[f(z)], z ~ N(0, 1) (NaN where f is NaN on a set of mass)
  double mean_df2 = 0;           // E[f'(z)^2]
  SaturationReport saturation;   // eps = 0.01, N(0, 1)
};

// The atlas row of one activation. E[.] by adaptive Gauss-Kronrod (7-15) on pieces split at 0
// and at the saturation bounds, so kinks cost bisection levels, not accuracy (|error| < 1e-12
// for moments of order 1, relative otherwise); see gaussian_expectation for inf and NaN.
AtlasEntry atlas_entry(const Activation& act);

// E[g(z)] for z ~ N(mean, std^2) of g = f (which = 0) or g = f'^2 (which = 1) or g = f^2
// (which = 2), by the same quadrature. Exposed for the mean-field code and the tests.
// The tolerance per piece is 1e-15 of the integral of |g| (at least 1e-15 absolute), and the
// number of bisections per integral is bounded, so it always returns quickly: inf (or -inf)
// where g overflows a double on a set the quadrature sees (pow:beta=150's E[f'^2], about
// 8e308), NaN where g is NaN there (log for x < 0) or where the bisection budget runs out
// before the tolerance is met.
enum class Moment { f, df2, f2 };
double gaussian_expectation(const Activation& act, Moment which, double mean = 0, double std = 1);

// ---------------------------------------------------------------------------------------------
// Tensor statistics

struct SaturationStatsOptions {
  double eps = 0.01; // saturation threshold relative to max|f'|, as in saturation()
  int bins = 64;     // histogram bins of f', 1 to 4096
  // Histogram range [lo, hi] of f'. When lo >= hi (the default), the range of f' over the line
  // (atlas df_min..df_max, with 0 included); where f' is unbounded, its range over [-8, 8].
  double hist_lo = 0, hist_hi = 0;
  ExecOptions exec; // CUDA stream, CPU threads
};

struct SaturationStats {
  std::int64_t n = 0;     // elements in the tensor
  std::int64_t count = 0; // elements counted: n minus those whose x, f or f' is NaN
  std::int64_t nan = 0;   // elements whose x, f or f' is NaN (excluded from everything below)
  // Elements in the left / right saturated region of saturation(act, eps) (x <= left bound with
  // |f'| < threshold, x >= right bound likewise), anywhere with |f'| < threshold (interior dead
  // zones such as hardshrink's too), and with f' exactly 0 (dead units).
  std::int64_t saturated_left = 0, saturated_right = 0, small_derivative = 0, dead = 0;
  // Fractions of count (0 when count is 0).
  double frac_left = 0, frac_right = 0, frac_small = 0, frac_dead = 0;
  // Mean and population variance of f and f' over the counted elements.
  double mean_f = 0, var_f = 0, mean_df = 0, var_df = 0;
  // Histogram of f': bins equal bins over [hist_lo, hist_hi] (f' = hist_hi goes in the last),
  // and the counts below and above the range.
  double hist_lo = 0, hist_hi = 0;
  std::vector<std::int64_t> histogram;
  std::int64_t below = 0, above = 0;
  // The analysis the regions came from.
  double threshold = 0, left_bound = 0, right_bound = 0;
};

// One read of x (any dtype, CPU or CUDA memory): f and f' come from the functor's fused() in the
// engine's compute type (the storage type: float for f32/f16/bf16, double for f64, as the
// elementwise engine computes them; on the CPU, the engine's per-ISA build) and are accumulated
// in double (blocked sums in a fixed lane order, shifted by the first element's values, so 2^28
// elements stay accurate); counts are 32-bit per block. The result is deterministic: the same
// bits run to run and, on the CPU, for any thread count on one machine. On CUDA it runs on
// opt.exec.stream and synchronises that stream before returning.
// Throws actgrad::Error for bad options (naming them) and for CUDA views in a build or process
// without CUDA (unavailable).
SaturationStats saturation_stats(const Activation& act, ConstTensorView x,
                                 const SaturationStatsOptions& opt = {});

} // namespace actgrad
