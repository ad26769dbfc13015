// `actgrad plot`: f and f' of one or more activations with their saturated regions shaded,
// rendered by gnuplot to PNG or SVG (SPEC §5).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "actgrad/saturation.hpp"
#include "actgrad/scalar.hpp"
#include "analysis_text.hpp"
#include "command.hpp"
#include "gnuplot.hpp"
#include "limits.hpp"
#include "number_format.hpp"

namespace actgrad::cli {
namespace {

// Samples per curve and the default x range: limits.hpp.
using limits::kPlotMaxHalfRange;
using limits::kPlotMinHalfRange;
using limits::kPlotSamples;
// Colour-blind-safe palette (Okabe-Ito), cycled.
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#000000", "#F0E442"};

struct PlotConfig {
  std::vector<std::string> acts;
  std::string out;
  std::string range;
};

std::string number(double v) {
  if (!std::isfinite(v)) return "NaN";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::pair<double, double> parse_range(const std::string& text) {
  const std::string allowed =
      "--range '" + text + "': expected A:B with A < B finite numbers, e.g. -6:6";
  const std::size_t colon = text.find(':');
  double a = 0, b = 0;
  if (colon == std::string::npos || !parse_double(text.substr(0, colon), a) ||
      !parse_double(text.substr(colon + 1), b) || !std::isfinite(a) || !std::isfinite(b) ||
      !(a < b))
    throw UsageError(allowed);
  return {a, b};
}

int run(const PlotConfig& cfg) {
  check_plot_path(cfg.out, "--out");
  const std::vector<Activation> acts = parse_act_list(cfg.acts);
  std::vector<SaturationReport> reports;
  for (const Activation& a : acts) reports.push_back(saturation(a));
  double lo = 0, hi = 0;
  if (!cfg.range.empty()) {
    std::tie(lo, hi) = parse_range(cfg.range);
  } else {
    double half = kPlotMinHalfRange;
    for (const SaturationReport& r : reports)
      for (const double b : {r.left.bound, r.right.bound})
        if (std::isfinite(b)) half = std::max(half, std::ceil(1.3 * std::fabs(b)));
    half = std::min(half, kPlotMaxHalfRange);
    lo = -half, hi = half;
  }

  std::ostringstream g;
  std::string title;
  for (const Activation& a : acts) title += (title.empty() ? "" : ", ") + a.to_string();
  const bool gated =
      std::any_of(acts.begin(), acts.end(), [](const Activation& a) { return a.is_gated(); });
  g << "set title "
    << gnuplot_string(title + ": f (solid) and f' (dashed); shaded: |f'| < 0.01 max|f'|" +
                      (gated ? " (gated units: gate at b = 1)" : ""))
    << " noenhanced\n";
  g << "set xlabel 'x'\nset ylabel \"f(x), f'(x)\"\n";
  g << "set grid lc rgb '#dddddd'\nset key top left box opaque\n";
  g << "set xzeroaxis lt -1 lw 0.5\nset yzeroaxis lt -1 lw 0.5\n";
  g << "set xrange [" << number(lo) << ":" << number(hi) << "]\n";
  g << "set datafile missing 'NaN'\n";
  int object = 1;
  for (std::size_t k = 0; k < acts.size(); ++k) {
    const char* colour = kColours[k % (sizeof kColours / sizeof kColours[0])];
    g << "$d" << k << " << EOD\n";
    for (int i = 0; i < kPlotSamples; ++i) {
      const double x = lo + (hi - lo) * double(i) / double(kPlotSamples - 1);
      const Fused<double> v = evaluate(acts[k], x);
      g << number(x) << ' ' << number(v.y) << ' ' << number(v.dy) << '\n';
    }
    g << "EOD\n";
    const SaturationReport& r = reports[k];
    const auto shade = [&](double a, double b) {
      g << "set object " << object++ << " rectangle from first " << number(a)
        << ", graph 0 to first " << number(b) << ", graph 1 behind fillcolor rgb '" << colour
        << "' fillstyle transparent solid 0.13 noborder\n";
    };
    if (std::isfinite(r.threshold)) {
      if (r.left.bound > lo) shade(lo, std::min(r.left.bound, hi));
      if (r.right.bound < hi) shade(std::max(r.right.bound, lo), hi);
    }
  }
  g << "plot ";
  for (std::size_t k = 0; k < acts.size(); ++k) {
    const char* colour = kColours[k % (sizeof kColours / sizeof kColours[0])];
    const std::string name = acts[k].to_string();
    g << (k ? ", \\\n     " : "") << "$d" << k << " using 1:2 with lines lw 2 lc rgb '" << colour
      << "' title " << gnuplot_string(name + " f") << " noenhanced, \\\n     $d" << k
      << " using 1:3 with lines lw 2 dt 2 lc rgb '" << colour << "' title "
      << gnuplot_string(name + " f'") << " noenhanced, \\\n     keyentry with boxes fillstyle "
      << "transparent solid 0.13 noborder lc rgb '" << colour << "' title "
      << gnuplot_string(name + " saturated") << " noenhanced";
  }
  g << "\n";
  render_chart(g.str(), cfg.out, "--out", ChartTerminal{900, 560, "enhanced font 'Sans,11'"});
  return 0;
}

} // namespace

Command add_plot_command(CLI::App& root) {
  auto cfg = std::make_shared<PlotConfig>();
  CLI::App* app =
      root.add_subcommand("plot", "Plot f and f' of activations, saturated regions shaded");
  app->footer(
      "Draws f (solid) and f' (dashed) of each activation in its own colour, and shades where\n"
      "|f'(x)| < 0.01 max|f'| (see 'actgrad saturation'); gated units through their gate at\n"
      "b = 1. The default x range is symmetric, wide enough for every saturation bound (at\n"
      "least -4:4). Rendering runs gnuplot (Debian: gnuplot-nox): the program named by\n"
      "$ACTGRAD_GNUPLOT, else 'gnuplot' on PATH. The image is rendered in a private temporary\n"
      "directory and moved to FILE on success, so a failure leaves no file; FILE is any path\n"
      "(spaces, quotes, even newlines are just part of the name).\n"
      "Limits: " +
      std::to_string(kPlotSamples) + " samples per curve; the default range is at most +-" +
      format_double(kPlotMaxHalfRange) +
      "; --range is any finite A < B.\n"
      "Exit status: 0 ok; 2 bad argument (activation, range, FILE name or directory);\n"
      "1 gnuplot missing or failing.");
  app->add_option("ACT", cfg->acts,
                  "activations, e.g. tanh or sigmoid,tanh or leaky_relu:negative_slope=0.2 relu")
      ->required();
  app->add_option("--out", cfg->out, "image file to write, FILE.png or FILE.svg")
      ->type_name("FILE")
      ->required();
  app->add_option("--range", cfg->range, "x range A:B (default from the saturation bounds)")
      ->type_name("A:B");
  return {app, [cfg] { return run(*cfg); }};
}

} // namespace actgrad::cli
