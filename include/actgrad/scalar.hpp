// Scalar evaluation of one activation in double on the host: f and f' at a point, for analysis
// code (saturation, mean-field quadrature) that needs the library's own math without tensors.
#pragma once

#include "actgrad/activation.hpp"
#include "actgrad/functors/base.hpp"

namespace actgrad {

// f(x) and f'(x) of a unary activation, computed in double by the same functor the tensor paths
// use. For a gated unit act(a)*b this evaluates the unit at a = x, b = 1 (out and d out/d a),
// i.e. the gate, the function whose saturation matters. Never throws.
Fused<double> evaluate(const Activation& act, double x);

} // namespace actgrad
