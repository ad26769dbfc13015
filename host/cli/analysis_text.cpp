// Text shared by the analysis subcommands (see analysis_text.hpp).
#include "analysis_text.hpp"

#include <cmath>
#include <cstdio>

namespace actgrad::cli {

std::string short_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v == 0 ? 0.0 : v); // no "-0"
  return buf;
}

nlohmann::json json_number(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

std::string region_text(double bound, bool left) {
  if (std::isnan(bound)) return "undefined";
  if (std::isinf(bound)) return (bound < 0) == left ? "-" : "all x";
  return std::string(left ? "x <= " : "x >= ") + short_number(bound);
}

nlohmann::json side_json(const SaturationSide& s) {
  return {{"type", saturation_name(s.type)},
          {"bound", json_number(s.bound)},
          {"mass", json_number(s.mass)}};
}

std::vector<Activation> parse_act_list(const std::vector<std::string>& args) {
  std::vector<std::string> texts;
  for (const std::string& arg : args) {
    std::size_t start = 0;
    while (start <= arg.size()) {
      std::size_t end = arg.find(',', start);
      if (end == std::string::npos) end = arg.size();
      const std::string piece = arg.substr(start, end - start);
      const bool continues = piece.find('=') != std::string::npos &&
                             piece.find(':') == std::string::npos && !texts.empty();
      if (continues)
        texts.back() += "," + piece;
      else
        texts.push_back(piece);
      start = end + 1;
    }
  }
  std::vector<Activation> acts;
  for (const std::string& t : texts) acts.push_back(Activation::parse(t));
  return acts;
}

} // namespace actgrad::cli
