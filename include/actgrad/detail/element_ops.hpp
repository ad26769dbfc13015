// Per-element operations (forward, fused, backward, ...) over a functor: the body every loop runs.
//
// Each op maps kIn compute-type inputs to kOut outputs. The CPU loop (host/cpu/cpu_engine.hpp) and
// the CUDA engine (kernels/elementwise.cuh) both call these, so the math is written once.
#pragma once

#include "actgrad/config.hpp"
#include "actgrad/functors/base.hpp"

namespace actgrad {
namespace detail {

enum class OpKind {
  forward,              // x -> y
  fused,                // x -> y, dydx
  backward,             // x, g -> dx
  from_output,          // y -> dydx
  backward_from_output, // y, g -> dx
  gated_forward,        // a, b -> out
  gated_fused,          // a, b -> out, dfda, dfdb
  gated_backward,       // a, b, g -> da, db
};

template <OpKind K>
struct OpArity;
template <>
struct OpArity<OpKind::forward> {
  static constexpr int kIn = 1, kOut = 1;
};
template <>
struct OpArity<OpKind::fused> {
  static constexpr int kIn = 1, kOut = 2;
};
template <>
struct OpArity<OpKind::backward> {
  static constexpr int kIn = 2, kOut = 1;
};
template <>
struct OpArity<OpKind::from_output> {
  static constexpr int kIn = 1, kOut = 1;
};
template <>
struct OpArity<OpKind::backward_from_output> {
  static constexpr int kIn = 2, kOut = 1;
};
template <>
struct OpArity<OpKind::gated_forward> {
  static constexpr int kIn = 2, kOut = 1;
};
template <>
struct OpArity<OpKind::gated_fused> {
  static constexpr int kIn = 2, kOut = 3;
};
template <>
struct OpArity<OpKind::gated_backward> {
  static constexpr int kIn = 3, kOut = 2;
};

// g * f' for backward passes. For a finite input, a zero incoming gradient gives 0 even where f'
// overflowed the compute type (exp'(800) in double is inf although the true f' is finite), so
// g = 0 never turns a finite input into NaN. Infinite inputs keep IEEE 0 * inf = NaN, as
// PyTorch, and NaN in g or f' propagates. `finite` is x - x: 0 exactly when x is finite.
template <class C>
ACTGRAD_HOST_DEVICE C scale_gradient(C g, C d, C finite) {
  // Nested selects on double compares (no && of bools): GCC vectorises these.
  const C prod = g * d;
  const C kept = d == d ? C(0) : prod;           // NaN f' stays NaN
  const C zeroed = finite == C(0) ? kept : prod; // infinite x keeps 0 * inf
  return g == C(0) ? zeroed : prod;
}

// 16-bit storage (f16, bf16) rounds the float result to 11 or 8 bits, so a float result within
// a few ulps of float's precision is as good as a correctly rounded one there. A functor may
// therefore give a leaner float formula for it, `Narrow<float> fused_narrow(float x) const`
// (unary) or `GatedFused<float> fused_narrow(float a, float b) const` (gated), which the ops use
// when kNarrow (16-bit storage, detail/dispatch.hpp); functors without one run fused() as for f32.
// The 16-bit accuracy tests (tests/test_accuracy.cpp) check every f16 and every bf16 input.
template <bool kNarrow, class Fn, class C>
ACTGRAD_HOST_DEVICE Fused<C> fused_of(const Fn& fn, C x) {
  if constexpr (kNarrow && HasNarrow<Fn>::value) {
    return fn.fused_narrow(x).rounded();
  } else {
    return fn.fused(x);
  }
}
template <bool kNarrow, class Fn, class C>
ACTGRAD_HOST_DEVICE C forward_of(const Fn& fn, C x) {
  if constexpr (kNarrow && HasNarrow<Fn>::value) {
    return fn.fused_narrow(x).rounded().y;
  } else {
    return fn.forward(x);
  }
}
template <bool kNarrow, class Fn, class C>
ACTGRAD_HOST_DEVICE GatedFused<C> gated_fused_of(const Fn& fn, C a, C b) {
  if constexpr (kNarrow && HasNarrowGated<Fn>::value) {
    return fn.fused_narrow(a, b);
  } else {
    return fn.fused(a, b);
  }
}
template <bool kNarrow, class Fn, class C>
ACTGRAD_HOST_DEVICE C gated_forward_of(const Fn& fn, C a, C b) {
  if constexpr (kNarrow && HasNarrowGated<Fn>::value) {
    return fn.fused_narrow(a, b).y;
  } else {
    return fn.forward(a, b);
  }
}

// ElementOp<K, Fn, kNarrow>: holds the functor, applies op K to one element.
template <OpKind K, class Fn, bool kNarrow = false>
struct ElementOp;

template <class Fn, bool kNarrow>
struct ElementOp<OpKind::forward, Fn, kNarrow> : OpArity<OpKind::forward> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = forward_of<kNarrow>(fn, in[0]);
  }
};
template <class Fn, bool kNarrow>
struct ElementOp<OpKind::fused, Fn, kNarrow> : OpArity<OpKind::fused> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    const Fused<C> r = fused_of<kNarrow>(fn, in[0]);
    out[0] = r.y;
    out[1] = r.dy;
  }
};
template <class Fn, bool kNarrow>
struct ElementOp<OpKind::backward, Fn, kNarrow> : OpArity<OpKind::backward> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = scale_gradient(in[1], fused_of<kNarrow>(fn, in[0]).dy, in[0] - in[0]);
  }
};
template <class Fn, bool kNarrow>
struct ElementOp<OpKind::from_output, Fn, kNarrow> : OpArity<OpKind::from_output> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = fn.derivative_from_output(in[0]);
  }
};
template <class Fn, bool kNarrow>
struct ElementOp<OpKind::backward_from_output, Fn, kNarrow>
    : OpArity<OpKind::backward_from_output> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = scale_gradient(in[1], fn.derivative_from_output(in[0]), in[0] - in[0]);
  }
};
template <class Fn, bool kNarrow>
struct ElementOp<OpKind::gated_forward, Fn, kNarrow> : OpArity<OpKind::gated_forward> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = gated_forward_of<kNarrow>(fn, in[0], in[1]);
  }
};
template <class Fn, bool kNarrow>
struct ElementOp<OpKind::gated_fused, Fn, kNarrow> : OpArity<OpKind::gated_fused> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    const GatedFused<C> r = gated_fused_of<kNarrow>(fn, in[0], in[1]);
    out[0] = r.y;
    out[1] = r.da;
    out[2] = r.db;
  }
};
template <class Fn, bool kNarrow>
struct ElementOp<OpKind::gated_backward, Fn, kNarrow> : OpArity<OpKind::gated_backward> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    const GatedFused<C> r = gated_fused_of<kNarrow>(fn, in[0], in[1]);
    const C finite = (in[0] - in[0]) + (in[1] - in[1]);
    out[0] = scale_gradient(in[2], r.da, finite);
    out[1] = scale_gradient(in[2], r.db, finite);
  }
};

} // namespace detail
} // namespace actgrad
