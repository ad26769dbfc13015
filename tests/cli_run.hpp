// Test helper shared by the CLI tests: runs the built `actgrad` binary (ACTGRAD_CLI_PATH) with
// stdin, stdout and stderr through temporary files, and checks SPEC §5's failure shape.
#pragma once

#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#ifndef ACTGRAD_CLI_PATH
#error "ACTGRAD_CLI_PATH must name the actgrad executable (set by the test's tests/cmake fragment)"
#endif

namespace actgrad_test {

struct CliRun {
  int status = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// $TMPDIR when set and non-empty, else /tmp.
inline std::string temp_root() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

// A temporary file (open, read-write) that is removed when the object goes away.
struct TempFile {
  std::string path;
  int fd = -1;
  TempFile() {
    path = temp_root() + "/actgrad_cli_test_XXXXXX";
    fd = mkstemp(path.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed for " + path);
  }
  ~TempFile() {
    close(fd);
    unlink(path.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

// A new private directory under temp_root(), named after `tag`.
inline std::string make_temp_dir(const std::string& tag) {
  std::string path = temp_root() + "/actgrad_" + tag + "_XXXXXX";
  if (!mkdtemp(path.data())) throw std::runtime_error("mkdtemp failed for " + path);
  return path;
}

// The names in `dir`, without "." and "..".
inline std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        names.push_back(e->d_name);
    closedir(d);
  }
  return names;
}

// Runs `actgrad args...` with `input` on stdin; stdout and stderr are captured separately through
// files, so large outputs cannot deadlock on a pipe. `env` ("NAME=value") is set in the child
// only. With `stdout_path` (e.g. /dev/full), stdout goes there instead and CliRun::out is empty.
inline CliRun run_cli(const std::vector<std::string>& args, const std::string& input = "",
                      const std::string& env = "", const std::string& stdout_path = "") {
  TempFile in, out, err;
  if (!input.empty() &&
      write(in.fd, input.data(), input.size()) != static_cast<ssize_t>(input.size()))
    throw std::runtime_error("writing the stdin file failed");
  lseek(in.fd, 0, SEEK_SET);
  std::vector<std::string> argv_text = {ACTGRAD_CLI_PATH};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string env_text = env;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in.fd, 0);
    const int out_fd = stdout_path.empty() ? out.fd : open(stdout_path.c_str(), O_WRONLY);
    if (out_fd < 0) _exit(126);
    dup2(out_fd, 1);
    dup2(err.fd, 2);
    if (!env_text.empty()) putenv(env_text.data());
    execv(argv[0], argv.data());
    _exit(127);
  }
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  CliRun r;
  r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  r.out = slurp(out.path);
  r.err = slurp(err.path);
  return r;
}

// Output lines, without the empty string after the final newline.
inline std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// SPEC §5's failure shape: `status`, nothing on stdout, exactly one line on stderr that holds
// every fragment. `what` names the case in failure messages.
inline void expect_cli_error(const CliRun& r, int status,
                             std::initializer_list<std::string> fragments,
                             const std::string& what = "") {
  EXPECT_EQ(r.status, status) << what << "\nstderr: " << r.err;
  EXPECT_EQ(r.out, "") << what << ": stdout must stay empty on errors";
  ASSERT_FALSE(r.err.empty()) << what;
  EXPECT_EQ(r.err.back(), '\n') << what;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << what << ": one line expected, got\n" << r.err;
  for (const std::string& f : fragments)
    EXPECT_NE(r.err.find(f), std::string::npos)
        << what << ": stderr '" << r.err << "' lacks '" << f << "'";
}

// A bad-usage failure: expect_cli_error with status 2.
inline void expect_usage_error(const CliRun& r, std::initializer_list<std::string> fragments,
                               const std::string& what = "") {
  expect_cli_error(r, 2, fragments, what);
}

} // namespace actgrad_test
