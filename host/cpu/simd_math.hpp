// Vector (SIMD) variants of the libm functions used by the functors, from glibc's libmvec.
//
// Declaring them `omp declare simd` lets GCC vectorise the CPU loop through calls such as
// exp(x), calling libmvec's _ZGV* entry points. libmvec is less accurate than scalar libm
// (measured here against MPFR on 2^18 random inputs: up to 2.6 ulp in double and 3.9 ulp in
// float), so this header is included only where the result is rounded to a narrower type
// afterwards. Only the saturation_stats loop (stats_cpu.cpp) uses it now, for its f' counts: the
// elementwise engine's float math is actgrad's own (actgrad/float_math.hpp, gelu's float kernel)
// and its f64 loops use scalar libm.
#pragma once

#include <cmath>

// GCC only: clang rejects `omp declare simd` on these extern declarations, and its loops use
// scalar libm (a clang build is for portability and sanitizer checks, not speed).
#if defined(ACTGRAD_HAVE_LIBMVEC) && ACTGRAD_HAVE_LIBMVEC && !defined(__clang__)

#define ACTGRAD_SIMD_DECL(type, fn)                                                                \
  _Pragma("omp declare simd notinbranch") extern "C" type fn(type) noexcept;

ACTGRAD_SIMD_DECL(double, exp)
ACTGRAD_SIMD_DECL(double, expm1)
ACTGRAD_SIMD_DECL(double, log)
ACTGRAD_SIMD_DECL(double, log1p)
ACTGRAD_SIMD_DECL(double, tanh)
ACTGRAD_SIMD_DECL(double, erf)
ACTGRAD_SIMD_DECL(double, erfc)
ACTGRAD_SIMD_DECL(float, expf)
ACTGRAD_SIMD_DECL(float, expm1f)
ACTGRAD_SIMD_DECL(float, logf)
ACTGRAD_SIMD_DECL(float, log1pf)
ACTGRAD_SIMD_DECL(float, tanhf)
ACTGRAD_SIMD_DECL(float, erff)
ACTGRAD_SIMD_DECL(float, erfcf)
#undef ACTGRAD_SIMD_DECL

#endif
