// Catalogue records built from activations.def, and Activation parsing, validation and printing.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "actgrad/activation.hpp"
#include "actgrad/detail/dispatch.hpp"
#include "actgrad/error.hpp"

namespace actgrad {
namespace {

template <template <class> class Op>
ActInfo make_info(const char* name, Kind kind) {
  const ActMeta m = Op<double>::meta();
  ActInfo info{};
  info.name = name;
  info.alias = m.alias;
  info.formula = m.formula;
  info.derivative = m.derivative;
  info.reference = m.reference;
  info.kind = kind;
  info.num_params = m.num_params;
  Params defaults;
  for (int i = 0; i < m.num_params; ++i) {
    info.params[i] = m.params[i];
    defaults.v[i] = m.params[i].default_value;
  }
  info.traits = m.traits;
  info.from_output = Op<double>::kFromOutput && Op<double>::from_output_ok(defaults);
  return info;
}

struct Catalogue {
  std::vector<ActInfo> infos;
  std::vector<ActId> ids;
  Catalogue() {
#define ACTGRAD_UNARY(Id, name, Op)                                                                \
  infos.push_back(make_info<Op>(name, Kind::unary));                                               \
  ids.push_back(ActId::Id);
#define ACTGRAD_GATED(Id, name, Op)                                                                \
  infos.push_back(make_info<Op>(name, Kind::gated));                                               \
  ids.push_back(ActId::Id);
#include "actgrad/activations.def"
  }
};

const Catalogue& cat() {
  static const Catalogue c;
  return c;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1u : 0u)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Shortest text that reads back to the same double ("10", not "1e+01"); "nan" for a NaN.
std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string best;
  for (int p = 1; p <= 17; ++p) {
    std::ostringstream t;
    t.precision(p);
    t << v;
    if (std::strtod(t.str().c_str(), nullptr) == v &&
        (best.empty() || t.str().size() < best.size()))
      best = t.str();
  }
  return best;
}

std::string range_text(const ParamSpec& s) {
  return std::string(s.min_open ? "(" : "[") + format_number(s.min) + ", " + format_number(s.max) +
         (s.max_open ? ")" : "]");
}

bool in_range(const ParamSpec& s, double v) {
  if (std::isnan(v)) return false;
  const bool lo = s.min_open ? v > s.min : v >= s.min;
  const bool hi = s.max_open ? v < s.max : v <= s.max;
  return lo && hi;
}

void validate(ActId id, const Params& p) {
  const ActInfo& info = catalogue_info(id);
  for (int i = 0; i < info.num_params; ++i)
    if (!in_range(info.params[i], p.v[i]))
      throw Error(std::string("parameter '") + info.params[i].name + "' of " + info.name +
                  " must be in " + range_text(info.params[i]) + "; got " + format_number(p.v[i]));
  const char* msg = detail::visit_activation(
      id, [&](auto tag) { return decltype(tag)::template op<double>::validate(p); });
  if (msg) throw Error(std::string(info.name) + ": " + msg);
}

} // namespace

int catalogue_size() { return static_cast<int>(cat().ids.size()); }
const std::vector<ActId>& catalogue() { return cat().ids; }
const ActInfo& catalogue_info(ActId id) { return cat().infos.at(static_cast<std::size_t>(id)); }

Activation::Activation(ActId id) : id_(id) {
  const ActInfo& info = catalogue_info(id);
  for (int i = 0; i < info.num_params; ++i) params_.v[i] = info.params[i].default_value;
}

Activation::Activation(ActId id, const Params& params) : id_(id), params_(params) {
  validate(id, params);
}

Activation Activation::parse(std::string_view text) {
  const std::size_t colon = text.find(':');
  const std::string name(text.substr(0, colon));
  const ActId* found = nullptr;
  for (const ActId& id : catalogue()) {
    const ActInfo& info = catalogue_info(id);
    if (name == info.name || (info.alias[0] && name == info.alias)) found = &id;
  }
  if (!found) {
    std::vector<std::pair<std::size_t, std::string>> close;
    for (const ActId& id : catalogue()) {
      const std::string cand = catalogue_info(id).name;
      const std::size_t d = edit_distance(name, cand);
      const bool sub = !name.empty() && (cand.find(name) != std::string::npos ||
                                         name.find(cand) != std::string::npos);
      if (d <= std::max<std::size_t>(2, name.size() / 3) || sub)
        close.emplace_back(sub ? 0 : d, cand);
    }
    std::sort(close.begin(), close.end());
    std::string msg = "unknown activation '" + name + "'";
    if (!close.empty()) {
      msg += "; did you mean: ";
      for (std::size_t i = 0; i < close.size() && i < 5; ++i)
        msg += (i ? ", " : "") + close[i].second;
      msg += "?";
    }
    msg += " (`actgrad list` shows all " + std::to_string(catalogue_size()) + ")";
    throw Error(msg);
  }
  Activation act(*found);
  const ActInfo& info = act.info();
  if (colon == std::string_view::npos) return act;
  std::string rest(text.substr(colon + 1));
  std::string allowed;
  for (int i = 0; i < info.num_params; ++i)
    allowed += (i ? ", " : "") + std::string(info.params[i].name);
  if (allowed.empty()) allowed = "none (it has no parameters)";
  bool seen[kMaxParams] = {};
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    const std::size_t comma = std::min(rest.find(',', pos), rest.size());
    const std::string item = rest.substr(pos, comma - pos);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw Error("activation '" + std::string(text) + "': expected param=value, got '" + item +
                  "'; parameters of " + info.name + ": " + allowed);
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    int index = -1;
    for (int i = 0; i < info.num_params; ++i)
      if (key == info.params[i].name) index = i;
    if (index < 0)
      throw Error("unknown parameter '" + key + "' for " + info.name + "; allowed: " + allowed);
    if (seen[index])
      throw Error("activation '" + std::string(text) + "': parameter '" + key +
                  "' is given more than once");
    seen[index] = true;
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    // strtod sets ERANGE on overflow (+-HUGE_VAL) and on any underflow, including a subnormal
    // result that is exact enough to be the value meant (to_string prints 5e-324 for the least
    // subnormal): a finite nonzero result is kept, only overflow and underflow to 0 are refused.
    const bool out_of_range = errno == ERANGE && (!std::isfinite(v) || v == 0.0);
    if (value.empty() || end != value.c_str() + value.size())
      throw Error("parameter '" + key + "' of " + info.name + " must be a number in " +
                  range_text(info.params[index]) + "; got '" + value + "'");
    if (out_of_range)
      throw Error("parameter '" + key + "' of " + info.name + ": '" + value + "' is " +
                  (v == 0.0 ? "too small; it rounds to 0" : "too large for a double") +
                  "; allowed: " + range_text(info.params[index]));
    act.params_.v[index] = v;
    pos = comma + 1;
  }
  validate(act.id_, act.params_);
  return act;
}

double Activation::param(std::string_view name) const {
  const ActInfo& i = info();
  for (int k = 0; k < i.num_params; ++k)
    if (name == i.params[k].name) return params_.v[k];
  throw Error("unknown parameter '" + std::string(name) + "' for " + i.name);
}

bool Activation::has_derivative_from_output() const {
  return detail::visit_activation(id_, [&](auto tag) {
    using Op = typename decltype(tag)::template op<double>;
    return Op::kFromOutput && Op::from_output_ok(params_);
  });
}

std::string Activation::to_string() const {
  const ActInfo& i = info();
  std::string s = i.name;
  bool first = true;
  for (int k = 0; k < i.num_params; ++k) {
    // Bit for bit, so -0 is printed where the default is 0: parse(to_string()) gives the same
    // parameters exactly.
    if (std::memcmp(&params_.v[k], &i.params[k].default_value, sizeof(double)) == 0) continue;
    s += (first ? ":" : ",") + std::string(i.params[k].name) + "=" + format_number(params_.v[k]);
    first = false;
  }
  return s;
}

} // namespace actgrad
