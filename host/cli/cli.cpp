// run_cli: the actgrad command line as a function: registers the subcommands, parses argv, runs
// the chosen one and maps every failure to an exit code (SPEC §5).
#include "cli.hpp"

#include <cctype>
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "actgrad/error.hpp"
#include "command.hpp"
#include "output.hpp"

namespace actgrad::cli {
namespace {

// Exit statuses of SPEC §5.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// SPEC §5 wants one stderr line per error: fold CLI11's multi-line messages and any control
// characters from user text into single spaces.
std::string one_line(const std::string& text) {
  std::string s;
  for (const char c : text) {
    const bool blank =
        std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c));
    if (blank) {
      if (!s.empty() && s.back() != ' ') s += ' ';
    } else {
      s += c;
    }
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

int report(const std::string& where, const std::string& message, int status) {
  std::cerr << where << ": " << one_line(message) << '\n';
  return status;
}

std::string command_names(const std::vector<actgrad::cli::Command>& commands) {
  std::string names;
  for (const auto& c : commands) names += (names.empty() ? "" : ", ") + c.app->get_name();
  return names;
}

// Runs a parsed subcommand's action, turning exceptions into SPEC §5 exit statuses.
int run_action(const actgrad::cli::Command& command) {
  const std::string where = "actgrad " + command.app->get_name();
  try {
    return command.run();
  } catch (const actgrad::cli::UsageError& e) {
    return report(where, e.what(), kExitUsage);
  } catch (const actgrad::Error& e) {
    // invalid_argument: a bad name, parameter or view; unavailable: e.g. CUDA asked for on a
    // machine without a usable GPU. Both are the user's input, hence usage errors.
    const bool usage = e.kind() == actgrad::Error::Kind::invalid_argument ||
                       e.kind() == actgrad::Error::Kind::unavailable;
    return report(where, e.what(), usage ? kExitUsage : kExitFailure);
  } catch (const std::bad_alloc&) {
    return report(where, "out of memory", kExitFailure);
  } catch (const std::exception& e) {
    return report(where, e.what(), kExitFailure);
  }
}

} // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"actgrad: neural-network activation functions and their derivatives, fused, on "
               "CPU and CUDA GPUs.",
               "actgrad"};
  app.set_version_flag("--version", ACTGRAD_VERSION);

  // One line per subcommand (see command.hpp).
  const std::vector<actgrad::cli::Command> commands = {
      actgrad::cli::add_list_command(app),  actgrad::cli::add_eval_command(app),
      actgrad::cli::add_decay_command(app), actgrad::cli::add_phase_command(app),
      actgrad::cli::add_bench_command(app), actgrad::cli::add_saturation_command(app),
      actgrad::cli::add_atlas_command(app), actgrad::cli::add_plot_command(app),
      actgrad::cli::add_shape_command(app), actgrad::cli::add_spectrum_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    const int status = app.exit(e); // --help, --version: printed on stdout, status 0
    return actgrad::cli::stdout_ok() ? status
                                     : report("actgrad", "writing stdout failed", kExitFailure);
  } catch (const CLI::ParseError& e) {
    for (const auto& c : commands) {
      if (!c.app->parsed()) continue;
      std::string message = e.what();
      // CLI11 says only "ACT is required"; add what each missing argument may be.
      if (dynamic_cast<const CLI::RequiredError*>(&e))
        for (const CLI::Option* o : c.app->get_options())
          if (o->get_required() && o->count() == 0)
            message += "; " + o->get_name() + " is the " + o->get_description();
      return report("actgrad " + c.app->get_name(),
                    message + " (see 'actgrad " + c.app->get_name() + " --help')", kExitUsage);
    }
    // No subcommand was recognised: a leading word is a misspelt subcommand.
    if (argc > 1 && argv[1][0] != '-')
      return report("actgrad",
                    std::string("unknown subcommand '") + argv[1] +
                        "'; available: " + command_names(commands),
                    kExitUsage);
    return report("actgrad", std::string(e.what()) + " (see 'actgrad --help')", kExitUsage);
  }

  for (const auto& c : commands) {
    if (!c.app->parsed()) continue;
    const int status = run_action(c);
    // A net under write_stdout: output that did not reach stdout is a failure, reported once.
    if (status == 0 && !actgrad::cli::stdout_ok())
      return report("actgrad " + c.app->get_name(), "writing stdout failed", kExitFailure);
    return status;
  }
  return report("actgrad",
                "a subcommand is required; available: " + command_names(commands) +
                    " (see 'actgrad --help')",
                kExitUsage);
}

} // namespace actgrad::cli
