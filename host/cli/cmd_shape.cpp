// `actgrad shape`: how to initialise a deep net of one activation (issue 16): the
// variance-preserving gain, or the critical point (sigma_w2, sigma_b2) on the order/chaos edge
// with its fixed point q*, chi1 and the depth scales.
//
// Output: a table (key, value rows) or one JSON object with the keys activation, method, gain,
// sigma_w2, sigma_b2, q_star, chi1, xi_q, xi_c (those that apply to the method).
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actgrad/actgrad.hpp"
#include "analysis_text.hpp"
#include "command.hpp"
#include "number_format.hpp"
#include "output.hpp"

namespace actgrad::cli {
namespace {

struct ShapeArgs {
  std::string act;
  std::string method = "gain";
  double q_star = NAN;
  double sigma_b2 = NAN;
  std::string format = "table";
};

// The library's message with the option it is about, as one line.
[[noreturn]] void rethrow_as(const Error& e, const char* option) {
  if (e.kind() != Error::Kind::invalid_argument) throw e;
  throw UsageError(std::string(option) + ": " + e.what());
}

int run_shape(const ShapeArgs& args) {
  const Activation act = Activation::parse(args.act);
  if (act.is_gated())
    throw UsageError("ACT: '" + act.to_string() +
                     "' is a gated unit act(a) * b; shape takes a unary activation (its gate, "
                     "e.g. silu for swiglu)");
  std::vector<std::pair<std::string, double>> values;
  if (args.method == "gain") {
    if (!std::isnan(args.q_star) || !std::isnan(args.sigma_b2))
      throw UsageError("--q-star/--sigma-b2: apply to --method critical, not gain");
    try {
      values.emplace_back("gain", variance_gain(act));
    } catch (const Error& e) {
      rethrow_as(e, "ACT");
    }
  } else { // critical
    if (!std::isnan(args.q_star) && !std::isnan(args.sigma_b2))
      throw UsageError("--q-star and --sigma-b2: give one of them (the other follows)");
    CriticalPoint c;
    try {
      c = !std::isnan(args.sigma_b2)
              ? critical_point_at_sigma_b2(act, args.sigma_b2)
              : critical_point_at_q_star(act, std::isnan(args.q_star) ? 1.0 : args.q_star);
    } catch (const Error& e) {
      rethrow_as(e, !std::isnan(args.sigma_b2) ? "--sigma-b2" : "--q-star");
    }
    values = {{"sigma_w2", c.sigma_w2}, {"sigma_b2", c.sigma_b2}, {"q_star", c.q_star},
              {"chi1", c.chi1},         {"xi_q", c.xi_q},         {"xi_c", c.xi_c}};
  }

  std::string text;
  if (args.format == "json") {
    nlohmann::json j = {{"activation", act.to_string()}, {"method", args.method}};
    for (const auto& [k, v] : values) j[k] = json_number(v);
    text = j.dump(2) + "\n";
  } else {
    std::ostringstream o;
    o << "activation  " << act.to_string() << "\nmethod      " << args.method << "\n";
    for (const auto& [k, v] : values)
      o << k << std::string(12 - std::min<std::size_t>(11, k.size()), ' ') << format_double(v)
        << "\n";
    if (args.method == "gain")
      o << "weights ~ N(0, (gain / sqrt(fan_in))^2) keep E[x^2] = 1 through a layer; z ~ N(0, 1)\n";
    else
      o << "chi1 = 1: gradients neither vanish nor explode on average; xi_q = -1/ln(chi_q), the "
           "depth over which q settles at q* (negative: q* repels); xi_c = -1/ln(chi1)\n";
    text = o.str();
  }
  write_stdout(text);
  return 0;
}

} // namespace

Command add_shape_command(CLI::App& root) {
  auto args = std::make_shared<ShapeArgs>();
  CLI::App* app = root.add_subcommand(
      "shape", "Initialisation for a deep net of one activation: gain or critical point");
  app->footer(
      "Methods:\n"
      "  gain      1 / sqrt(E[f(z)^2]), z ~ N(0, 1): weight std gain / sqrt(fan_in) keeps the\n"
      "            pre-activation variance (relu sqrt(2), leaky_relu sqrt(2 / (1 + a^2)))\n"
      "  critical  (sigma_w2, sigma_b2) with chi1 = sigma_w2 E[f'(sqrt(q*) z)^2] = 1 at the\n"
      "            q-map's fixed point q*: at --q-star Q (default 1), or at --sigma-b2 T (the\n"
      "            smallest such q*); also chi1, xi_q and xi_c (inf on the edge)\n"
      "Expectations by adaptive Gauss-Kronrod quadrature (1e-14 relative), on the library's own\n"
      "f and f' in double. A gated unit is refused: name its gate. Where no critical point\n"
      "exists (relu at sigma_b2 > 0, a q* that needs sigma_b2 < 0) the command says so, exit 2.\n"
      "Limits: no size arguments.\n"
      "Exit status: 0 ok; 2 bad argument or no solution; 1 otherwise.");
  app->add_option("ACT", args->act, "activation, e.g. tanh or elu:alpha=0.5")->required();
  app->add_option("--method", args->method, "what to compute")
      ->check(one_of({"gain", "critical"}))
      ->capture_default_str();
  app->add_option("--q-star", args->q_star, "critical: the fixed point q* > 0 (default 1)")
      ->check(CLI::PositiveNumber);
  app->add_option("--sigma-b2", args->sigma_b2, "critical: the bias variance >= 0 instead")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--format", args->format, "output format")
      ->check(one_of({"table", "json"}))
      ->capture_default_str();
  return {app, [args] { return run_shape(*args); }};
}

} // namespace actgrad::cli
