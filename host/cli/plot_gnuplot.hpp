// Running gnuplot for `actgrad plot`: a script rendered into an image file atomically (written to
// a temporary file next to the target and renamed only on success).
#pragma once

#include <string>

namespace actgrad::cli {

// The gnuplot program: $ACTGRAD_GNUPLOT when set and non-empty, else "gnuplot" from PATH.
std::string plot_gnuplot_program();

// Renders `script` (gnuplot commands; the placeholder @OUTPUT@ is replaced by the quoted
// temporary image path) into `out`. Throws UsageError when `out` cannot be created (bad
// directory, no permission), std::runtime_error when gnuplot is missing or fails (with its
// first error line). Leaves no file at `out` or next to it on failure.
void render_plot(const std::string& script, const std::string& out);

} // namespace actgrad::cli
