// Runtime -> compile-time dispatch: catalogue id to functor template, and storage to compute type.
#pragma once

#include <type_traits>

#include "actgrad/activation.hpp"
#include "actgrad/dtype.hpp"
#include "actgrad/error.hpp"
#include "actgrad/functors.hpp"

namespace actgrad {
namespace detail {

// Carries a functor template `Op` (and its kind) as a value for generic lambdas.
template <template <class> class Op, Kind K>
struct OpTag {
  template <class T>
  using op = Op<T>;
  static constexpr Kind kind = K;
};

// Calls f(OpTag<Functor, kind>{}) for the catalogue row `id`. No default: -Wswitch catches a
// row missing from the switch, and all rows come from activations.def.
template <class F>
decltype(auto) visit_activation(ActId id, F&& f) {
  switch (id) {
#define ACTGRAD_UNARY(Id, name, Op)                                                                \
  case ActId::Id:                                                                                  \
    return f(OpTag<Op, Kind::unary>{});
#define ACTGRAD_GATED(Id, name, Op)                                                                \
  case ActId::Id:                                                                                  \
    return f(OpTag<Op, Kind::gated>{});
#include "actgrad/activations.def"
  }
  throw Error("actgrad: internal error: activation id out of range", Error::Kind::runtime);
}

// Compute type for storage S: double for f64 and f32, float for f16 and bf16 (SPEC §3).
// f32 is computed in double because the f32 goals (2 ulp value, 4 ulp derivative) are out of
// reach in float for functions ill-conditioned in an intermediate (gelu_tanh's negative tail,
// tanhshrink near 0) and even for single calls (float libm tanhf and erfcf are ~2 ulp alone);
// one rounding of a double result lands within ~0.5 ulp. The CPU loop vectorises the double
// math (host/simd_math.hpp); Op is a parameter so a functor could opt out later.
template <class S, template <class> class Op>
using compute_t =
    std::conditional_t<std::is_same<S, float>::value, double, typename Storage<S>::compute>;

} // namespace detail
} // namespace actgrad
