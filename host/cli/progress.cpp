// ProgressLine (progress.hpp): a carriage-return-redrawn percentage on a terminal's stderr.
#include "progress.hpp"

#include <cstdio>

#include <unistd.h>

namespace actgrad::cli {

ProgressLine::ProgressLine(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1), start_(Clock::now()),
      last_(start_) {}

ProgressLine::~ProgressLine() {
  if (shown_) std::fprintf(stderr, "\r\033[K");
}

void ProgressLine::update(std::int64_t done, std::int64_t total) {
  if (!enabled_ || total <= 0) return;
  const Clock::time_point now = Clock::now();
  if (now - start_ < std::chrono::seconds(1)) return;
  if (shown_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  shown_ = true;
  std::fprintf(stderr, "\r\033[K%s %3d%%", label_.c_str(), int(100 * done / total));
  std::fflush(stderr);
}

} // namespace actgrad::cli
