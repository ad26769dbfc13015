// `actgrad shape`: how to initialise a deep net of one activation (issue 16): the
// variance-preserving gain, the critical point (sigma_w2, sigma_b2) on the order/chaos edge with
// its fixed point q*, chi1 and the depth scales, or the DKS / TAT activation transform.
//
// Output: a table (key, value rows) or one JSON object with the keys activation, method, depth,
// gain, sigma_w2, sigma_b2, q_star, chi1, xi_q, xi_c, input_scale, input_shift, output_shift,
// output_scale, negative_slope (those that apply to the method).
#include <algorithm>
#include <cmath>
#include <cstdint>
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
  std::int64_t depth = 0;
  double zeta = 1.5, tau = 0.3, eta = 0.9;
  std::string resnet;
  double shortcut_weight = 0.6;
  int branch_depth = 3;
  std::string format = "table";
};

NetworkShape parse_network(const ShapeArgs& args) {
  NetworkShape net;
  if (!args.resnet.empty()) {
    if (args.depth != 0) throw UsageError("--depth and --resnet: give one network");
    std::size_t pos = 0;
    while (pos <= args.resnet.size()) {
      const std::size_t comma = std::min(args.resnet.find(',', pos), args.resnet.size());
      const std::string piece = args.resnet.substr(pos, comma - pos);
      double v = 0;
      if (!parse_double(piece, v) || v != std::floor(v) || v < 1 || v > 1000)
        throw UsageError("--resnet '" + args.resnet +
                         "': blocks per stage as integers from 1 to 1000, e.g. 3,4,23,3");
      net.resnet_blocks.push_back(int(v));
      if (net.resnet_blocks.size() > 64) throw UsageError("--resnet: at most 64 stages");
      pos = comma + 1;
    }
    net.shortcut_weight = args.shortcut_weight;
    net.branch_depth = args.branch_depth;
  } else {
    if (args.depth < 1)
      throw UsageError("--depth: " + args.method +
                       " shapes a network: give --depth L >= 1 (an MLP) or --resnet B1,B2,...");
    net.depth = args.depth;
  }
  return net;
}

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
  if (args.method != "dks" && args.method != "tat" && (args.depth != 0 || !args.resnet.empty()))
    throw UsageError("--depth/--resnet: apply to --method dks or tat, not " + args.method);
  if (args.method == "gain") {
    if (!std::isnan(args.q_star) || !std::isnan(args.sigma_b2))
      throw UsageError("--q-star/--sigma-b2: apply to --method critical, not gain");
    try {
      values.emplace_back("gain", variance_gain(act));
    } catch (const Error& e) {
      rethrow_as(e, "ACT");
    }
  } else if (args.method == "dks" || args.method == "tat") {
    if (!std::isnan(args.q_star) || !std::isnan(args.sigma_b2))
      throw UsageError("--q-star/--sigma-b2: apply to --method critical, not " + args.method);
    const NetworkShape net = parse_network(args);
    ActivationTransform t;
    const bool leaky = std::string(act.name()) == "leaky_relu";
    try {
      t = args.method == "dks" ? dks_transform(act, net, args.zeta)
                               : tat_transform(act, net, args.tau, args.eta);
    } catch (const Error& e) {
      const bool about_act =
          std::string(e.what()).find("'" + act.to_string() + "'") != std::string::npos &&
          std::string(e.what()).find("no solution") == std::string::npos;
      rethrow_as(e, about_act              ? "ACT"
                    : args.method == "dks" ? "--zeta"
                    : leaky                ? "--eta"
                                           : "--tau");
    }
    if (net.resnet_blocks.empty()) values.emplace_back("depth", double(net.depth));
    values.insert(values.end(), {{"input_scale", t.input_scale},
                                 {"input_shift", t.input_shift},
                                 {"output_shift", t.output_shift},
                                 {"output_scale", t.output_scale}});
    if (!std::isnan(t.negative_slope)) values.emplace_back("negative_slope", t.negative_slope);
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
    for (const auto& [k, v] : values)
      j[k] = k == "depth" ? nlohmann::json(std::int64_t(v)) : json_number(v);
    text = j.dump(2) + "\n";
  } else {
    std::ostringstream o;
    o << "activation  " << act.to_string() << "\nmethod      " << args.method << "\n";
    for (const auto& [k, v] : values)
      o << k << std::string(12 - std::min<std::size_t>(11, k.size()), ' ') << format_double(v)
        << "\n";
    if (args.method == "dks" || args.method == "tat") {
      o << "phi_hat(x) = output_scale * (phi(input_scale * x + input_shift) + output_shift)"
        << (std::string(act.name()) == "leaky_relu" ? ", phi = leaky_relu at negative_slope" : "")
        << "\n";
      std::string spec = act.to_string();
      for (const auto& [k, v] : values)
        if (k == "negative_slope") spec = "leaky_relu:negative_slope=" + format_double(v);
      std::string tr;
      for (const char* k : {"input_scale", "input_shift", "output_shift", "output_scale"})
        for (const auto& [key, v] : values)
          if (key == k) tr += (tr.empty() ? "" : ",") + format_double(v);
      o << "run it: actgrad decay " << spec << " --model dense --transform " << tr
        << " --depth L\n";
    } else if (args.method == "gain")
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
      "  dks       Deep Kernel Shaping (Martens et al. 2021): phi_hat(x) = output_scale *\n"
      "            (phi(input_scale x + input_shift) + output_shift) with Q(1) = 1, Q'(1) = 1,\n"
      "            C(0) = 0 and the net's maximal C-map slope = --zeta (leaky_relu: its\n"
      "            negative_slope and input_shift; relu: input_shift = +-1)\n"
      "  tat       Tailored Activation Transformations (Zhang et al. 2022): Q(1) = 1,\n"
      "            Q'(1) = 1, C'(1) = 1 and the net's maximal curvature = --tau; leaky_relu:\n"
      "            the negative_slope with the net's maximal C_f(0) = --eta\n"
      "dks and tat shape a network: an MLP of --depth L nonlinear layers, or residual stages\n"
      "(--resnet 3,4,23,3 --shortcut-weight 0.6 --branch-depth 3; the first block of each stage\n"
      "has a projection shortcut with one nonlinear layer, one ends the net).\n"
      "Odd functions (tanh) have mirror solutions; input_shift >= 0 is reported.\n"
      "Expectations by adaptive Gauss-Kronrod quadrature (1e-14 relative), on the library's own\n"
      "f and f' in double. A gated unit is refused: name its gate. Where no critical point\n"
      "exists (relu at sigma_b2 > 0, a q* that needs sigma_b2 < 0) the command says so, exit 2.\n"
      "Limits: no size arguments.\n"
      "Exit status: 0 ok; 2 bad argument or no solution; 1 otherwise.");
  app->add_option("ACT", args->act, "activation, e.g. tanh or elu:alpha=0.5")->required();
  app->add_option("--method", args->method, "what to compute")
      ->check(one_of({"gain", "critical", "dks", "tat"}))
      ->capture_default_str();
  app->add_option("--q-star", args->q_star, "critical: the fixed point q* > 0 (default 1)")
      ->check(CLI::PositiveNumber);
  app->add_option("--sigma-b2", args->sigma_b2, "critical: the bias variance >= 0 instead")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--depth", args->depth, "dks/tat: the MLP's nonlinear layers (>= 1)")
      ->check(CLI::Range(std::int64_t(1), std::int64_t(1000000)));
  app->add_option("--zeta", args->zeta, "dks: the net's maximal C-map slope (> 1)")
      ->check(CLI::Range(1.0 + 1e-12, 1e6))
      ->capture_default_str();
  app->add_option("--tau", args->tau, "tat: the net's maximal C-map curvature (> 0)")
      ->check(CLI::Range(1e-12, 1e6))
      ->capture_default_str();
  app->add_option("--eta", args->eta, "tat, leaky_relu: the net's maximal C_f(0), in (0, 1)")
      ->check(CLI::Range(1e-12, 1.0 - 1e-12))
      ->capture_default_str();
  app->add_option("--resnet", args->resnet, "dks/tat: residual blocks per stage, e.g. 3,4,23,3");
  app->add_option("--shortcut-weight", args->shortcut_weight, "resnet: shortcut weight in [0, 1]")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app->add_option("--branch-depth", args->branch_depth, "resnet: nonlinear layers per branch")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app->add_option("--format", args->format, "output format")
      ->check(one_of({"table", "json"}))
      ->capture_default_str();
  return {app, [args] { return run_shape(*args); }};
}

} // namespace actgrad::cli
