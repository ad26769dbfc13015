// Test helper shared by the engine-body, GPU and statistics tests: storage conversions and the one
// "agrees with the CPU path" tolerance.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "actgrad/dtype.hpp"

namespace actgrad_test {

template <class S>
double to_double(S v) {
  return double(actgrad::Storage<S>::load(v));
}

// v rounded to storage type S (through S's compute type, as the library stores results).
template <class S>
S from_double(double v) {
  return actgrad::Storage<S>::store(typename actgrad::Storage<S>::compute(v));
}

// Unit roundoff times 2 of storage type S.
template <class S>
double storage_epsilon() {
  return std::is_same<S, double>::value            ? 0x1p-52
         : std::is_same<S, float>::value           ? 0x1p-23
         : std::is_same<S, actgrad::half_t>::value ? 0x1p-10
                                                   : 0x1p-7; // bf16
}

// Two results of the same functor from two paths (CPU loop vs CUDA body or GPU). SPEC §3 puts
// each within 2 ulp (value) and 4 ulp (derivative) of the correctly rounded result for f32/f64,
// so they are within 2 x 4 = 8 ulp of each other; f16/bf16 are within 1 ulp each, so 2 apart.
// Near a zero of the formula the bound is that many ulps of the magnitude of its terms,
// `term_scale` (the tests pass prod max(1, |input|)). NaN matches NaN only.
template <class S>
bool agrees_with_cpu(S got, S cpu, double term_scale) {
  const double g = to_double(got), c = to_double(cpu);
  if (std::isnan(g) || std::isnan(c)) return std::isnan(g) && std::isnan(c);
  if (g == c) return true;
  if (std::isinf(g) || std::isinf(c)) return false;
  const double ulps = sizeof(S) >= 4 ? 8 : 2;
  return std::fabs(g - c) <= ulps * storage_epsilon<S>() * std::max(std::fabs(c), term_scale);
}

} // namespace actgrad_test
