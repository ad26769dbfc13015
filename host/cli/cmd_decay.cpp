// `actgrad decay`: gradient decay through depth (SPEC §5, §6) for one or several activations, as
// per-layer CSV, with an optional mean-field summary and a gnuplot chart.
//
// Output (stdout, written only after every run finished):
//   [activation,]layer,log10_grad_norm2,q,saturated_fraction     one row per layer l = 1..L
// The leading `activation` column appears only when several activations are given (a name whose
// parameters contain a comma is quoted, RFC 4180). --summary
// appends two more CSV blocks, each after one blank line:
//   [activation,]q_star,chi1,depth_scale,converged               mean-field constants at (S, T)
//   [activation,]layers,measured_factor,chi_theory               per layer range "a-b"
// measured_factor is the geometric mean over the range of the per-layer factor of the mean
// squared gradient (chain: g_l / g_{l-1} for l = a..b with g_0 = 1; dense: g_l / g_{l+1} for
// l = a..b <= L-1, backpropagation running from layer L down), chi_theory the geometric mean of
// the mean-field prediction S E[phi'(sqrt(q) z)^2] for those layers (chain: q of z_{l-1}, from
// q_0 = 1; dense: q^l, from q^1 = S + T). Ranges split the layers into about 10 equal parts.
//
// --networks K >= 2 (dense, issue 17) runs K independent networks instead, one input each:
//   [activation,]network,log_forward_ratio,log_grad_ratio         one row per network k = 0..K-1
// with natural logs of |x^L|^2/|x^0|^2 and |J^T v|^2 (simulate_networks); --summary appends,
// after a blank line,
//   [activation,]quantity,networks,mean,variance,se_mean,q05,q25,q50,q75,q95,
//                mean_field_log_mean,law_mean,law_variance,c_phi
// with rows `forward` and `grad` (networks = the number of finite values the statistics use).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "actgrad/actgrad.hpp"
#include "actgrad/decay.hpp"
#include "command.hpp"
#include "gnuplot.hpp"
#include "limits.hpp"
#include "number_format.hpp"
#include "options.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace actgrad::cli {
namespace {

struct DecayArgs {
  std::string acts;
  std::string model;
  std::int64_t depth = 0;
  std::int64_t width = 1024;
  std::int64_t batch = 0;
  double sigma_w2 = 1.0;
  double sigma_b2 = 0.0;
  std::uint64_t seed = 0;
  std::string device = "auto";
  std::string dtype = "f32";
  std::string plot;
  std::string transform;
  bool summary = false;
  std::string init = "gaussian";
  std::int64_t networks = 1;
  CLI::Option* width_opt = nullptr;
  CLI::Option* batch_opt = nullptr;
  CLI::Option* init_opt = nullptr;
  CLI::Option* networks_opt = nullptr;
};

// "a,b:p=1,q=2,c" -> {"a", "b:p=1,q=2", "c"}: a piece with '=' and no ':' continues the
// parameters of the activation before it.
std::vector<Activation> parse_activations(const std::string& text) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string piece = text.substr(start, comma - start);
    const bool continues = piece.find('=') != std::string::npos &&
                           piece.find(':') == std::string::npos && !names.empty();
    if (continues)
      names.back() += "," + piece;
    else
      names.push_back(piece);
    start = comma + 1;
  }
  std::vector<Activation> acts;
  for (const std::string& n : names) {
    if (n.empty()) throw UsageError("ACT '" + text + "': an empty activation name in the list");
    acts.push_back(Activation::parse(n));
  }
  return acts;
}

// Geometric mean of chi over [a, b] (1-based) of a per-layer factor list.
double geometric_mean(const std::vector<double>& v, std::int64_t a, std::int64_t b) {
  double s = 0.0;
  for (std::int64_t l = a; l <= b; ++l) s += std::log(v[std::size_t(l - 1)]);
  return std::exp(s / double(b - a + 1));
}

struct Range {
  std::int64_t a, b;
  double measured, theory;
};

// The --summary ranges of one run (see the file comment).
std::vector<Range> summary_ranges(const DecayConfig& cfg, const std::vector<LayerStats>& rows) {
  const bool dense = cfg.model == DecayModel::dense;
  const std::int64_t L = cfg.depth;
  const std::int64_t n = dense ? L - 1 : L; // number of per-layer factors
  std::vector<double> chi(std::size_t(std::max<std::int64_t>(n, 0)));
  if (dense) {
    const MeanFieldTrajectory t = mean_field_trajectory(cfg.act, cfg.sigma_w2, cfg.sigma_b2, n);
    chi = t.chi;
  } else {
    double q = 1.0, prev_q = -1.0;
    for (std::int64_t l = 1; l <= n; ++l) {
      const std::size_t i = std::size_t(l - 1);
      chi[i] = q == prev_q ? chi[i - 1] : mean_field_chi(cfg.act, cfg.sigma_w2, q);
      prev_q = q;
      q = mean_field_qmap(cfg.act, cfg.sigma_w2, cfg.sigma_b2, q);
    }
  }
  auto g = [&](std::int64_t l) { return l == 0 ? 0.0 : rows[std::size_t(l - 1)].log10_grad_norm2; };
  std::vector<Range> out;
  const std::int64_t w = std::max<std::int64_t>(1, (n + 9) / 10);
  for (std::int64_t a = 1; a <= n; a += w) {
    const std::int64_t b = std::min(n, a + w - 1);
    const double slope =
        dense ? (g(a) - g(b + 1)) / double(b - a + 1) : (g(b) - g(a - 1)) / double(b - a + 1);
    out.push_back({a, b, std::pow(10.0, slope), geometric_mean(chi, a, b)});
  }
  return out;
}

std::string fmt(double v) { return format_double(v); }

// The activation column: quoted (RFC 4180) when its parameters contain a comma.
std::string name_field(const Activation& act) {
  const std::string n = act.to_string();
  return n.find(',') == std::string::npos ? n : "\"" + n + "\"";
}

std::uint64_t mul_sat(std::uint64_t a, std::uint64_t b) {
  return b != 0 && a > ~0ull / b ? ~0ull : a * b;
}
std::uint64_t add_sat(std::uint64_t a, std::uint64_t b) { return a > ~0ull - b ? ~0ull : a + b; }

std::string bytes_text(std::uint64_t b) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu bytes (%.3g GiB)", static_cast<unsigned long long>(b),
                double(b) / double(1ull << 30));
  return buf;
}

// Generous bytes of output per layer and activation (limits.hpp).
using limits::kDecayCsvRowBytes;
using limits::kDecayPlotRowBytes;
using limits::kDecaySummaryRowBytes;

// Refuses, before anything runs, a run whose memory exceeds what is available: per activation
// the model and its per-layer results (decay_memory), kept for every activation until the end,
// plus the CSV and plot text built from them. A typo in --depth or --batch must not start a
// multi-GB or endless run.
void check_memory(const DecayConfig& base, const std::vector<Activation>& acts,
                  const DecayArgs& args) {
  if (base.depth <= 0) return; // simulate_decay names the bad depth
  DecayConfig cfg = base;
  cfg.act = acts.front();
  const DecayMemory m = decay_memory(cfg);
  const std::uint64_t rows = mul_sat(acts.size(), std::uint64_t(base.depth));
  const std::uint64_t per_row = kDecayCsvRowBytes + (args.plot.empty() ? 0 : kDecayPlotRowBytes) +
                                (args.summary ? kDecaySummaryRowBytes : 0);
  const std::uint64_t text = mul_sat(rows, per_row);
  const std::uint64_t results = mul_sat(acts.size(), m.results);
  const bool cpu = base.device.kind == DeviceKind::cpu;
  const std::uint64_t host = add_sat(add_sat(results, text), cpu ? m.model : 0);
  std::string what = "--depth " + std::to_string(base.depth);
  if (args.width_opt->count() > 0) what += " --width " + std::to_string(args.width);
  if (args.batch_opt->count() > 0) what += " --batch " + std::to_string(args.batch);
  const std::string reduce = base.model == DecayModel::dense
                                 ? "; reduce --depth, --width or --batch"
                                 : "; reduce --depth or --batch";
  if (host > m.host_available)
    throw UsageError(what + ": this run needs about " + bytes_text(host) + " of memory (" +
                     (cpu ? "model " + std::to_string(m.model) + ", " : std::string()) +
                     "per-layer results " + std::to_string(results) + ", text " +
                     std::to_string(text) + " bytes) but only " + bytes_text(m.host_available) +
                     " are available" + reduce);
  if (!cpu && m.model > m.device_available)
    throw UsageError(what + ": the model needs " + bytes_text(m.model) + " on " +
                     base.device.describe() + " but only " + bytes_text(m.device_available) +
                     " are free" + reduce);
}

// Bytes of CSV per network row and activation (generous: an index and two shortest doubles).
constexpr std::uint64_t kNetworkRowBytes = 96;

// --networks K >= 2: refuses a run whose host memory (the model on the CPU, two doubles per
// network and activation, the CSV text) exceeds what is available, then runs and prints.
int run_networks(const DecayArgs& args, const std::vector<Activation>& acts,
                 const DecayConfig& base) {
  const bool several = acts.size() > 1;
  const auto K = std::uint64_t(args.networks);
  DecayConfig cfg0 = base;
  cfg0.act = acts.front();
  const DecayMemory m = decay_memory(cfg0);
  const bool cpu = base.device.kind == DeviceKind::cpu;
  const std::uint64_t host =
      add_sat(add_sat(mul_sat(mul_sat(K, acts.size()), 2 * sizeof(double) + kNetworkRowBytes),
                      mul_sat(K, sizeof(double))),
              cpu ? networks_memory_bytes(cfg0) : 0);
  if (host > m.host_available)
    throw UsageError("--networks " + std::to_string(args.networks) + ": this run needs about " +
                     bytes_text(host) + " of host memory but only " + bytes_text(m.host_available) +
                     " are available; reduce --networks, --width or --depth");

  std::vector<NetworkStats> runs;
  ProgressLine progress("decay");
  for (const Activation& act : acts) {
    DecayConfig cfg = base;
    cfg.act = act;
    progress.relabel("decay networks " + act.to_string());
    runs.push_back(
        simulate_networks(cfg, args.networks, [&](std::int64_t done, std::int64_t total) {
          progress.update(done, total);
        }));
  }

  std::string out;
  const std::string lead = several ? "activation," : "";
  out += lead + "network,log_forward_ratio,log_grad_ratio\n";
  for (std::size_t a = 0; a < acts.size(); ++a) {
    const std::string name = several ? name_field(acts[a]) + "," : "";
    for (std::size_t k = 0; k < runs[a].log_forward_ratio.size(); ++k)
      out += name + std::to_string(k) + "," + fmt(runs[a].log_forward_ratio[k]) + "," +
             fmt(runs[a].log_grad_ratio[k]) + "\n";
  }
  if (args.summary) {
    out += "\n" + lead +
           "quantity,networks,mean,variance,se_mean,q05,q25,q50,q75,q95,mean_field_log_mean,"
           "law_mean,law_variance,c_phi\n";
    for (std::size_t a = 0; a < acts.size(); ++a) {
      const std::string name = several ? name_field(acts[a]) + "," : "";
      const auto row = [&](const char* what, const NetworkQuantity& q) {
        const SampleStats& s = q.stats;
        out += name + what + "," + std::to_string(s.count) + "," + fmt(s.mean) + "," +
               fmt(s.variance) + "," + fmt(s.se_mean) + "," + fmt(s.q05) + "," + fmt(s.q25) + "," +
               fmt(s.q50) + "," + fmt(s.q75) + "," + fmt(s.q95) + "," +
               fmt(q.theory.mean_field_log_mean) + "," + fmt(q.theory.law.mean) + "," +
               fmt(q.theory.law.variance) + "," + fmt(q.c_phi) + "\n";
      };
      row("forward", runs[a].forward);
      row("grad", runs[a].grad);
    }
  }
  write_stdout(out);
  return 0;
}

int run_decay(const DecayArgs& args) {
  const std::vector<Activation> acts = parse_activations(args.acts);
  const bool several = acts.size() > 1;
  const DecayModel model = args.model == "dense" ? DecayModel::dense : DecayModel::chain;
  if (args.batch_opt->count() > 0 && args.batch <= 0)
    throw UsageError("--batch " + std::to_string(args.batch) + ": use an integer >= 1");
  if (model == DecayModel::chain && args.width_opt->count() > 0)
    throw UsageError("--width applies to --model dense only; the chain model has paths (--batch)");
  if (model == DecayModel::chain && args.init_opt->count() > 0)
    throw UsageError("--init applies to --model dense only; the chain model has no weight "
                     "matrices");
  if (model == DecayModel::chain && args.networks_opt->count() > 0)
    throw UsageError("--networks applies to --model dense only");
  if (args.networks < 1)
    throw UsageError("--networks " + std::to_string(args.networks) + ": use an integer >= 1");
  const bool networks = args.networks >= 2;
  if (networks && !args.plot.empty())
    throw UsageError("--plot with --networks >= 2 is not supported; leave one out");
  if (networks && args.batch_opt->count() > 0)
    throw UsageError("--batch with --networks >= 2: each network runs one input; leave --batch "
                     "out");
  if (!args.plot.empty()) check_plot_path(args.plot, "--plot");

  ActivationTransform transform;
  if (!args.transform.empty()) {
    if (args.summary)
      throw UsageError("--transform and --summary: the summary's mean-field theory is the "
                       "untransformed activation's; leave one out");
    double v[4];
    std::size_t pos = 0;
    for (int i = 0; i < 4; ++i) {
      const std::size_t comma = args.transform.find(',', pos);
      const bool last = i == 3;
      if ((comma == std::string::npos) != last ||
          !parse_double(args.transform.substr(pos, last ? std::string::npos : comma - pos), v[i]) ||
          !std::isfinite(v[i]))
        throw UsageError("--transform '" + args.transform +
                         "': use four finite numbers input_scale,input_shift,output_shift,"
                         "output_scale (as `actgrad shape --method dks|tat` prints them)");
      pos = comma + 1;
    }
    transform.input_scale = v[0];
    transform.input_shift = v[1];
    transform.output_shift = v[2];
    transform.output_scale = v[3];
  }

  DecayConfig base;
  base.transform = transform;
  base.model = model;
  base.depth = args.depth;
  base.width = args.width;
  base.batch = args.batch_opt->count() > 0 ? args.batch : 0;
  base.sigma_w2 = args.sigma_w2;
  base.sigma_b2 = args.sigma_b2;
  base.seed = args.seed;
  base.dtype = parse_dtype(args.dtype);
  base.init = args.init == "orthogonal" ? WeightInit::orthogonal : WeightInit::gaussian;
  base.device = resolve_device(args.device, false, "actgrad decay");
  if (networks) return run_networks(args, acts, base);
  check_memory(base, acts, args);

  std::vector<std::vector<LayerStats>> runs;
  ProgressLine progress("decay");
  for (const Activation& act : acts) {
    DecayConfig cfg = base;
    cfg.act = act;
    progress.relabel("decay " + act.to_string());
    runs.push_back(simulate_decay(
        cfg, [&](std::int64_t done, std::int64_t total) { progress.update(done, total); }));
  }

  std::string out;
  const std::string lead = several ? "activation," : "";
  out += lead + "layer,log10_grad_norm2,q,saturated_fraction\n";
  for (std::size_t k = 0; k < acts.size(); ++k) {
    const std::string name = several ? name_field(acts[k]) + "," : "";
    for (const LayerStats& r : runs[k])
      out += name + std::to_string(r.layer) + "," + fmt(r.log10_grad_norm2) + "," + fmt(r.q) + "," +
             fmt(r.saturated_fraction) + "\n";
  }
  if (args.summary) {
    out += "\n" + lead + "q_star,chi1,depth_scale,converged\n";
    for (const Activation& act : acts) {
      const MeanField m = mean_field(act, base.sigma_w2, base.sigma_b2);
      out += (several ? name_field(act) + "," : "") + fmt(m.q_star) + "," + fmt(m.chi1) + "," +
             fmt(m.depth_scale) + "," + (m.converged ? "true" : "false") + "\n";
    }
    out += "\n" + lead + "layers,measured_factor,chi_theory\n";
    for (std::size_t k = 0; k < acts.size(); ++k) {
      DecayConfig cfg = base;
      cfg.act = acts[k];
      for (const Range& r : summary_ranges(cfg, runs[k]))
        out += (several ? name_field(acts[k]) + "," : "") + std::to_string(r.a) + "-" +
               std::to_string(r.b) + "," + fmt(r.measured) + "," + fmt(r.theory) + "\n";
    }
  }

  if (!args.plot.empty()) {
    std::string script =
        "set datafile separator ','\nset xlabel 'layer'\n"
        "set ylabel 'log10 mean squared gradient'\nset grid\nset key top right\n"
        "set title " +
        gnuplot_string(std::string(model == DecayModel::dense ? "dense" : "chain") +
                       " model, sigma_w^2 = " + fmt(base.sigma_w2) +
                       ", sigma_b^2 = " + fmt(base.sigma_b2)) +
        " noenhanced\n";
    std::string plot = "plot ";
    for (std::size_t k = 0; k < acts.size(); ++k) {
      script += "$d" + std::to_string(k) + " << EOD\n";
      for (const LayerStats& r : runs[k])
        if (std::isfinite(r.log10_grad_norm2))
          script += std::to_string(r.layer) + "," + fmt(r.log10_grad_norm2) + "\n";
      script += "EOD\n";
      plot += std::string(k ? ", " : "") + "$d" + std::to_string(k) +
              " using 1:2 with lines linewidth 2 title " + gnuplot_string(acts[k].to_string()) +
              " noenhanced";
    }
    render_chart(script + plot + "\n", args.plot, "--plot", ChartTerminal{});
  }
  write_stdout(out);
  return 0;
}

} // namespace

Command add_decay_command(CLI::App& root) {
  auto args = std::make_shared<DecayArgs>();
  CLI::App* app = root.add_subcommand(
      "decay",
      "Gradient decay through depth (SPEC §6): log10 of the mean squared gradient, q and the "
      "saturated fraction per layer, as CSV 'layer,log10_grad_norm2,q,saturated_fraction' "
      "(with a leading 'activation' column when several ACTs are given). --summary appends, "
      "after a blank line, the mean-field constants 'q_star,chi1,depth_scale,converged' and, "
      "after another, 'layers,measured_factor,chi_theory' for about 10 layer ranges a-b "
      "(geometric means of the measured per-layer factor and of the mean-field chi; chain: "
      "g_l/g_(l-1) with q from q_0 = 1, dense: g_l/g_(l+1) with q^1 = S+T). --dtype is the "
      "compute precision (chain: of z and the derivative product; dense: of the tensors). "
      "--networks K >= 2 (dense) runs K independent networks of one input each (fresh weights, "
      "network 0 = the single run's draws) and prints 'network,log_forward_ratio,log_grad_ratio' "
      "(natural logs of |x^L|^2/|x^0|^2 and |J^T v|^2, J = dx^L/dx^0, v a random unit vector); "
      "--summary then appends 'quantity,networks,mean,variance,se_mean,q05,q25,q50,q75,q95,"
      "mean_field_log_mean,law_mean,law_variance,c_phi' for forward and grad: the mean-field "
      "log of the MEAN ratio, the exact finite-width law of the log ratio for relu/leaky_relu "
      "with Gaussian weights and zero bias (asymptotic for grad; nan elsewhere) and c_phi = "
      "width * variance / depth.");
  app->footer(
      "Limits: --depth, --width and --batch (integers >= 1) and the number of ACTs have no fixed\n"
      "cap; a run whose memory (model, per-layer results for every ACT, and about " +
      std::to_string(kDecayCsvRowBytes) + " bytes of CSV\n(+" + std::to_string(kDecayPlotRowBytes) +
      " with --plot, +" + std::to_string(kDecaySummaryRowBytes) +
      " with --summary) per layer and ACT) exceeds the memory available is refused\n"
      "before it starts, saying how much it needs. Time is not capped.\n"
      "--networks K: 1 <= K <= 2^29 and K x depth x width^2 (x width with --init orthogonal)\n"
      "<= 1e12; the model and its results must fit in memory; no --plot or --batch with K >= 2.\n"
      "Exit status: 0 ok; 2 bad argument; 1 any other failure.");
  app->add_option("ACT", args->acts,
                  "activation name, or several separated by commas (e.g. sigmoid,tanh,relu)")
      ->required();
  app->add_option("--model", args->model, "dense (wide layers) or chain (one unit per path)")
      ->required()
      ->check(one_of({"dense", "chain"}));
  app->add_option("--depth", args->depth,
                  "number of layers L (>= 1); a run needing more memory than is available is "
                  "refused before it starts")
      ->required();
  args->width_opt = app->add_option("--width", args->width, "dense layer width (default 1024)");
  args->batch_opt = app->add_option(
      "--batch", args->batch, "batch items (dense, default 64) or paths (chain, default 65536)");
  app->add_option("--sigma-w2", args->sigma_w2, "weight variance S (default 1)");
  app->add_option("--sigma-b2", args->sigma_b2, "bias variance T (default 0)");
  app->add_option("--seed", args->seed, "Philox seed (default 0)");
  app->add_option("--device", args->device, "auto, cpu or cuda (default auto)")
      ->check(one_of({"auto", "cpu", "cuda"}));
  app->add_option("--dtype", args->dtype, "compute precision f32 or f64 (default f32)")
      ->check(one_of({"f32", "f64"}));
  app->add_option("--plot", args->plot,
                  "also draw log10 gradient norm against layer into FILE.png or FILE.svg");
  app->add_option("--transform", args->transform,
                  "run phi_hat(x) = G (phi(A x + B) + D) given as A,B,D,G (the DKS/TAT "
                  "transform that 'actgrad shape --method dks|tat' prints)");
  args->init_opt = app->add_option("--init", args->init,
                                   "dense weights: gaussian (i.i.d. N(0, S/W), default) or "
                                   "orthogonal (sqrt(S) Q, Q Haar)")
                       ->check(one_of({"gaussian", "orthogonal"}));
  args->networks_opt =
      app->add_option("--networks", args->networks,
                      "dense: run K independent networks (default 1 = the per-layer output above)");
  app->add_flag("--summary", args->summary,
                "append mean-field q*, chi1, depth scale and per-range factors");
  return {app, [args] { return run_decay(*args); }};
}

} // namespace actgrad::cli
