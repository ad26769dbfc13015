// stdout writing with error checks, shared by every subcommand (see output.hpp).
#include "output.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

namespace actgrad::cli {

void write_stdout(const std::string& text) {
  errno = 0;
  std::cout.flush();
  const bool wrote = std::cout.good() &&
                     std::fwrite(text.data(), 1, text.size(), stdout) == text.size() &&
                     std::fflush(stdout) == 0 && !std::ferror(stdout);
  if (!wrote)
    throw std::runtime_error(std::string("writing stdout failed") +
                             (errno ? std::string(": ") + std::strerror(errno) : std::string()));
}

bool stdout_ok() {
  std::cout.flush();
  return std::cout.good() && std::fflush(stdout) == 0 && !std::ferror(stdout);
}

} // namespace actgrad::cli
