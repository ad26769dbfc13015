// Charts through gnuplot for `actgrad decay` and `actgrad phase`: the terminal from the file name,
// output into a temporary file beside the target, renamed only when gnuplot succeeded.
#pragma once

#include <string>

namespace actgrad::cli {

// Throws UsageError unless `path` ends in .png or .svg (checked before any work is done).
void check_plot_path(const std::string& path, const char* option);

// Runs gnuplot on `script` (which must not set terminal or output; data as $blocks) and writes
// `path` atomically. Throws std::runtime_error (exit 1) when gnuplot is missing or fails.
void run_gnuplot(const std::string& script, const std::string& path);

// Text as a gnuplot single-quoted string.
std::string gnuplot_quote(const std::string& text);

} // namespace actgrad::cli
