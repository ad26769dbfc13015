// `actgrad spectrum`: the singular-value spectrum of a deep dense net's input-output Jacobian
// (issue 17), measured on simulated networks beside the free-probability prediction.
//
// Output: a table, CSV `quantity,theory,measured,measured_se` (rows m1, m2_ratio, m3_ratio,
// lambda_max), or one JSON object with activation, init, width, depth, networks, method, chi1,
// q_star, sigma_w2, sigma_b2, theory.{m1,m2_ratio,m3_ratio,lambda_max} and measured.{the same,
// each with an _se twin}. lambda_max is the largest eigenvalue of J J^T over m1.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actgrad/actgrad.hpp"
#include "actgrad/spectrum.hpp"
#include "analysis_text.hpp"
#include "command.hpp"
#include "gnuplot.hpp"
#include "number_format.hpp"
#include "options.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace actgrad::cli {
namespace {

struct SpectrumArgs {
  std::string act;
  std::int64_t depth = 0;
  std::int64_t width = 1024;
  std::string init = "gaussian";
  double sigma_w2 = 1.0, sigma_b2 = 0.0, q_star = NAN;
  std::int64_t networks = 1;
  std::uint64_t seed = 0;
  std::string device = "auto";
  std::string dtype = "f64";
  std::string method = "auto";
  std::int64_t probes = 16;
  std::string format = "table";
  std::string plot, histogram;
  CLI::Option* sigma_w2_opt = nullptr;
  CLI::Option* sigma_b2_opt = nullptr;
};

[[noreturn]] void rethrow_as(const Error& e, const char* option) {
  if (e.kind() != Error::Kind::invalid_argument) throw e;
  throw UsageError(std::string(option) + ": " + e.what());
}

// Which option a library message is about ("spectrum: FIELD ..."); ACT otherwise.
const char* option_of(const std::string& what) {
  static const char* const map[][2] = {{"depth", "--depth"},       {"width", "--width"},
                                       {"networks", "--networks"}, {"probes", "--probes"},
                                       {"sigma_w2", "--sigma-w2"}, {"sigma_b2", "--sigma-b2"},
                                       {"q_star", "--q-star"}};
  for (const auto& m : map)
    if (what.find(std::string("spectrum: ") + m[0] + " ") != std::string::npos) return m[1];
  if (what.find("q-map") != std::string::npos) return "--sigma-w2/--sigma-b2";
  return "ACT";
}

// The histogram of log10(lambda / m1) over all networks (60 bins between the smallest and the
// largest nonzero eigenvalue) and the predicted density of log10(lambda / m1), lambda ln 10
// rho(lambda), on 400 points half a decade beyond both ends (empty when the prediction is not
// available).
struct Histogram {
  std::vector<double> centre, measured, x_theory, theory;
  std::size_t zeros = 0, total = 0;
};

Histogram histogram(const SpectrumConfig& cfg, const SpectrumResult& r) {
  Histogram h;
  h.total = r.eigenvalues.size();
  // Numerical zeros: an eigenvalue of the computed J J^T is exact to about N eps of the largest
  // (eps of the products' dtype), so smaller ones are 0 within rounding (relu's J has rank about
  // N/2: half its eigenvalues are 0 and come out near 1e-80 after the per-layer rescaling).
  double largest = 0;
  for (double e : r.eigenvalues) largest = std::max(largest, e);
  const double eps = cfg.dtype == DType::f32 ? 0x1p-23 : 0x1p-52;
  const double zero = largest * double(cfg.width) * eps;
  std::vector<double> logs;
  for (double e : r.eigenvalues)
    if (e > zero)
      logs.push_back(std::log10(e));
    else
      ++h.zeros;
  if (logs.empty()) throw UsageError("--plot/--histogram: every eigenvalue is 0; nothing to draw");
  const double lo = *std::min_element(logs.begin(), logs.end());
  const double hi = std::max(*std::max_element(logs.begin(), logs.end()), lo + 1e-6);
  const int bins = 60;
  const double w = (hi - lo) / bins;
  h.measured.assign(bins, 0.0);
  for (double v : logs) h.measured[std::size_t(std::min(bins - 1, int((v - lo) / w)))] += 1;
  const double total = double(r.eigenvalues.size());
  for (int b = 0; b < bins; ++b) {
    h.centre.push_back(lo + (b + 0.5) * w);
    h.measured[std::size_t(b)] /= total * w;
  }
  try {
    std::vector<double> x;
    const int points = 400;
    const double a = lo - 0.5, b = hi + 0.5;
    for (int i = 0; i < points; ++i) x.push_back(std::pow(10.0, a + (b - a) * i / (points - 1)));
    const std::vector<double> rho =
        spectrum_density(cfg.act, cfg.init, cfg.depth, cfg.sigma_w2, r.q_star, x);
    for (int i = 0; i < points; ++i) {
      h.x_theory.push_back(std::log10(x[std::size_t(i)]));
      h.theory.push_back(x[std::size_t(i)] * std::log(10.0) * rho[std::size_t(i)]);
    }
  } catch (const Error&) { // no prediction for this case: the measured histogram alone
  }
  return h;
}

// CSV `log10_lambda,density,kind` with kind measured (bin centres) or theory.
std::string histogram_csv(const Histogram& h) {
  std::string out = "log10_lambda,density,kind\n";
  for (std::size_t i = 0; i < h.centre.size(); ++i)
    out += format_double(h.centre[i]) + "," + format_double(h.measured[i]) + ",measured\n";
  for (std::size_t i = 0; i < h.x_theory.size(); ++i)
    out += format_double(h.x_theory[i]) + "," + format_double(h.theory[i]) + ",theory\n";
  return out;
}

void plot_spectrum(const std::string& path, const SpectrumConfig& cfg, const Histogram& h) {
  std::string script = "set datafile separator ','\nset xlabel 'log10(lambda / m1)'\n"
                       "set ylabel 'density of log10(lambda / m1)'\nset grid\nset key top left\n"
                       "set style fill solid 0.4\n";
  std::string title = cfg.act.to_string() + ", " + weight_init_name(cfg.init) +
                      ", N = " + std::to_string(cfg.width) + ", L = " + std::to_string(cfg.depth) +
                      ", networks = " + std::to_string(cfg.networks);
  if (h.zeros)
    title += ", " + std::to_string(h.zeros) + " of " + std::to_string(h.total) +
             " eigenvalues are 0 to rounding";
  script += "set title " + gnuplot_string(title) + " noenhanced\n$h << EOD\n";
  for (std::size_t i = 0; i < h.centre.size(); ++i)
    script += format_double(h.centre[i]) + "," + format_double(h.measured[i]) + "\n";
  script += "EOD\n";
  std::string plot = "plot $h using 1:2 with boxes title 'measured'";
  if (!h.theory.empty()) {
    script += "$t << EOD\n";
    for (std::size_t i = 0; i < h.theory.size(); ++i)
      script += format_double(h.x_theory[i]) + "," + format_double(h.theory[i]) + "\n";
    script += "EOD\n";
    plot += ", $t using 1:2 with lines linewidth 2 title 'free probability'";
  }
  render_chart(script + plot + "\n", path, "--plot", ChartTerminal{});
}

int run_spectrum(const SpectrumArgs& args) {
  const Activation act = Activation::parse(args.act);
  if (act.is_gated())
    throw UsageError("ACT: '" + act.to_string() +
                     "' is a gated unit act(a) * b; spectrum takes a unary activation");
  if (!args.plot.empty()) check_plot_path(args.plot, "--plot");
  if ((!args.plot.empty() || !args.histogram.empty()) && args.method == "probes")
    throw UsageError(std::string(args.plot.empty() ? "--histogram" : "--plot") +
                     ": the histogram needs the eigenvalues; use --method eigen or auto (the "
                     "probes method estimates moments only)");

  SpectrumConfig cfg;
  cfg.act = act;
  cfg.init = args.init == "orthogonal" ? WeightInit::orthogonal : WeightInit::gaussian;
  cfg.depth = args.depth;
  cfg.width = args.width;
  cfg.networks = args.networks;
  cfg.sigma_w2 = args.sigma_w2;
  cfg.sigma_b2 = args.sigma_b2;
  cfg.seed = args.seed;
  cfg.dtype = parse_dtype(args.dtype);
  cfg.method = args.method == "eigen"    ? SpectrumMethod::eigen
               : args.method == "probes" ? SpectrumMethod::probes
                                         : SpectrumMethod::automatic;
  cfg.probes = args.probes;
  if (!std::isnan(args.q_star)) {
    if (args.sigma_w2_opt->count() > 0 || args.sigma_b2_opt->count() > 0)
      throw UsageError("--q-star and --sigma-w2/--sigma-b2: --q-star places the net on the "
                       "critical line (chi1 = 1) at that q*; give one or the other");
    try {
      const CriticalPoint c = critical_point_at_q_star(act, args.q_star);
      cfg.sigma_w2 = c.sigma_w2;
      cfg.sigma_b2 = c.sigma_b2;
      cfg.q_star = args.q_star;
    } catch (const Error& e) {
      rethrow_as(e, "--q-star");
    }
  }
  cfg.device = resolve_device(args.device, false, "actgrad spectrum");

  SpectrumResult r;
  SpectrumTheory t;
  try {
    ProgressLine progress("spectrum " + act.to_string());
    r = simulate_spectrum(
        cfg, [&](std::int64_t done, std::int64_t total) { progress.update(done, total); });
    t = spectrum_theory(act, cfg.init, cfg.depth, cfg.sigma_w2, cfg.sigma_b2, r.q_star);
  } catch (const Error& e) {
    if (e.kind() != Error::Kind::invalid_argument) throw;
    std::string what = e.what();
    if (what.rfind("spectrum: ", 0) == 0) what.erase(0, 10);
    throw UsageError(std::string(option_of(e.what())) + ": " + what);
  }
  if (!args.plot.empty() || !args.histogram.empty()) {
    const Histogram h = histogram(cfg, r);
    if (!args.plot.empty()) plot_spectrum(args.plot, cfg, h);
    if (!args.histogram.empty()) write_file(args.histogram, histogram_csv(h), "--histogram");
  }

  struct Row {
    const char* name;
    double theory, measured, se;
  };
  const Row rows[] = {{"m1", t.m1, r.mean.m1, r.se.m1},
                      {"m2_ratio", t.m2_ratio, r.mean.m2_ratio, r.se.m2_ratio},
                      {"m3_ratio", t.m3_ratio, r.mean.m3_ratio, r.se.m3_ratio},
                      {"lambda_max", t.lambda_max, r.mean.lambda_max, r.se.lambda_max}};
  std::string text;
  if (args.format == "json") {
    nlohmann::json j = {{"activation", act.to_string()},
                        {"init", weight_init_name(cfg.init)},
                        {"width", cfg.width},
                        {"depth", cfg.depth},
                        {"networks", cfg.networks},
                        {"method", spectrum_method_name(r.method)},
                        {"dtype", args.dtype},
                        {"seed", cfg.seed},
                        {"chi1", json_number(t.chi1)},
                        {"q_star", json_number(r.q_star)},
                        {"sigma_w2", json_number(cfg.sigma_w2)},
                        {"sigma_b2", json_number(cfg.sigma_b2)}};
    for (const Row& row : rows) {
      j["theory"][row.name] = json_number(row.theory);
      j["measured"][row.name] = json_number(row.measured);
      j["measured"][std::string(row.name) + "_se"] = json_number(row.se);
    }
    text = j.dump(2) + "\n";
  } else if (args.format == "csv") {
    text = "quantity,theory,measured,measured_se\n";
    for (const Row& row : rows)
      text += std::string(row.name) + "," + format_double(row.theory) + "," +
              format_double(row.measured) + "," + format_double(row.se) + "\n";
  } else {
    std::ostringstream o;
    o << "activation  " << act.to_string() << "\ninit        " << weight_init_name(cfg.init)
      << "\nwidth       " << cfg.width << "\ndepth       " << cfg.depth << "\nnetworks    "
      << cfg.networks << "\nmethod      " << spectrum_method_name(r.method) << "\nsigma_w2    "
      << format_double(cfg.sigma_w2) << "\nsigma_b2    " << format_double(cfg.sigma_b2)
      << "\nq_star      " << format_double(r.q_star) << "\nchi1        " << format_double(t.chi1)
      << "\n\n";
    char line[160];
    std::snprintf(line, sizeof line, "%-11s %-14s %-14s %s\n", "quantity", "theory", "measured",
                  "se");
    o << line;
    for (const Row& row : rows) {
      std::snprintf(line, sizeof line, "%-11s %-14.6g %-14.6g %.3g\n", row.name, row.theory,
                    row.measured, row.se);
      o << line;
    }
    o << "eigenvalues of J J^T: m1 = tr(J J^T)/N, m2_ratio = m2/m1^2 - 1 (0: isometry), m3_ratio "
         "= m3/m1^3, lambda_max = largest over m1\n";
    text = o.str();
  }
  write_stdout(text);
  return 0;
}

} // namespace

Command add_spectrum_command(CLI::App& root) {
  auto args = std::make_shared<SpectrumArgs>();
  CLI::App* app = root.add_subcommand(
      "spectrum", "Singular-value spectrum of a deep dense net's input-output Jacobian: "
                  "simulated networks beside the free-probability prediction");
  app->footer(
      "Network: h^l = W^l x^(l-1) + b^l, x^l = f(h^l), input x^0 = f(sqrt(q*) z) at the fixed\n"
      "point; J = D^L W^L ... D^1 W^1. W Gaussian (entries N(0, S/N)) or orthogonal (sqrt(S) Q,\n"
      "Q Haar by QR with the sign fix). Methods: eigen forms J and solves J J^T (N^3 per layer);\n"
      "probes estimates tr((J^T J)^k)/N, k = 1..3, from --probes Gaussian vectors (N^2 P per\n"
      "layer; no lambda_max); auto takes eigen up to N = 2048. Theory: mu_k = E[f'(sqrt(q*)\n"
      "z)^(2k)], S_J = (S_D S_W)^L, moments by series inversion, the edge by min over z.\n"
      "Limits: --depth <= 2^20, --width <= 16384 (eigen) or 2^20 (probes), --networks <= 2^20,\n"
      "--probes <= 4096; a run needing more memory than the device has is refused. Time is not\n"
      "capped.\n"
      "Exit status: 0 ok; 2 bad argument; 1 any other failure.");
  app->add_option("ACT", args->act, "unary activation, e.g. tanh or relu")->required();
  app->add_option("--depth", args->depth, "number of layers L (>= 1)")->required();
  app->add_option("--width", args->width, "layer width N (default 1024)");
  app->add_option("--init", args->init, "weights: gaussian or orthogonal (default gaussian)")
      ->check(one_of({"gaussian", "orthogonal"}));
  args->sigma_w2_opt =
      app->add_option("--sigma-w2", args->sigma_w2, "weight variance S (default 1)");
  args->sigma_b2_opt = app->add_option("--sigma-b2", args->sigma_b2, "bias variance T (default 0)");
  app->add_option("--q-star", args->q_star,
                  "place the net on the critical line chi1 = 1 at this fixed point q* > 0 "
                  "(instead of --sigma-w2/--sigma-b2)")
      ->check(CLI::PositiveNumber);
  app->add_option("--networks", args->networks, "independent networks K (default 1)");
  app->add_option("--seed", args->seed, "Philox seed (default 0)");
  app->add_option("--device", args->device, "auto, cpu or cuda (default auto)")
      ->check(one_of({"auto", "cpu", "cuda"}));
  app->add_option("--dtype", args->dtype, "precision of the products, f64 or f32 (default f64)")
      ->check(one_of({"f32", "f64"}));
  app->add_option("--method", args->method, "auto, eigen or probes (default auto)")
      ->check(one_of({"auto", "eigen", "probes"}));
  app->add_option("--probes", args->probes, "probe vectors per network (default 16)");
  app->add_option("--format", args->format, "table, csv or json (default table)")
      ->check(one_of({"table", "csv", "json"}));
  app->add_option("--plot", args->plot,
                  "draw the histogram of log10(lambda/m1) beside the prediction into FILE.png or "
                  "FILE.svg (eigen method)");
  app->add_option("--histogram", args->histogram,
                  "write that histogram and the predicted density as CSV "
                  "'log10_lambda,density,kind' (kind measured or theory) into FILE");
  return {app, [args] { return run_spectrum(*args); }};
}

} // namespace actgrad::cli
