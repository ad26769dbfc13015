// Scalar f and f' in double through the catalogue's functors (include/actgrad/scalar.hpp).
#include "actgrad/scalar.hpp"

#include "actgrad/detail/dispatch.hpp"

namespace actgrad {

Fused<double> evaluate(const Activation& act, double x) {
  return detail::visit_activation(act.id(), [&](auto tag) -> Fused<double> {
    using Tag = decltype(tag);
    using Fn = typename Tag::template op<double>;
    const Fn fn(act.params());
    if constexpr (Tag::kind == Kind::unary) {
      return fn.fused(x);
    } else {
      const auto g = fn.fused(x, 1.0);
      return {g.y, g.da};
    }
  });
}

} // namespace actgrad
