// stdout (and data files named by an option) for the CLI's subcommands: one helper that writes and
// checks, so a full disk, a closed pipe or `> /dev/full` fails every subcommand the same way (SPEC
// §5: exit 1, one stderr line).
#pragma once

#include <string>

namespace actgrad::cli {

// Writes `text` to stdout and flushes it (std::cout first, then stdio). Throws
// std::runtime_error("writing stdout failed: <reason>") when any of it could not be written.
void write_stdout(const std::string& text);

// Flushes std::cout and stdout and says whether everything written to them so far reached the
// file. run_cli() checks it after every subcommand (and after --help), a net under write_stdout.
bool stdout_ok();

// Writes `text` into the file `path` (created or truncated), for an option such as --histogram.
// A file that cannot be opened is a UsageError naming `option` and the reason (exit 2); a failed
// write or close throws std::runtime_error (exit 1).
void write_file(const std::string& path, const std::string& text, const char* option);

} // namespace actgrad::cli
