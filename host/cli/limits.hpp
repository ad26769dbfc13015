// Every size limit and size estimate of the actgrad CLI in one place, each with its reason; the
// table in docs/limits.md lists the same, and each subcommand's --help states its own.
//
// Policy: a size the user types is checked before any work starts, against a fixed cap where the
// cost of a value is known in advance (points, grid cells, elements), and against the memory
// available where it depends on the machine (decay). A value past its limit is a usage error:
// exit status 2 and one line on stderr naming the argument and the allowed range. Time is not
// capped: a long run that fits in memory is the user's choice (phase --help says how long its
// largest grid takes; decay shows progress on a terminal).
#pragma once

#include <cstdint>
#include <cstddef>

namespace actgrad::cli::limits {

// --- eval ------------------------------------------------------------------------------------
// --range A:B:N: N from 1 to this. 10^8 points is already gigabytes of CSV, far past any plotting
// or inspection use, and a typo such as 1e12 fails at once instead of exhausting memory.
constexpr std::int64_t kEvalRangePoints = 100'000'000;
// Bad input text is quoted in error messages up to this many bytes, then cut with "...", so the
// message stays one readable line whatever the input holds.
constexpr std::size_t kQuoteBytes = 60;

// --- phase -----------------------------------------------------------------------------------
// --sigma-w2 / --sigma-b2 A:B:N: N from 1 to this per axis. Each grid cell solves a mean-field
// fixed point (about 0.5-1 ms of CPU time), so the 1000 x 1000 maximum (10^6 cells) takes
// minutes to about half an hour; a larger grid is beyond what a heatmap shows anyway.
constexpr std::int64_t kPhaseAxisPoints = 1000;

// --- decay -----------------------------------------------------------------------------------
// --depth, --width, --batch and the number of activations have no fixed cap: the run is refused
// before it starts when its memory exceeds what is available (actgrad::decay_memory for the
// model and per-layer results, plus the text below). These are the generous per-layer,
// per-activation byte estimates of that text: a CSV row (four numbers of up to 24 characters and
// the activation column), its gnuplot data line with --plot, and --summary's mean-field
// trajectory (two doubles).
constexpr std::uint64_t kDecayCsvRowBytes = 128;
constexpr std::uint64_t kDecayPlotRowBytes = 48;
constexpr std::uint64_t kDecaySummaryRowBytes = 32;

// --- bench -----------------------------------------------------------------------------------
// --size: elements per pass, from 1 to 2^34. 2^34 elements in the 7 buffers below are 448 GiB in
// f32, more than any one GPU or most hosts hold; below the cap an allocation that does not fit
// fails cleanly with an error.
constexpr std::int64_t kBenchMinSize = 1;
constexpr std::int64_t kBenchMaxSize = std::int64_t(1) << 34;
// Buffers of --size elements a run allocates: x, x_pos, b (gated), grad_out and three outputs.
constexpr int kBenchBuffers = 7;
// Default sizes: 2^28 elements on a GPU (SPEC §7), 2^22 on the CPU, which keeps the default run
// (whole catalogue, two ops) under a minute on a 2-core machine while every stream still
// exceeds the last-level cache (48 MiB for fused f32).
constexpr int kBenchDefaultLog2Cuda = 28;
constexpr int kBenchDefaultLog2Cpu = 22;
// The default GPU size is halved until the buffers take at most this fraction of free memory.
constexpr double kBenchMaxMemoryFraction = 0.5;
// A measurement repeats for at least kBenchMinSeconds and kBenchMinReps times, and at most
// kBenchMaxReps times (a pass on tiny sizes would otherwise repeat ~10^6 times); the median is
// reported.
constexpr double kBenchMinSeconds = 0.1;
constexpr int kBenchMinReps = 3;
constexpr int kBenchMaxReps = 1000;

// --- plot ------------------------------------------------------------------------------------
// Points per curve: smooth at the default 900-pixel width, and kinks land within 1/1000 range.
constexpr int kPlotSamples = 1201;
// Default x range: symmetric, half-width at least kPlotMinHalfRange, else 1.3 x the largest
// finite saturation bound, but at most kPlotMaxHalfRange (a bound at 1e24 would flatten every
// curve into its axis). An explicit --range A:B is any finite A < B.
constexpr double kPlotMinHalfRange = 4;
constexpr double kPlotMaxHalfRange = 1e4;

} // namespace actgrad::cli::limits
