// `actgrad atlas`: one row per activation with f(0), f'(0), max|f'|, the ranges of f and f', the
// Gaussian moments E[f(z)], E[f'(z)^2], the saturation on each side at eps = 0.01, and the
// initialisation columns of `actgrad shape` (gain, critical point at q* = 1).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actgrad/saturation.hpp"
#include "actgrad/error.hpp"
#include "actgrad/shaping.hpp"
#include "analysis_text.hpp"
#include "command.hpp"
#include "number_format.hpp"
#include "output.hpp"

namespace actgrad::cli {
namespace {

struct AtlasConfig {
  std::vector<std::string> acts;
  std::string format = "table";
};

// Initialisation columns (actgrad shape): the variance-preserving gain and the critical point at
// q* = 1; NaN where there is none (a gated unit, f undefined for x < 0, sigma_b2 < 0 needed).
struct InitColumns {
  double gain = NAN, sigma_w2 = NAN, sigma_b2 = NAN;
};

InitColumns init_columns(const Activation& act) {
  InitColumns c;
  try {
    c.gain = variance_gain(act);
  } catch (const Error&) {
  }
  try {
    const CriticalPoint p = critical_point_at_q_star(act, 1.0);
    c.sigma_w2 = p.sigma_w2;
    c.sigma_b2 = p.sigma_b2;
  } catch (const Error&) {
  }
  return c;
}

std::string side_text(const SaturationSide& s, bool left) {
  const std::string region = region_text(s.bound, left);
  return std::string(saturation_name(s.type)) + (region == "-" ? "" : ", " + region);
}

std::string range_text(double lo, double hi) {
  return "[" + short_number(lo) + ", " + short_number(hi) + "]";
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string table(const std::vector<Activation>& acts, const std::vector<AtlasEntry>& rows,
                  const std::vector<InitColumns>& init) {
  std::vector<std::vector<std::string>> cells = {
      {"activation", "f(0)", "f'(0)", "max|f'|", "at x", "range of f", "range of f'", "E[f(z)]",
       "E[f'(z)^2]", "saturation left", "saturation right", "gain", "crit sigma_w2",
       "crit sigma_b2"}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const AtlasEntry& e = rows[i];
    cells.push_back({acts[i].to_string() + (acts[i].is_gated() ? " (gate)" : ""),
                     short_number(e.f0), short_number(e.df0), short_number(e.max_abs_derivative),
                     short_number(e.argmax), range_text(e.f_min, e.f_max),
                     range_text(e.df_min, e.df_max), short_number(e.mean_f),
                     short_number(e.mean_df2), side_text(e.saturation.left, true),
                     side_text(e.saturation.right, false), short_number(init[i].gain),
                     short_number(init[i].sigma_w2), short_number(init[i].sigma_b2)});
  }
  std::vector<std::size_t> width(cells[0].size(), 0);
  for (const auto& row : cells)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::ostringstream o;
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c)
      line += row[c] + (c + 1 < row.size() ? std::string(width[c] - row[c].size() + 2, ' ') : "");
    o << line << '\n';
  }
  o << "z ~ N(0, 1); saturated: |f'(x)| < 0.01 max|f'|; (gate): gated unit act(a) * b analysed "
       "through act(a) at b = 1\n"
       "gain = 1/sqrt(E[f(z)^2]); crit: (sigma_w2, sigma_b2) with chi1 = 1 at q* = 1 (actgrad "
       "shape); nan: none (a gated unit, f undefined for x < 0, or sigma_b2 < 0 needed)\n";
  return o.str();
}

std::string csv(const std::vector<Activation>& acts, const std::vector<AtlasEntry>& rows,
                const std::vector<InitColumns>& init) {
  std::ostringstream o;
  o << "name,kind,f0,df0,max_abs_df,argmax,f_min,f_max,df_min,df_max,mean_f,mean_df2,"
       "saturation_left,left_bound,saturation_right,right_bound,gain,crit_sigma_w2,"
       "crit_sigma_b2\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const AtlasEntry& e = rows[i];
    const std::vector<double> nums = {
        e.f0,     e.df0,     e.max_abs_derivative, e.argmax, e.f_min, e.f_max, e.df_min, e.df_max,
        e.mean_f, e.mean_df2};
    o << csv_cell(acts[i].to_string()) << ',' << (acts[i].is_gated() ? "gated" : "unary");
    for (const double v : nums) o << ',' << format_double(v);
    o << ',' << saturation_name(e.saturation.left.type) << ','
      << format_double(e.saturation.left.bound) << ',' << saturation_name(e.saturation.right.type)
      << ',' << format_double(e.saturation.right.bound) << ',' << format_double(init[i].gain) << ','
      << format_double(init[i].sigma_w2) << ',' << format_double(init[i].sigma_b2) << '\n';
  }
  return o.str();
}

std::string json(const std::vector<Activation>& acts, const std::vector<AtlasEntry>& rows,
                 const std::vector<InitColumns>& init) {
  nlohmann::json all = nlohmann::json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const AtlasEntry& e = rows[i];
    all.push_back({{"name", acts[i].to_string()},
                   {"kind", acts[i].is_gated() ? "gated" : "unary"},
                   {"f0", json_number(e.f0)},
                   {"df0", json_number(e.df0)},
                   {"max_abs_df", json_number(e.max_abs_derivative)},
                   {"argmax", json_number(e.argmax)},
                   {"f_range", {json_number(e.f_min), json_number(e.f_max)}},
                   {"df_range", {json_number(e.df_min), json_number(e.df_max)}},
                   {"mean_f", json_number(e.mean_f)},
                   {"mean_df2", json_number(e.mean_df2)},
                   {"eps", e.saturation.eps},
                   {"left", side_json(e.saturation.left)},
                   {"right", side_json(e.saturation.right)},
                   {"gain", json_number(init[i].gain)},
                   {"crit_sigma_w2", json_number(init[i].sigma_w2)},
                   {"crit_sigma_b2", json_number(init[i].sigma_b2)}});
  }
  return all.dump(2) + "\n";
}

int run(const AtlasConfig& cfg) {
  std::vector<Activation> acts;
  if (cfg.acts.empty())
    for (const ActId id : catalogue()) acts.emplace_back(id);
  else
    acts = parse_act_list(cfg.acts);
  std::vector<AtlasEntry> rows;
  std::vector<InitColumns> init;
  for (const Activation& a : acts) {
    rows.push_back(atlas_entry(a));
    init.push_back(init_columns(a));
  }
  const std::string text = cfg.format == "json"  ? json(acts, rows, init)
                           : cfg.format == "csv" ? csv(acts, rows, init)
                                                 : table(acts, rows, init);
  write_stdout(text);
  return 0;
}

} // namespace

Command add_atlas_command(CLI::App& root) {
  auto cfg = std::make_shared<AtlasConfig>();
  CLI::App* app = root.add_subcommand(
      "atlas", "The activation atlas: shape of f and f', Gaussian moments and saturation");
  app->footer(
      "Columns: f(0), f'(0); max|f'| and an x where it is reached (approached, at a jump);\n"
      "the ranges of f and f' over the real line; E[f(z)] and E[f'(z)^2] for z ~ N(0, 1)\n"
      "(adaptive Gauss-Kronrod split at 0 and the kinks, error < 1e-12 relative to the size\n"
      "of the moment; inf where f or f'^2 overflows a double, nan where f is undefined for\n"
      "x < 0 or the quadrature cannot converge); saturation per side at eps = 0.01 (see\n"
      "'actgrad saturation'). Gated units are analysed through their gate act(a) at b = 1.\n"
      "gain = 1/sqrt(E[f(z)^2]) and the critical (sigma_w2, sigma_b2) at q* = 1 ('actgrad\n"
      "shape'); nan where there is none.\n"
      "Default parameters unless ACT names some.\n"
      "Limits: no size arguments; each moment spends at most 2^14 bisections, then is nan.\n"
      "Exit status: 0 ok; 2 bad argument; 1 otherwise.");
  app->add_option("ACT", cfg->acts,
                  "activations to show (default: the whole catalogue), e.g. tanh "
                  "leaky_relu:negative_slope=0.2 or sigmoid,tanh");
  app->add_option("--format", cfg->format, "output format")
      ->check(one_of({"table", "csv", "json"}))
      ->capture_default_str();
  return {app, [cfg] { return run(*cfg); }};
}

} // namespace actgrad::cli
