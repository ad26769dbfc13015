// Catalogue metadata types: parameter specs, saturation traits and the per-activation info record.
#pragma once

#include <limits>

namespace actgrad {

constexpr int kMaxParams = 4;

// Runtime parameter values of one activation, in catalogue order.
struct Params {
  double v[kMaxParams] = {0, 0, 0, 0};
  constexpr double operator[](int i) const { return v[i]; }
};

// One named parameter with its default and allowed interval.
struct ParamSpec {
  const char* name;
  double default_value;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = true; // the bound itself is excluded
  bool max_open = true;
  const char* doc = "";
};

enum class Saturation { none, soft, hard };
constexpr const char* saturation_name(Saturation s) {
  return s == Saturation::none ? "none" : s == Saturation::soft ? "soft" : "hard";
}

enum class Kind { unary, gated };

// Traits at the default parameters (SPEC §2). For gated units they describe the gate act(a).
struct Traits {
  double dmin;       // inf over x of f'(x) (may be -inf)
  double dmax;       // sup over x of f'(x) (may be +inf)
  double d_at_zero;  // f'(0) under the library's kink convention
  Saturation left;   // saturation as x -> -inf
  Saturation right;  // saturation as x -> +inf
  bool monotonic;    // non-decreasing everywhere
  bool zero_centred; // f(0) = 0 with f taking both signs
};

// Everything the host knows about one activation; assembled from the functor by catalogue.cpp.
struct ActInfo {
  const char* name;
  const char* alias;      // "" when none
  const char* formula;    // one-line definition, e.g. "x * sigmoid(x)"
  const char* derivative; // one-line f' with its kink convention
  const char* reference;  // paper or library the definition follows
  Kind kind;
  int num_params;
  ParamSpec params[kMaxParams];
  Traits traits;
  bool from_output; // f' can be computed from y = f(x) (at default parameters)
};

} // namespace actgrad
