// `actgrad phase`: the mean-field order/chaos phase diagram of one activation (Schoenholz et al.
// 2017, fig. 1): chi1 over a (sigma_w2, sigma_b2) grid, as CSV and/or a gnuplot heatmap with the
// critical line chi1 = 1.
//
// Output: CSV `sigma_w2,sigma_b2,q_star,chi1,depth_scale`, sigma_b2 varying fastest, on stdout
// unless only --out is given; --format csv prints it with --out too. The chart colours log10 chi1
// (blue: ordered, gradients vanish; red: chaotic, they explode) and draws chi1 = 1 (linear
// interpolation along sigma_w2 in each row of the grid).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actgrad/actgrad.hpp"
#include "actgrad/decay.hpp"
#include "command.hpp"
#include "gnuplot.hpp"
#include "limits.hpp"
#include "number_format.hpp"
#include "output.hpp"

namespace actgrad::cli {
namespace {

using limits::kPhaseAxisPoints;

struct PhaseArgs {
  std::string act;
  std::string sigma_w2 = "0.5:4:36";
  std::string sigma_b2 = "0:0.25:26";
  std::string out;
  std::string format;
};

struct Axis {
  double a, b;
  std::int64_t n;
  double at(std::int64_t i) const { return n == 1 ? a : a + (b - a) * double(i) / double(n - 1); }
};

Axis parse_axis(const std::string& text, const char* option) {
  const std::string what = std::string(option) + " '" + text + "'";
  const std::size_t c1 = text.find(':'), c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  Axis ax{};
  double n = 0;
  if (c2 == std::string::npos || !parse_double(text.substr(0, c1), ax.a) ||
      !parse_double(text.substr(c1 + 1, c2 - c1 - 1), ax.b) ||
      !parse_double(text.substr(c2 + 1), n))
    throw UsageError(what + ": use A:B:N (N evenly spaced values from A to B)");
  if (!std::isfinite(ax.a) || !std::isfinite(ax.b) || ax.a < 0 || ax.b < ax.a)
    throw UsageError(what + ": A and B must be finite variances with 0 <= A <= B");
  if (!(n >= 1 && n <= double(kPhaseAxisPoints)) || n != std::floor(n))
    throw UsageError(what + ": N must be an integer from 1 to " + std::to_string(kPhaseAxisPoints));
  ax.n = std::int64_t(n);
  return ax;
}

int run_phase(const PhaseArgs& args) {
  const Activation act = Activation::parse(args.act);
  const Axis w = parse_axis(args.sigma_w2, "--sigma-w2");
  const Axis b = parse_axis(args.sigma_b2, "--sigma-b2");
  if (!args.out.empty()) check_plot_path(args.out, "--out");

  // The grid, rows of sigma_w2 spread over threads (each cell is an independent fixed point).
  std::vector<MeanField> cells(std::size_t(w.n * b.n));
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (std::int64_t i = t; i < w.n; i += threads)
        for (std::int64_t j = 0; j < b.n; ++j)
          cells[std::size_t(i * b.n + j)] = mean_field(act, w.at(i), b.at(j));
    });
  for (std::thread& th : pool) th.join();

  std::string csv = "sigma_w2,sigma_b2,q_star,chi1,depth_scale\n";
  for (std::int64_t i = 0; i < w.n; ++i)
    for (std::int64_t j = 0; j < b.n; ++j) {
      const MeanField& m = cells[std::size_t(i * b.n + j)];
      csv += format_double(w.at(i)) + "," + format_double(b.at(j)) + "," + format_double(m.q_star) +
             "," + format_double(m.chi1) + "," + format_double(m.depth_scale) + "\n";
    }

  if (!args.out.empty()) {
    // Colour range: symmetric about chi1 = 1, as wide as the grid needs (0.1 to 2 decades).
    double span = 0.1;
    for (const MeanField& m : cells)
      if (m.chi1 > 0 && std::isfinite(m.chi1)) span = std::max(span, std::fabs(std::log10(m.chi1)));
    span = std::min(span, 2.0);
    const std::string lo = format_double(-span), hi = format_double(span);
    std::string script = "set datafile separator ','\n$grid << EOD\n";
    for (std::int64_t i = 0; i < w.n; ++i)
      for (std::int64_t j = 0; j < b.n; ++j) {
        const double chi = cells[std::size_t(i * b.n + j)].chi1;
        const double v = chi > 0 ? std::max(-span, std::min(span, std::log10(chi))) : -span;
        script += format_double(w.at(i)) + "," + format_double(b.at(j)) + "," +
                  (std::isnan(chi) ? std::string("NaN") : format_double(v)) + "\n";
      }
    script += "EOD\n$edge << EOD\n";
    // chi1 = 1 along sigma_w2 in each sigma_b2 row: where log chi1 changes sign.
    for (std::int64_t j = 0; j < b.n; ++j)
      for (std::int64_t i = 0; i + 1 < w.n; ++i) {
        const double c0 = cells[std::size_t(i * b.n + j)].chi1;
        const double c1 = cells[std::size_t((i + 1) * b.n + j)].chi1;
        if (!(c0 > 0 && c1 > 0) || (c0 < 1) == (c1 < 1)) continue;
        const double l0 = std::log(c0), l1 = std::log(c1);
        const double t = l0 == l1 ? 0.0 : l0 / (l0 - l1);
        script += format_double(w.at(i) + t * (w.at(i + 1) - w.at(i))) + "," +
                  format_double(b.at(j)) + "\n";
        break;
      }
    script += "EOD\n";
    script += "set title " +
              gnuplot_string(act.to_string() + ": mean-field chi1 (order < 1 < chaos)") +
              " noenhanced\nset xlabel 'sigma_w^2'\nset ylabel 'sigma_b^2'\n"
              "set cblabel 'log10 chi1'\nset cbrange [" +
              lo + ":" + hi + "]\n" +
              "set palette defined (-1 '#08306b', -0.5 '#4292c6', 0 '#f7f7f7', 0.5 '#ef3b2c', "
              "1 '#67000d')\n" +
              "set xrange [" + format_double(w.a) + ":" + format_double(w.b) + "]\n" +
              "set yrange [" + format_double(b.a) + ":" + format_double(b.b) + "]\n" +
              "set key bottom right\n"
              "plot $grid using 1:2:3 with image notitle, "
              "$edge using 1:2 with lines linewidth 3 linecolor 'black' title 'chi1 = 1'\n";
    render_chart(script, args.out, "--out", ChartTerminal{});
  }
  if (args.out.empty() || args.format == "csv") write_stdout(csv);
  return 0;
}

} // namespace

Command add_phase_command(CLI::App& root) {
  auto args = std::make_shared<PhaseArgs>();
  CLI::App* app = root.add_subcommand(
      "phase",
      "Mean-field phase diagram (Schoenholz et al. 2017, fig. 1): chi1 = S E[phi'(sqrt(q*) z)^2] "
      "over a grid of S = sigma_w2 and T = sigma_b2, as CSV "
      "'sigma_w2,sigma_b2,q_star,chi1,depth_scale' (sigma_b2 fastest) and/or a heatmap of "
      "log10 chi1 with the order/chaos boundary chi1 = 1. The CSV goes to stdout unless only "
      "--out is given. Each cell solves a mean-field fixed point (about 0.5-1 ms of CPU time; "
      "cells run on all cores): the default 36 x 26 grid takes about a second, the 1000 x 1000 "
      "maximum (10^6 cells) minutes to about half an hour, depending on the activation and "
      "the cores.");
  app->footer("Limits: N from 1 to " + std::to_string(kPhaseAxisPoints) +
              " on each axis (--sigma-w2, --sigma-b2); A and B finite with 0 <= A <= B.\n"
              "Exit status: 0 ok; 2 bad argument; 1 any other failure (e.g. gnuplot).");
  app->add_option("ACT", args->act, "activation name (e.g. tanh or leaky_relu:negative_slope=0.2)")
      ->required();
  app->add_option("--sigma-w2", args->sigma_w2,
                  "A:B:N weight variances, N <= " + std::to_string(kPhaseAxisPoints) +
                      " (default 0.5:4:36)");
  app->add_option("--sigma-b2", args->sigma_b2,
                  "A:B:N bias variances, N <= " + std::to_string(kPhaseAxisPoints) +
                      " (default 0:0.25:26)");
  app->add_option("--out", args->out, "draw the heatmap into FILE.png or FILE.svg");
  app->add_option("--format", args->format, "csv: print the grid on stdout even with --out")
      ->check(one_of({"csv"}));
  return {app, [args] { return run_phase(*args); }};
}

} // namespace actgrad::cli
