// Shared pieces of every activation functor: result records and the defaults a functor may
// override.
//
// A unary functor `XOp<T>` (T = float or double, the compute type) provides
//   T forward(T x) const;                      f(x)
//   Fused<T> fused(T x) const;                 {f(x), f'(x)} sharing intermediates
//   T derivative_from_output(T y) const;       f'(x) from y = f(x), only if kFromOutput
//   static ActMeta meta();                     formula, parameters, traits (host only)
//   explicit XOp(const Params&);               parameters converted to T
// A gated functor provides forward(a, b) and fused(a, b) -> GatedFused<T> instead. Either may
// add fused_narrow, a leaner float formula for 16-bit storage (detail/element_ops.hpp).
#pragma once

#include <type_traits>
#include <utility>

#include "actgrad/config.hpp"
#include "actgrad/math.hpp"
#include "actgrad/traits.hpp"

namespace actgrad {

template <class T>
struct Fused {
  T y;  // f(x)
  T dy; // f'(x)
};

template <class T>
struct GatedFused {
  T y;  // act(a) * b
  T da; // d out / d a
  T db; // d out / d b
};

// f and f' from a functor's leaner float formula for 16-bit storage (fused_narrow, see
// detail/element_ops.hpp), each times 1/unscale (1 or 2^-64) where it would be subnormal in
// float, so that a gated unit can multiply by b before the one rounding that scales it back.
template <class T>
struct Narrow {
  T y, y_unscale, dy, dy_unscale;
  ACTGRAD_HOST_DEVICE Fused<T> rounded() const { return {y * y_unscale, dy * dy_unscale}; }
};
// Whether a unary (HasNarrow) or gated (HasNarrowGated) functor has fused_narrow.
template <class Fn, class = void>
struct HasNarrow : std::false_type {};
template <class Fn>
struct HasNarrow<Fn, std::void_t<decltype(std::declval<const Fn&>().fused_narrow(0.0f))>>
    : std::true_type {};
template <class Fn, class = void>
struct HasNarrowGated : std::false_type {};
template <class Fn>
struct HasNarrowGated<Fn, std::void_t<decltype(std::declval<const Fn&>().fused_narrow(0.0f, 0.0f))>>
    : std::true_type {};

// Metadata a functor publishes; catalogue.cpp adds the name and kind from activations.def.
struct ActMeta {
  const char* formula;
  const char* derivative;
  const char* reference;
  const char* alias; // "" when none
  int num_params;
  ParamSpec params[kMaxParams];
  Traits traits;
};

// Defaults: functors derive from this and override what differs.
struct ActBase {
  // f' is available as a function of y (the functor then defines derivative_from_output).
  static constexpr bool kFromOutput = false;
  // Cross-parameter checks (ranges of single parameters are in ParamSpec). nullptr when valid.
  static const char* validate(const Params&) { return nullptr; }
  // Whether derivative_from_output is well defined at these parameters.
  static bool from_output_ok(const Params&) { return true; }
};

} // namespace actgrad
