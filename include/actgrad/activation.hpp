// Activation: a catalogue entry plus parameter values, parsed from "name" or "name:p=v,...".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "actgrad/traits.hpp"

namespace actgrad {

// One enumerator per catalogue row, generated from activations.def.
enum class ActId : int {
#define ACTGRAD_UNARY(Id, name, Op) Id,
#define ACTGRAD_GATED(Id, name, Op) Id,
#include "actgrad/activations.def"
};

// Number of catalogue entries.
int catalogue_size();
// Metadata of entry i (0 <= i < catalogue_size()), in catalogue order.
const ActInfo& catalogue_info(ActId id);
// All ids in catalogue order.
const std::vector<ActId>& catalogue();

class Activation {
public:
  // Parses "name" or "name:param=value,...". Throws actgrad::Error for an unknown name (listing
  // the closest names), an unknown parameter (listing the allowed ones), or a value that is not
  // a number or out of range (stating the range).
  static Activation parse(std::string_view text);
  // Entry with default parameters.
  explicit Activation(ActId id);
  // Entry with explicit parameters, validated as parse() does.
  Activation(ActId id, const Params& params);

  ActId id() const { return id_; }
  const Params& params() const { return params_; }
  double param(std::string_view name) const;
  const ActInfo& info() const { return catalogue_info(id_); }
  const char* name() const { return info().name; }
  Kind kind() const { return info().kind; }
  bool is_gated() const { return kind() == Kind::gated; }
  // Whether f' can be computed from y at these parameters.
  bool has_derivative_from_output() const;
  // Canonical text: the name, then every parameter that differs from its default.
  std::string to_string() const;

private:
  ActId id_;
  Params params_;
};

} // namespace actgrad
