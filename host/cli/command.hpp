// Subcommand registry of the actgrad CLI: each subcommand file adds itself with one add_*_command
// call.
//
// To add a subcommand `foo`: write cmd_foo.cpp defining add_foo_command(), declare it below, add
// one line to the list in cli.cpp and the file to host/cli/CMakeLists.txt. The function creates
// the CLI11 subcommand, binds its options to state it owns, and returns the action run_cli() runs
// after a successful parse. Actions print to stdout only once everything has been computed,
// through write_stdout (output.hpp, which throws when stdout cannot take it), and
// report problems by throwing (never by printing or exiting), so run_cli() owns exit codes:
//   UsageError / actgrad::Error(invalid_argument, unavailable) / CLI11 parse errors -> 2
//   anything else                                                                    -> 1
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace actgrad::cli {

// Bad usage or bad input detected after CLI11 parsing (stdin contents, --range syntax, ...).
// The message names the bad argument and what is allowed; run_cli() prints it and returns 2.
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A registered subcommand: its CLI11 node and the action to run when it was selected.
struct Command {
  CLI::App* app;
  std::function<int()> run; // returns the exit status (0 on success)
};

Command add_list_command(CLI::App& root);
Command add_eval_command(CLI::App& root);
Command add_decay_command(CLI::App& root);
Command add_phase_command(CLI::App& root);
Command add_bench_command(CLI::App& root);
Command add_saturation_command(CLI::App& root);
Command add_atlas_command(CLI::App& root);
Command add_plot_command(CLI::App& root);
Command add_shape_command(CLI::App& root);
Command add_spectrum_command(CLI::App& root);

// A CLI11 validator accepting exactly one of `allowed`, with a message listing them.
CLI::Validator one_of(std::initializer_list<const char*> allowed);

} // namespace actgrad::cli
