// gnuplot subprocess for the CLI's charts (posix_spawnp): a private temporary directory holding
// the script, the image and gnuplot's stderr under names this file makes; the terminal from the
// file name; the image moved to the user's path in C++ on success.
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

bool is_control(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool has_control(const std::string& text) {
  for (const char c : text)
    if (is_control(c)) return true;
  return false;
}

// $TMPDIR when set, absolute and free of control characters (the private directory's path is
// the one path gnuplot sees, in its `set output` line), else /tmp.
std::string temp_root() {
  const char* env = std::getenv("TMPDIR");
  if (env && env[0] == '/' && !has_control(env)) return env;
  return "/tmp";
}

// A private directory (mkdtemp, mode 0700) for gnuplot's script, image and stderr, under fixed
// names; removed with its contents when the scope ends.
class PrivateDir {
public:
  PrivateDir() {
    const std::string root = temp_root();
    std::string path = root + "/actgrad_plot_XXXXXX";
    if (!mkdtemp(path.data()))
      throw std::runtime_error("cannot create a temporary directory in " + root + ": " +
                               std::strerror(errno));
    path_ = path;
  }
  ~PrivateDir() {
    for (const char* name : kFiles) unlink(file(name).c_str());
    rmdir(path_.c_str());
  }
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;
  std::string file(const char* name) const { return path_ + "/" + name; }

  static constexpr const char* kScript = "script.gp";
  static constexpr const char* kStderr = "stderr.txt";
  static constexpr const char* kPng = "chart.png";
  static constexpr const char* kSvg = "chart.svg";

private:
  static constexpr const char* kFiles[] = {kScript, kStderr, kPng, kSvg};
  std::string path_;
};

// An open temporary file (mkstemp) next to the user's path: made before gnuplot runs, so an
// unwritable directory is reported first, and used to copy the image in when the private
// directory is on another file system. Closed, and removed unless released, when the scope ends.
class StagingFile {
public:
  StagingFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~StagingFile() {
    close(fd_);
    if (!released_) unlink(path_.c_str());
  }
  StagingFile(const StagingFile&) = delete;
  StagingFile& operator=(const StagingFile&) = delete;
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  void release() { released_ = true; }

private:
  std::string path_;
  int fd_;
  bool released_ = false;
};

// Copies the file `from` into the open descriptor `to`; false on any read or write error.
bool copy_into(const std::string& from, int to) {
  const int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return false;
  std::vector<char> buf(1 << 16);
  bool ok = true;
  for (;;) {
    const ssize_t n = read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    for (ssize_t done = 0; ok && done < n;) {
      const ssize_t w = write(to, buf.data() + done, std::size_t(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0)
        ok = false;
      else
        done += w;
    }
    if (!ok) break;
  }
  close(in);
  return ok && fsync(to) == 0;
}

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

std::string gnuplot_string(const std::string& text) {
  std::string q = "'";
  for (const char c : text) {
    if (is_control(c))
      q += ' ';
    else if (c == '\'')
      q += "''";
    else
      q += c;
  }
  return q + "'";
}

void render_chart(const std::string& script, const std::string& out, const char* option,
                  const ChartTerminal& terminal) {
  // The staging file next to `out`; its name, like `out`, is used only by this function's own
  // system calls, never written into gnuplot's commands.
  const std::size_t slash = out.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : out.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? out : out.substr(slash + 1);
  std::string staging_path = (slash == std::string::npos ? "" : dir) + "." + base + ".XXXXXX";
  const int staging_fd = mkstemp(staging_path.data());
  if (staging_fd < 0)
    throw UsageError(std::string(option) + " '" + out + "': cannot create a file in " + dir + ": " +
                     std::strerror(errno));
  StagingFile staging(staging_path, staging_fd);

  // gnuplot sees only the private directory's files: the script as its argument, the image in
  // `set output` (a path this function made, see temp_root), stderr as its file descriptor 2.
  PrivateDir priv;
  const std::string image =
      priv.file(extension(out) == ".svg" ? PrivateDir::kSvg : PrivateDir::kPng);
  const std::string script_path = priv.file(PrivateDir::kScript);
  const std::string err_path = priv.file(PrivateDir::kStderr);
  const std::string text = terminal_lines(out, terminal) + "set output " + gnuplot_string(image) +
                           "\n" + script + "\nset output\n";
  {
    const int fd = open(script_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const bool wrote = fd >= 0 && write(fd, text.data(), text.size()) == ssize_t(text.size());
    if (fd >= 0) close(fd);
    if (!wrote) throw std::runtime_error("writing the temporary gnuplot script failed");
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  const std::string program = gnuplot_program();
  std::vector<std::string> args = {program, script_path};
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
  const std::string err = slurp(err_path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string why = WIFEXITED(status) && WEXITSTATUS(status) == 127
                                ? "not found or not executable"
                                : error_line(err);
    throw std::runtime_error("gnuplot ('" + program + "') failed: " + why);
  }
  struct stat st {};
  if (stat(image.c_str(), &st) != 0 || st.st_size == 0)
    throw std::runtime_error("gnuplot ('" + program + "') wrote no image: " + error_line(err));

  // Move the image to `out`: a rename where the private directory shares its file system, else a
  // copy into the staging file and a rename of that (atomic either way).
  if (std::rename(image.c_str(), out.c_str()) == 0) return;
  if (errno != EXDEV)
    throw UsageError(std::string(option) + " '" + out +
                     "': cannot write it: " + std::strerror(errno));
  if (!copy_into(image, staging.fd()))
    throw std::runtime_error(std::string(option) + " '" + out +
                             "': copying the image failed: " + std::strerror(errno));
  // mkstemp made the file 0600; give it the permissions a new file normally gets.
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(staging.fd(), 0666 & ~mask);
  if (std::rename(staging.path().c_str(), out.c_str()) != 0)
    throw UsageError(std::string(option) + " '" + out +
                     "': cannot write it: " + std::strerror(errno));
  staging.release();
}

} // namespace actgrad::cli
