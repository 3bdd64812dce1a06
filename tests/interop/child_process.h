// Runs one of our binaries as a child process for tests and load tools: captures its output,
// waits for a log line, and kills and reaps it on destruction (or when the caller dies) so
// nothing outlives the caller.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace tds::test {

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // args[0] is the executable path. Output (stdout and stderr) is read only inside the wait
  // calls, so a chatty child should log at a quiet level once it is up.
  explicit ChildProcess(std::vector<std::string> args) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls until exec. The child dies with us even if we are killed
      // before the destructor runs.
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
  }

  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void signal(int sig) { kill(pid_, sig); }
  const std::string& output() const { return output_; }

  // Reads output until `pattern` matches or the deadline passes; returns the first group (or the
  // whole match when the pattern has no group).
  std::optional<std::string> wait_for_output(const std::regex& pattern, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      std::smatch match;
      if (std::regex_search(output_, match, pattern)) return match.size() > 1 ? match[1] : match[0];
      if (!read_some(100)) break;
    }
    return std::nullopt;
  }

  // Waits for the process to exit; returns its wait status, or nullopt on timeout.
  std::optional<int> wait_exit(Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      read_some(20);
    }
    return std::nullopt;
  }

  // The gRPC port a discovery-service logs as `event=listening addr=... port=N ...` (the first
  // ` port=`, not landing_port/metrics_port).
  std::optional<int> wait_for_listening_port(Clock::duration timeout) {
    auto port = wait_for_output(std::regex("event=listening .*? port=([0-9]+)"), timeout);
    if (!port) return std::nullopt;
    return std::stoi(*port);
  }

 private:
  // Appends what arrives within `timeout_ms`; false once the child closed its output.
  bool read_some(int timeout_ms) {
    pollfd pfd{out_, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return true;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string output_;
};

}  // namespace tds::test
