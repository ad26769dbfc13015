// Text shared by the analysis subcommands (saturation, atlas, plot): short numbers for tables,
// JSON numbers with infinities, region text, and ACT lists.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actgrad/activation.hpp"
#include "actgrad/saturation.hpp"

namespace actgrad::cli {

// 6 significant digits for tables ("0.25", "-5.98645", "inf", "nan").
std::string short_number(double v);
// JSON value of a double: the number, "inf" / "-inf" as strings, null for NaN.
nlohmann::json json_number(double v);
// "x <= -5.98645" / "x >= 5.98645" / "-" (no region) / "undefined" (NaN bound).
std::string region_text(double bound, bool left);
// One side as JSON: type, bound, mass.
nlohmann::json side_json(const SaturationSide& s);
// Splits "a,b:p=1,q=2,c" into activations: a piece with '=' and no ':' continues the previous
// one's parameters. Each activation is parsed (errors name the bad one).
std::vector<Activation> parse_act_list(const std::vector<std::string>& args);
// The note printed for gated units: what the analysis describes.
constexpr const char* kGateNote = "gated unit: analysed through its gate act(a) at b = 1";

} // namespace actgrad::cli
