// The one_of() CLI11 validator shared by subcommands for enumerated option values.
#include <string>
#include <vector>

#include "command.hpp"

namespace actgrad::cli {

CLI::Validator one_of(std::initializer_list<const char*> allowed) {
  std::vector<std::string> names(allowed.begin(), allowed.end());
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : "|") + n;
  return CLI::Validator(
      [names, list](std::string& value) -> std::string {
        for (const std::string& n : names)
          if (value == n) return {};
        return "'" + value + "' is not allowed; choose one of " + list;
      },
      list);
}

} // namespace actgrad::cli
