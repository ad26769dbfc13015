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

// Compute type for storage S: float for f32/f16/bf16, double for f64, and double for f32 when
// the functor asks for wide math (kWideMath, documented at the functor).
template <class S, template <class> class Op>
using compute_t = std::conditional_t<std::is_same<S, float>::value && Op<float>::kWideMath,
                                     double, typename Storage<S>::compute>;

} // namespace detail
} // namespace actgrad
