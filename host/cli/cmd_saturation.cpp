// `actgrad saturation`: saturated regions of one activation, their type and the mass of an input
// distribution in them (SPEC §5, §6), as a table or JSON.
#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "actgrad/saturation.hpp"
#include "analysis_text.hpp"
#include "command.hpp"
#include "number_format.hpp"
#include "output.hpp"

namespace actgrad::cli {
namespace {

struct SaturationConfig {
  std::string act;
  double eps = 0.01;
  std::string input = "normal:0,1";
  std::string format = "table";
};

struct Normal {
  double mean, std;
};

Normal parse_input(const std::string& text) {
  const std::string allowed = "--input '" + text +
                              "': expected normal:MEAN,STD with MEAN finite and STD finite and "
                              "> 0, e.g. normal:0,1";
  const std::string prefix = "normal:";
  if (text.compare(0, prefix.size(), prefix) != 0) throw UsageError(allowed);
  const std::string rest = text.substr(prefix.size());
  const std::size_t comma = rest.find(',');
  if (comma == std::string::npos) throw UsageError(allowed);
  Normal n{};
  if (!parse_double(rest.substr(0, comma), n.mean) || !parse_double(rest.substr(comma + 1), n.std))
    throw UsageError(allowed);
  if (!std::isfinite(n.mean) || !std::isfinite(n.std) || !(n.std > 0)) throw UsageError(allowed);
  return n;
}

std::string table(const Activation& act, const SaturationReport& r, const std::string& input) {
  std::ostringstream o;
  o << "activation  " << act.to_string() << '\n';
  if (act.is_gated()) o << "note        " << kGateNote << '\n';
  o << "max |f'|    " << short_number(r.max_abs_derivative) << " at x = " << short_number(r.argmax)
    << '\n';
  if (std::isfinite(r.threshold))
    o << "saturated   |f'(x)| < " << short_number(r.threshold) << " (eps " << short_number(r.eps)
      << " x max |f'|)\n";
  else
    o << "saturated   undefined: max |f'| is unbounded, so no threshold eps x max |f'|\n";
  o << "input       " << input << '\n';
  char line[160];
  std::snprintf(line, sizeof line, "%-6s %-5s %-18s %s\n", "side", "type", "region", "mass");
  o << line;
  for (const bool left : {true, false}) {
    const SaturationSide& s = left ? r.left : r.right;
    std::snprintf(line, sizeof line, "%-6s %-5s %-18s %s\n", left ? "left" : "right",
                  saturation_name(s.type), region_text(s.bound, left).c_str(),
                  short_number(s.mass).c_str());
    o << line;
  }
  return o.str();
}

int run(const SaturationConfig& cfg) {
  const Activation act = Activation::parse(cfg.act);
  if (!(cfg.eps > 0 && cfg.eps < 1))
    throw UsageError("--eps " + short_number(cfg.eps) +
                     ": must be in (0, 1), the fraction of max |f'| below which f counts as "
                     "saturated (default 0.01)");
  const Normal in = parse_input(cfg.input);
  const SaturationReport r = saturation(act, cfg.eps, in.mean, in.std);
  std::string text;
  if (cfg.format == "json") {
    nlohmann::json j = {{"activation", act.to_string()},
                        {"gated", act.is_gated()},
                        {"eps", r.eps},
                        {"max_abs_derivative", json_number(r.max_abs_derivative)},
                        {"argmax", json_number(r.argmax)},
                        {"threshold", json_number(r.threshold)},
                        {"input", {{"distribution", "normal"}, {"mean", in.mean}, {"std", in.std}}},
                        {"left", side_json(r.left)},
                        {"right", side_json(r.right)}};
    text = j.dump(2) + "\n";
  } else {
    text = table(act, r, "normal:" + short_number(in.mean) + "," + short_number(in.std));
  }
  write_stdout(text);
  return 0;
}

} // namespace

Command add_saturation_command(CLI::App& root) {
  auto cfg = std::make_shared<SaturationConfig>();
  CLI::App* app = root.add_subcommand(
      "saturation", "Saturated regions of an activation: where |f'| < eps max|f'|, and how much "
                    "of an input distribution falls there");
  app->footer(
      "Per side (x -> -inf, x -> +inf): the type (hard: f' is exactly 0 there; soft: f' only\n"
      "tends to 0; none), the region x <= bound or x >= bound in which |f'(x)| < eps max|f'|\n"
      "(found by bisection on the library's own f'), and the probability that x ~ N(MEAN, STD^2)\n"
      "falls in it. Gated units are analysed through their gate act(a) at b = 1.\n"
      "Limits: no size arguments; --eps in (0, 1), STD > 0, MEAN and STD finite.\n"
      "Exit status: 0 ok; 2 bad argument (one line on stderr, nothing on stdout); 1 otherwise.");
  app->add_option("ACT", cfg->act,
                  "activation: a name such as tanh, or name:param=value,... ('actgrad list')")
      ->required();
  app->add_option("--eps", cfg->eps, "threshold as a fraction of max|f'|, in (0, 1)")
      ->capture_default_str();
  app->add_option("--input", cfg->input, "input distribution, normal:MEAN,STD")
      ->type_name("normal:MEAN,STD")
      ->capture_default_str();
  app->add_option("--format", cfg->format, "output format")
      ->check(one_of({"table", "json"}))
      ->capture_default_str();
  return {app, [cfg] { return run(*cfg); }};
}

} // namespace actgrad::cli
