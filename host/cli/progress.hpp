// A progress line on stderr for long CLI runs: shown only when stderr is a terminal, and only once
// a run has taken more than a second; erased when done.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace actgrad::cli {

class ProgressLine {
public:
  explicit ProgressLine(std::string label);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // Work done out of total; redraws at most ten times a second.
  void update(std::int64_t done, std::int64_t total);
  // A new label for the next part of the run (e.g. the next activation).
  void relabel(std::string label) { label_ = std::move(label); }

private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  bool enabled_;
  bool shown_ = false;
  Clock::time_point start_, last_;
};

} // namespace actgrad::cli
