// Internal: Gauss-Kronrod 7-15 quadrature (QUADPACK qk15) and two adaptive drivers over it,
// shared by the mean-field (mean_field.cpp) and saturation (saturation.cpp) analyses.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

namespace actgrad::detail {

// Gauss-Kronrod 7-15 on [-1, 1]: Kronrod nodes (positive half, the last is 0), Kronrod weights,
// and the Gauss weights of the odd-indexed nodes (QUADPACK qk15).
inline constexpr double kGkNodes[8] = {
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.000000000000000000000000000000000};
inline constexpr double kGkKronrodWeights[8] = {
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
inline constexpr double kGkGaussWeights[4] = {
    0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
    0.381830050505118944950369775488975, 0.417959183673469387755102040816327};

// One Gauss-Kronrod 7-15 estimate over [a, b]: the Kronrod value and |Kronrod - Gauss|.
struct GkPiece {
  double a, b, value, error;
  bool operator<(const GkPiece& o) const { return error < o.error; } // max-heap on the error
};

template <class F>
GkPiece gauss_kronrod15(F&& f, double a, double b) {
  const double c = 0.5 * (a + b), r = 0.5 * (b - a);
  const double fc = f(c);
  double k = fc * kGkKronrodWeights[7], g = fc * kGkGaussWeights[3];
  for (int j = 0; j < 7; ++j) {
    const double s = f(c - r * kGkNodes[j]) + f(c + r * kGkNodes[j]);
    k += kGkKronrodWeights[j] * s;
    if (j % 2 == 1) g += kGkGaussWeights[j / 2] * s;
  }
  return GkPiece{a, b, k * r, std::fabs((k - g) * r)};
}

// Global adaptive integration over [a, b]: starts from `start` equal pieces and bisects the piece
// with the largest error estimate until the summed estimate is below max(abs_tol, rel_tol *
// |integral|), the total stops being finite, or `max_pieces` pieces exist.
template <class F>
double integrate_global(F&& f, double a, double b, int start, double rel_tol, double abs_tol,
                        int max_pieces) {
  std::priority_queue<GkPiece> heap;
  double total = 0.0, error = 0.0;
  const double width = b - a;
  for (int i = 0; i < start; ++i) {
    const GkPiece p =
        gauss_kronrod15(f, a + width * (double(i) / start), a + width * (double(i + 1) / start));
    total += p.value;
    error += p.error;
    heap.push(p);
  }
  int count = start;
  while (error > std::max(abs_tol, rel_tol * std::fabs(total)) && count < max_pieces) {
    if (!std::isfinite(total)) break;
    const GkPiece p = heap.top();
    heap.pop();
    const double m = 0.5 * (p.a + p.b);
    const GkPiece l = gauss_kronrod15(f, p.a, m), r = gauss_kronrod15(f, m, p.b);
    total += l.value + r.value - p.value;
    error += l.error + r.error - p.error;
    heap.push(l);
    heap.push(r);
    count += 1;
  }
  // Re-add the pieces so accumulated cancellation in `total` does not linger.
  double sum = 0.0;
  while (!heap.empty()) {
    sum += heap.top().value;
    heap.pop();
  }
  return sum;
}

// Splits left to one integral's calls of integrate_local, and whether every piece met its
// tolerance before they ran out.
struct LocalBudget {
  int splits_left;
  bool converged = true;
};

// Local (recursive) adaptive integration over [a, b]: a piece is accepted when its error
// estimate is at most `tol`, at `depth` 0, or when it is too narrow to split; otherwise both
// halves are integrated with tolerance max(tol / 2, floor). Callers scale `tol` and `floor` with
// the size of the integral (an absolute tolerance alone can never be met by an integral of
// 1e16). Every split spends one of `budget`'s; with none left a piece is accepted as it is and
// `budget.converged` is cleared. A piece whose value is not finite is returned at once (NaN, or
// inf where the integrand overflowed): splitting cannot make it finite, and its error estimate
// (inf - inf) would never pass.
template <class F>
double integrate_local(F&& f, double a, double b, double tol, double floor, int depth,
                       LocalBudget& budget) {
  const GkPiece p = gauss_kronrod15(f, a, b);
  if (!std::isfinite(p.value)) return p.value;
  if (p.error <= tol || depth == 0 || !(b - a > 1e-14 * (1 + std::fabs(a)))) return p.value;
  if (budget.splits_left <= 0) {
    budget.converged = false;
    return p.value;
  }
  --budget.splits_left;
  const double m = (a + b) / 2;
  const double t = std::max(tol / 2, floor);
  return integrate_local(f, a, m, t, floor, depth - 1, budget) +
         integrate_local(f, m, b, t, floor, depth - 1, budget);
}

// Integral of f(z) exp(-z^2 / 2) over the half line from `start` (sign +1: to +inf, -1: to
// -inf), through t in [0, 1) with z = start + sign t / (1 - t), by integrate_global from 8 pieces.
// The 1/sqrt(2 pi) of the normal density is left to the caller.
template <class F>
double gaussian_half_line(F&& f, double start, double sign, double rel_tol, int max_pieces) {
  auto h = [&](double t) {
    const double u = 1.0 - t;
    const double z = start + sign * (t / u);
    const double weight = std::exp(-0.5 * z * z);
    if (weight == 0.0) return 0.0; // beyond |z| ~ 38.6; also skips inf * 0
    return f(z) * weight / (u * u);
  };
  return integrate_global(h, 0.0, 1.0, 8, rel_tol, 1e-300, max_pieces);
}

} // namespace actgrad::detail
