// Gated linear units: out = act(a) * b with da = b act'(a), db = act(a) (SPEC §2).
#pragma once

#include "actgrad/functors/base.hpp"
#include "actgrad/functors/relu_family.hpp"
#include "actgrad/functors/squashing.hpp"

namespace actgrad {

// Generic act(a) * b over a unary gate functor; the gate's parameters are the unit's parameters.
template <template <class> class Gate, class T>
struct GatedOp : ActBase {
  Gate<T> gate;
  explicit GatedOp(const Params& p) : gate(p) {}
  static const char* validate(const Params& p) { return Gate<double>::validate(p); }
  // Gate metadata with the gated formula; traits stay those of the gate act(a).
  static ActMeta gated_meta(const char* formula, const char* reference) {
    ActMeta m = Gate<double>::meta();
    m.formula = formula;
    m.derivative = "d/da = b act'(a), d/db = act(a)";
    m.reference = reference;
    return m;
  }
  ACTGRAD_HOST_DEVICE T forward(T a, T b) const { return gate.forward(a) * b; }
  ACTGRAD_HOST_DEVICE GatedFused<T> fused(T a, T b) const {
    const Fused<T> g = gate.fused(a);
    return {g.y * b, g.dy * b, g.y};
  }
};

// glu: sigmoid(a) * b. PyTorch's F.glu gates the *second* half (first * sigmoid(second)); pass
// the halves swapped to reproduce it. Dauphin et al. 2017.
template <class T>
struct GluOp : GatedOp<SigmoidOp, T> {
  using GatedOp<SigmoidOp, T>::GatedOp;
  static ActMeta meta() {
    return GatedOp<SigmoidOp, T>::gated_meta("sigmoid(a) * b", "Dauphin et al. 2017 (GLU)");
  }
};

// reglu: relu(a) * b. Shazeer 2020, "GLU Variants Improve Transformer".
template <class T>
struct RegluOp : GatedOp<ReluOp, T> {
  using GatedOp<ReluOp, T>::GatedOp;
  static ActMeta meta() { return GatedOp<ReluOp, T>::gated_meta("relu(a) * b", "Shazeer 2020"); }
};

} // namespace actgrad
