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

// ElementOp<K, Fn>: holds the functor, applies op K to one element.
template <OpKind K, class Fn>
struct ElementOp;

template <class Fn>
struct ElementOp<OpKind::forward, Fn> : OpArity<OpKind::forward> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = fn.forward(in[0]);
  }
};
template <class Fn>
struct ElementOp<OpKind::fused, Fn> : OpArity<OpKind::fused> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    const Fused<C> r = fn.fused(in[0]);
    out[0] = r.y;
    out[1] = r.dy;
  }
};
template <class Fn>
struct ElementOp<OpKind::backward, Fn> : OpArity<OpKind::backward> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = scale_gradient(in[1], fn.fused(in[0]).dy, in[0] - in[0]);
  }
};
template <class Fn>
struct ElementOp<OpKind::from_output, Fn> : OpArity<OpKind::from_output> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = fn.derivative_from_output(in[0]);
  }
};
template <class Fn>
struct ElementOp<OpKind::backward_from_output, Fn> : OpArity<OpKind::backward_from_output> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = scale_gradient(in[1], fn.derivative_from_output(in[0]), in[0] - in[0]);
  }
};
template <class Fn>
struct ElementOp<OpKind::gated_forward, Fn> : OpArity<OpKind::gated_forward> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    out[0] = fn.forward(in[0], in[1]);
  }
};
template <class Fn>
struct ElementOp<OpKind::gated_fused, Fn> : OpArity<OpKind::gated_fused> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    const GatedFused<C> r = fn.fused(in[0], in[1]);
    out[0] = r.y;
    out[1] = r.da;
    out[2] = r.db;
  }
};
template <class Fn>
struct ElementOp<OpKind::gated_backward, Fn> : OpArity<OpKind::gated_backward> {
  Fn fn;
  template <class C>
  ACTGRAD_HOST_DEVICE void operator()(const C* in, C* out) const {
    const GatedFused<C> r = fn.fused(in[0], in[1]);
    const C finite = (in[0] - in[0]) + (in[1] - in[1]);
    out[0] = scale_gradient(in[2], r.da, finite);
    out[1] = scale_gradient(in[2], r.db, finite);
  }
};

} // namespace detail
} // namespace actgrad
