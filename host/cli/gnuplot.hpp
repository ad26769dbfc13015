// gnuplot for the CLI's charts (`actgrad plot`, `decay --plot`, `phase --out`): the program,
// the terminal from the file name, text quoting, and rendering into a private temporary file
// moved to the user's path on success. No user-supplied path reaches gnuplot's commands.
#pragma once

#include <string>

namespace actgrad::cli {

// The gnuplot program: $ACTGRAD_GNUPLOT when set and non-empty, else "gnuplot" from PATH.
std::string gnuplot_program();

// Throws UsageError naming `option` unless `path` ends in .png or .svg (any case); callers check
// before doing any work.
void check_plot_path(const std::string& path, const char* option);

// The one way text (titles, activation names, labels) enters a gnuplot command: a single-quoted
// gnuplot string. Control characters (newline, carriage return, tab, ...) become spaces, so the
// text cannot end the command line; a quote is doubled (''), gnuplot's only escape inside single
// quotes, where backslashes, backquotes (command substitution) and @ (macros) are literal.
// Callers add `noenhanced` where the text is a title or label.
std::string gnuplot_string(const std::string& text);

// The page of a chart: size in pixels and text options for the terminal line (e.g. "enhanced
// font 'Sans,11'"; empty for gnuplot's defaults).
struct ChartTerminal {
  int width = 900, height = 600;
  std::string text;
};

// Renders `script` (gnuplot commands that set neither terminal nor output; data as $blocks)
// into `path`, a .png (pngcairo where gnuplot has it, else png) or .svg (white background).
// gnuplot writes the image into a private directory (mkdtemp under $TMPDIR, else /tmp) under a
// name made here; on success it is renamed to `path`, or, across file systems, copied into a
// hidden temporary file next to `path` that is then renamed. `path` itself is used only in this
// process's own system calls, so any byte in it (newline, quote) is just part of the file name,
// and a failure leaves no file at `path` or beside it. Throws UsageError naming `option` when no
// file can be created there (bad directory, no permission), std::runtime_error when gnuplot is
// missing or fails (with its first error line).
void render_chart(const std::string& script, const std::string& path, const char* option,
                  const ChartTerminal& terminal);

} // namespace actgrad::cli
