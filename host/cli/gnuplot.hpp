// gnuplot for the CLI's charts (`actgrad plot`, `decay --plot`, `phase --out`): the program,
// the terminal from the file name, and rendering into a temporary file renamed on success.
#pragma once

#include <string>

namespace actgrad::cli {

// The gnuplot program: $ACTGRAD_GNUPLOT when set and non-empty, else "gnuplot" from PATH.
std::string gnuplot_program();

// Throws UsageError naming `option` unless `path` ends in .png or .svg (any case); callers check
// before doing any work.
void check_plot_path(const std::string& path, const char* option);

// Text as a gnuplot single-quoted string ('' stands for one quote).
std::string gnuplot_quote(const std::string& text);

// The page of a chart: size in pixels and text options for the terminal line (e.g. "enhanced
// font 'Sans,11'"; empty for gnuplot's defaults).
struct ChartTerminal {
  int width = 900, height = 600;
  std::string text;
};

// Renders `script` (gnuplot commands that set neither terminal nor output; data as $blocks)
// into `path`, a .png (pngcairo where gnuplot has it, else png) or .svg (white background). The
// image is written to a hidden temporary file next to `path` and renamed only on success, so a
// failure leaves no file at `path` or beside it. Throws UsageError naming `option` when no file
// can be created there (bad directory, no permission), std::runtime_error when gnuplot is
// missing or fails (with its first error line).
void render_chart(const std::string& script, const std::string& path, const char* option,
                  const ChartTerminal& terminal);

} // namespace actgrad::cli
