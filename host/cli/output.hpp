// stdout for the CLI's subcommands: one helper that writes and checks, so a full disk, a closed
// pipe or `> /dev/full` fails every subcommand the same way (SPEC §5: exit 1, one stderr line).
#pragma once

#include <string>

namespace actgrad::cli {

// Writes `text` to stdout and flushes it (std::cout first, then stdio). Throws
// std::runtime_error("writing stdout failed: <reason>") when any of it could not be written.
void write_stdout(const std::string& text);

// Flushes std::cout and stdout and says whether everything written to them so far reached the
// file. run_cli() checks it after every subcommand (and after --help), a net under write_stdout.
bool stdout_ok();

} // namespace actgrad::cli
