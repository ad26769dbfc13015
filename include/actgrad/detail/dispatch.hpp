// Runtime -> compile-time dispatch: catalogue id to functor template, and storage to compute type.
#pragma once

#include <type_traits>

#include "actgrad/activation.hpp"
#include "actgrad/detail/call.hpp"
#include "actgrad/detail/element_ops.hpp"
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

// Compute type for storage S: double for f64, float for f32, f16 and bf16 (issue 10). The float
// functors reach the f32 goals (2 ulp value, 4 ulp derivative) in float: they are built on
// float_math.hpp's exp/expm1/log/log1p (about 0.5-0.95 ulp) and carry the intermediates that
// cancellation or conditioning would amplify as double-words (functors/squashing.hpp).
template <class S>
using compute_t = typename Storage<S>::compute;

template <class T>
struct TypeTag {
  using type = T;
};

// Calls f(ElementOp<call.op, Functor<C>, narrow>, TypeTag<C>) for the call's activation and op,
// with C the compute type of storage S and narrow set for 16-bit storage (element_ops.hpp).
// Activation dispatch is visit_activation's; this adds the op. Ops that do not apply to the
// activation's kind throw (api.cpp rejects them first).
template <class S, class F>
void visit_element_op(const Call& call, F&& f) {
  visit_activation(call.act->id(), [&](auto tag) {
    using Tag = decltype(tag);
    using C = compute_t<S>;
    constexpr bool kN = Storage<S>::dtype == DType::f16 || Storage<S>::dtype == DType::bf16;
    using Fn = typename Tag::template op<C>;
    const Fn fn(call.act->params());
    const TypeTag<C> c;
    if constexpr (Tag::kind == Kind::unary) {
      switch (call.op) {
      case OpKind::forward:
        return f(ElementOp<OpKind::forward, Fn, kN>{{}, fn}, c);
      case OpKind::fused:
        return f(ElementOp<OpKind::fused, Fn, kN>{{}, fn}, c);
      case OpKind::backward:
        return f(ElementOp<OpKind::backward, Fn, kN>{{}, fn}, c);
      case OpKind::from_output:
      case OpKind::backward_from_output:
        if constexpr (Fn::kFromOutput) {
          if (call.op == OpKind::from_output)
            return f(ElementOp<OpKind::from_output, Fn, kN>{{}, fn}, c);
          return f(ElementOp<OpKind::backward_from_output, Fn, kN>{{}, fn}, c);
        }
        break;
      case OpKind::gated_forward:
      case OpKind::gated_fused:
      case OpKind::gated_backward:
        break;
      }
    } else {
      switch (call.op) {
      case OpKind::gated_forward:
        return f(ElementOp<OpKind::gated_forward, Fn, kN>{{}, fn}, c);
      case OpKind::gated_fused:
        return f(ElementOp<OpKind::gated_fused, Fn, kN>{{}, fn}, c);
      case OpKind::gated_backward:
        return f(ElementOp<OpKind::gated_backward, Fn, kN>{{}, fn}, c);
      case OpKind::forward:
      case OpKind::fused:
      case OpKind::backward:
      case OpKind::from_output:
      case OpKind::backward_from_output:
        break;
      }
    }
    throw Error("actgrad: internal error: operation does not match the activation kind",
                Error::Kind::runtime);
  });
}

} // namespace detail
} // namespace actgrad
