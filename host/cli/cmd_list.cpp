// `actgrad list`: the catalogue with parameters, defaults and traits, as a table, CSV or JSON.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actgrad/activation.hpp"
#include "command.hpp"
#include "number_format.hpp"
#include "output.hpp"

namespace actgrad::cli {
namespace {

const char* yes_no(bool b) { return b ? "yes" : "no"; }

// "name=default in (min, max]": brackets are square where the bound itself is allowed.
std::string param_text(const ParamSpec& p) {
  return std::string(p.name) + "=" + format_double(p.default_value) + " in " +
         (p.min_open ? "(" : "[") + format_double(p.min) + ", " + format_double(p.max) +
         (p.max_open ? ")" : "]");
}

std::string params_text(const ActInfo& info) {
  std::string s;
  for (int i = 0; i < info.num_params; ++i) s += (i ? "; " : "") + param_text(info.params[i]);
  return s;
}

// One catalogue entry as the cells shared by the table and the CSV.
struct Column {
  const char* table_header;
  const char* csv_header;
  std::string (*cell)(const ActInfo&);
};

const Column kColumns[] = {
    {"name", "name", [](const ActInfo& i) { return std::string(i.name); }},
    {"alias", "alias", [](const ActInfo& i) { return std::string(i.alias); }},
    {"kind", "kind",
     [](const ActInfo& i) { return std::string(i.kind == Kind::gated ? "gated" : "unary"); }},
    {"parameters (default in range)", "parameters", params_text},
    {"f' min", "df_min", [](const ActInfo& i) { return format_double(i.traits.dmin); }},
    {"f' max", "df_max", [](const ActInfo& i) { return format_double(i.traits.dmax); }},
    {"f'(0)", "df_at_0", [](const ActInfo& i) { return format_double(i.traits.d_at_zero); }},
    {"f' from y", "from_output",
     [](const ActInfo& i) { return std::string(yes_no(i.from_output)); }},
    {"sat. left", "saturation_left",
     [](const ActInfo& i) { return std::string(saturation_name(i.traits.left)); }},
    {"sat. right", "saturation_right",
     [](const ActInfo& i) { return std::string(saturation_name(i.traits.right)); }},
    {"monotonic", "monotonic",
     [](const ActInfo& i) { return std::string(yes_no(i.traits.monotonic)); }},
    {"zero-centred", "zero_centred",
     [](const ActInfo& i) { return std::string(yes_no(i.traits.zero_centred)); }},
    {"formula", "formula", [](const ActInfo& i) { return std::string(i.formula); }},
};
// The derivative text and reference are long; they go to CSV and JSON but not the table.
const Column kCsvOnlyColumns[] = {
    {"", "derivative", [](const ActInfo& i) { return std::string(i.derivative); }},
    {"", "reference", [](const ActInfo& i) { return std::string(i.reference); }},
};

// Display width of UTF-8 text (formulas may use symbols such as σ): count code points.
std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0u) != 0x80u; }));
}

std::string table() {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  for (const Column& c : kColumns) header.emplace_back(c.table_header);
  rows.push_back(header);
  for (const ActId id : catalogue()) {
    std::vector<std::string> row;
    for (const Column& c : kColumns) {
      std::string cell = c.cell(catalogue_info(id));
      row.push_back(cell.empty() ? "-" : cell);
    }
    rows.push_back(row);
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& row : rows)
    for (std::size_t j = 0; j < row.size(); ++j)
      width[j] = std::max(width[j], display_width(row[j]));
  // Two spaces separate columns; the last column is not padded, so lines carry no trailing blanks.
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t j = 0; j < row.size(); ++j) {
      out += row[j];
      if (j + 1 < row.size()) out.append(width[j] - display_width(row[j]) + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

// RFC 4180: quote a field holding a comma, quote or line break, doubling inner quotes.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv() {
  std::vector<const Column*> columns;
  for (const Column& c : kColumns) columns.push_back(&c);
  for (const Column& c : kCsvOnlyColumns) columns.push_back(&c);
  std::string out;
  auto add_row = [&](auto&& field) {
    for (std::size_t j = 0; j < columns.size(); ++j)
      out += (j ? "," : "") + csv_field(field(*columns[j]));
    out += '\n';
  };
  add_row([](const Column& c) { return std::string(c.csv_header); });
  for (const ActId id : catalogue())
    add_row([&](const Column& c) { return c.cell(catalogue_info(id)); });
  return out;
}

// JSON has no infinities or NaN: those travel as the strings "inf", "-inf" and "nan", as in the
// CSV output of `actgrad eval`.
nlohmann::ordered_json json_number(double v) {
  if (std::isfinite(v)) return v;
  return format_double(v);
}

std::string json() {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const ActId id : catalogue()) {
    const ActInfo& i = catalogue_info(id);
    nlohmann::ordered_json params = nlohmann::ordered_json::array();
    for (int k = 0; k < i.num_params; ++k) {
      const ParamSpec& p = i.params[k];
      params.push_back({{"name", p.name},
                        {"default", json_number(p.default_value)},
                        {"min", json_number(p.min)},
                        {"min_inclusive", !p.min_open},
                        {"max", json_number(p.max)},
                        {"max_inclusive", !p.max_open},
                        {"doc", p.doc}});
    }
    all.push_back(
        {{"name", i.name},
         {"alias", i.alias[0] ? nlohmann::ordered_json(i.alias) : nlohmann::ordered_json()},
         {"kind", i.kind == Kind::gated ? "gated" : "unary"},
         {"formula", i.formula},
         {"derivative", i.derivative},
         {"reference", i.reference},
         {"parameters", params},
         {"df_min", json_number(i.traits.dmin)},
         {"df_max", json_number(i.traits.dmax)},
         {"df_at_0", json_number(i.traits.d_at_zero)},
         {"from_output", i.from_output},
         {"saturation_left", saturation_name(i.traits.left)},
         {"saturation_right", saturation_name(i.traits.right)},
         {"monotonic", i.traits.monotonic},
         {"zero_centred", i.traits.zero_centred}});
  }
  return all.dump(2) + "\n";
}

} // namespace

Command add_list_command(CLI::App& root) {
  auto format = std::make_shared<std::string>("table");
  CLI::App* app = root.add_subcommand("list", "Print the catalogue with parameters and traits");
  app->footer(
      "Columns: name, alias, kind (unary, or gated: act(a) * b), parameters as name=default with\n"
      "their allowed range, then traits: the infimum and supremum of f', f'(0), whether f' can\n"
      "be computed from the output y, saturation (none/soft/hard) as x -> -inf and +inf,\n"
      "monotonic, zero-centred, and the formula. For gated units the traits describe act(a).\n"
      "Limits: none (no size arguments).");
  app->add_option("--format", *format,
                  "table: aligned columns for people; csv: a header row then one row per "
                  "activation; json: an array of objects (inf/-inf/nan as strings)")
      ->check(one_of({"table", "csv", "json"}))
      ->capture_default_str();
  return {
      app, [format] {
        const std::string text = *format == "csv" ? csv() : *format == "json" ? json() : table();
        write_stdout(text);
        return 0;
      }};
}

} // namespace actgrad::cli
