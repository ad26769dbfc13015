// Scalar math shims for float and double that compile for host and device (one spelling for both).
#pragma once

#include <cmath>
#include <limits>

#include "actgrad/config.hpp"
#include "actgrad/float_math.hpp"

namespace actgrad {
namespace math {

#define ACTGRAD_MATH_UNARY(name, fname, dname)                                                     \
  ACTGRAD_HOST_DEVICE float name(float x) { return ::fname(x); }                                   \
  ACTGRAD_HOST_DEVICE double name(double x) { return ::dname(x); }

// exp, expm1, log and log1p: float has its own (float_math.hpp), double takes libm.
#define ACTGRAD_MATH_OWN_FLOAT(name)                                                               \
  ACTGRAD_HOST_DEVICE float name(float x) { return fl::name(x); }                                  \
  ACTGRAD_HOST_DEVICE double name(double x) { return ::name(x); }
ACTGRAD_MATH_OWN_FLOAT(exp)
ACTGRAD_MATH_OWN_FLOAT(expm1)
ACTGRAD_MATH_OWN_FLOAT(log)
ACTGRAD_MATH_OWN_FLOAT(log1p)
#undef ACTGRAD_MATH_OWN_FLOAT
// e^x - 1 and e^x for x <= 0: float from one range reduction (fl::expm1_exp), double libm's.
template <class T>
struct Expm1Exp {
  T em1, e;
};
ACTGRAD_HOST_DEVICE Expm1Exp<float> expm1_exp(float x) {
  const fl::Expm1Exp r = fl::expm1_exp(x);
  return {r.em1, r.e};
}
ACTGRAD_HOST_DEVICE Expm1Exp<double> expm1_exp(double x) { return {::expm1(x), ::exp(x)}; }
// 1/d rounded once: float through fl::recip (|d| in [2^-126, 2^126) on the GPU), double divides.
ACTGRAD_HOST_DEVICE float recip(float d) { return fl::recip(d); }
ACTGRAD_HOST_DEVICE double recip(double d) { return 1 / d; }
ACTGRAD_MATH_UNARY(tanh, tanhf, tanh)
ACTGRAD_MATH_UNARY(erf, erff, erf)
ACTGRAD_MATH_UNARY(erfc, erfcf, erfc)
ACTGRAD_MATH_UNARY(sqrt, sqrtf, sqrt)
ACTGRAD_MATH_UNARY(fabs, fabsf, fabs)
#undef ACTGRAD_MATH_UNARY

ACTGRAD_HOST_DEVICE float pow(float x, float y) { return ::powf(x, y); }
ACTGRAD_HOST_DEVICE double pow(double x, double y) { return ::pow(x, y); }
ACTGRAD_HOST_DEVICE float hypot(float x, float y) { return ::hypotf(x, y); }
ACTGRAD_HOST_DEVICE double hypot(double x, double y) { return ::hypot(x, y); }
ACTGRAD_HOST_DEVICE float copysign(float x, float y) { return ::copysignf(x, y); }
ACTGRAD_HOST_DEVICE double copysign(double x, double y) { return ::copysign(x, y); }

// NaN test that survives any floating-point contraction settings (x != x).
template <class T>
ACTGRAD_HOST_DEVICE bool isnan(T x) {
  return !(x == x);
}
template <class T>
ACTGRAD_HOST_DEVICE T inf() {
  return std::numeric_limits<T>::infinity();
}
template <class T>
ACTGRAD_HOST_DEVICE T quiet_nan() {
  return std::numeric_limits<T>::quiet_NaN();
}

// Logistic sigmoid without overflow: exp is only taken of a non-positive argument.
template <class T>
ACTGRAD_HOST_DEVICE T sigmoid(T x) {
  const T e = math::exp(-math::fabs(x)); // in (0, 1]
  const T s = T(1) / (T(1) + e);         // sigmoid(|x|)
  return x >= T(0) ? s : e * s;          // sigmoid(-|x|) = e / (1 + e)
}

} // namespace math
} // namespace actgrad
