// stdout writing with error checks, shared by every subcommand (see output.hpp).
#include "output.hpp"

#include "command.hpp"

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

void write_file(const std::string& path, const std::string& text, const char* option) {
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f)
    throw UsageError(std::string(option) + " '" + path + "': cannot open it for writing" +
                     (errno ? std::string(": ") + std::strerror(errno) : std::string()));
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed)
    throw std::runtime_error(std::string(option) + " '" + path + "': writing failed" +
                             (errno ? std::string(": ") + std::strerror(errno) : std::string()));
}

} // namespace actgrad::cli
