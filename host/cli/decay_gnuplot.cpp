// run_gnuplot (decay_gnuplot.hpp): pipes a script into gnuplot, writing a temporary file then
// renaming.
#include "decay_gnuplot.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.hpp"

namespace actgrad::cli {
namespace {

bool ends_with(const std::string& s, const char* tail) {
  const std::string t(tail);
  return s.size() > t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

} // namespace

void check_plot_path(const std::string& path, const char* option) {
  if (!ends_with(path, ".png") && !ends_with(path, ".svg"))
    throw UsageError(std::string(option) + " '" + path +
                     "': the file name must end in .png or .svg");
}

std::string gnuplot_quote(const std::string& text) {
  std::string q = "'";
  for (const char c : text) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

void run_gnuplot(const std::string& script, const std::string& path) {
  std::string tmp_template = path + ".tmpXXXXXX";
  std::vector<char> name(tmp_template.begin(), tmp_template.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) throw std::runtime_error("cannot create a file next to '" + path + "'");
  const mode_t mask = umask(0); // mkstemp makes 0600; give the chart the usual 0666 & ~umask
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  close(fd);
  const std::string tmp(name.data());
  const std::string terminal = ends_with(path, ".svg")
                                   ? "set terminal svg size 900,600 dynamic background 'white'\n"
                                   : "set terminal pngcairo size 900,600\n";
  const std::string full =
      terminal + "set output " + gnuplot_quote(tmp) + "\n" + script + "\nset output\n";
  FILE* pipe = popen("gnuplot >/dev/null 2>&1", "w");
  if (pipe == nullptr) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot run gnuplot (install gnuplot-nox)");
  }
  const bool wrote = std::fwrite(full.data(), 1, full.size(), pipe) == full.size();
  const int status = pclose(pipe);
  if (!wrote || status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(WIFEXITED(status) && WEXITSTATUS(status) == 127
                                 ? "cannot run gnuplot (install gnuplot-nox)"
                                 : "gnuplot failed to draw '" + path + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write '" + path + "'");
  }
}

} // namespace actgrad::cli
