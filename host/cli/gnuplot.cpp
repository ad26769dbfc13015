// gnuplot subprocess for the CLI's charts (posix_spawnp): temporary script and image files,
// the terminal from the file name, rename on success.
#include "gnuplot.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.hpp"

extern char** environ;

namespace actgrad::cli {
namespace {

// Removes a file when the scope ends unless released.
class TempPath {
public:
  explicit TempPath(std::string p) : path_(std::move(p)) {}
  ~TempPath() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  void release() { path_.clear(); }

private:
  std::string path_;
};

// The last four characters of `path`, lower-cased: ".png", ".svg" or anything else.
std::string extension(const std::string& path) {
  std::string ext = path.size() >= 4 ? path.substr(path.size() - 4) : "";
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// The `set terminal` lines for `path` (checked by check_plot_path).
std::string terminal_lines(const std::string& path, const ChartTerminal& t) {
  const std::string size = "size " + std::to_string(t.width) + "," + std::to_string(t.height);
  const std::string text = t.text.empty() ? "" : " " + t.text;
  if (extension(path) == ".svg")
    return "set terminal svg " + size + text + " background rgb 'white'\n";
  return "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
         "  set terminal pngcairo " +
         size + text +
         "\n"
         "} else {\n"
         "  set terminal png " +
         size + text + "\n}\n";
}

// The most telling line of gnuplot's stderr: the first that names an error, else the last.
std::string error_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t^") == std::string::npos) continue;
    if (line.find("rror") != std::string::npos) return line;
    last = line;
  }
  return last.empty() ? "no message" : last;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

} // namespace

std::string gnuplot_program() {
  const char* env = std::getenv("ACTGRAD_GNUPLOT");
  return env && *env ? std::string(env) : std::string("gnuplot");
}

void check_plot_path(const std::string& path, const char* option) {
  const std::string ext = extension(path);
  if (ext != ".png" && ext != ".svg")
    throw UsageError(std::string(option) + " '" + path +
                     "': unknown image type; the file name must end in .png or .svg");
}

std::string gnuplot_quote(const std::string& text) {
  std::string q = "'";
  for (const char c : text) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

void render_chart(const std::string& script, const std::string& out, const char* option,
                  const ChartTerminal& terminal) {
  // The image goes to a hidden temporary file in the target's directory (same file system, so
  // the final rename is atomic).
  const std::size_t slash = out.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : out.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? out : out.substr(slash + 1);
  std::string image_tmp = (slash == std::string::npos ? "" : dir) + "." + base + ".XXXXXX";
  const int image_fd = mkstemp(image_tmp.data());
  if (image_fd < 0)
    throw UsageError(std::string(option) + " '" + out + "': cannot create a file in " + dir + ": " +
                     std::strerror(errno));
  close(image_fd);
  TempPath image(image_tmp);

  const char* tmpdir = std::getenv("TMPDIR");
  const std::string tdir = tmpdir && *tmpdir ? tmpdir : "/tmp";
  std::string script_tmp = tdir + "/actgrad_plot_XXXXXX";
  const int script_fd = mkstemp(script_tmp.data());
  if (script_fd < 0)
    throw std::runtime_error("cannot create a temporary gnuplot script in " + tdir + ": " +
                             std::strerror(errno));
  TempPath script_file(script_tmp);
  const std::string text = terminal_lines(out, terminal) + "set output " +
                           gnuplot_quote(image_tmp) + "\n" + script + "\nset output\n";
  const bool wrote = write(script_fd, text.data(), text.size()) == ssize_t(text.size());
  close(script_fd);
  if (!wrote) throw std::runtime_error("writing the temporary gnuplot script failed");

  const std::string err_tmp = script_tmp + ".err";
  TempPath err_file(err_tmp);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  const std::string program = gnuplot_program();
  std::vector<std::string> args = {program, script_tmp};
  std::vector<char*> argv = {args[0].data(), args[1].data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error("cannot run gnuplot ('" + program + "'): " + std::strerror(rc) +
                             "; install gnuplot (Debian: gnuplot-nox) or set ACTGRAD_GNUPLOT to "
                             "its path");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string err = slurp(err_tmp);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string why = WIFEXITED(status) && WEXITSTATUS(status) == 127
                                ? "not found or not executable"
                                : error_line(err);
    throw std::runtime_error("gnuplot ('" + program + "') failed: " + why);
  }
  struct stat st {};
  if (stat(image_tmp.c_str(), &st) != 0 || st.st_size == 0)
    throw std::runtime_error("gnuplot ('" + program + "') wrote no image: " + error_line(err));
  // mkstemp made the file 0600; give it the permissions a new file normally gets.
  const mode_t mask = umask(0);
  umask(mask);
  chmod(image_tmp.c_str(), 0666 & ~mask);
  if (std::rename(image_tmp.c_str(), out.c_str()) != 0)
    throw UsageError(std::string(option) + " '" + out +
                     "': cannot write it: " + std::strerror(errno));
  image.release();
}

} // namespace actgrad::cli
