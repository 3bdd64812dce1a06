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

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/eventually.h"

namespace tds::test {

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // args[0] is the executable path. Output (stdout and stderr) is collected by a reader thread
  // all the time, so a chatty child never blocks on a full pipe between two waits.
  explicit ChildProcess(std::vector<std::string> args) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      closed_ = true;
      return;
    }
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
    if (pid_ < 0) {
      close(fds[0]);
      closed_ = true;
      return;
    }
    out_ = fds[0];
    reader_ = std::thread([this] { read_output(); });
  }

  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    stop_ = true;
    if (reader_.joinable()) reader_.join();
    if (out_ >= 0) close(out_);
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // No-op once the child was reaped: kill(-1, ...) would signal every process we may signal.
  void signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  std::string output() const {
    std::lock_guard lock(mu_);
    return output_;
  }

  // True while the child has not exited; reaps it (and remembers its status) when it has.
  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
    pid_ = -1;
    exit_status_ = status;
    return false;
  }
  // The wait status of a reaped child.
  std::optional<int> exit_status() const { return exit_status_; }

  // Waits until the output matches `pattern` or the deadline passes; returns the first group (or
  // the whole match when the pattern has no group).
  std::optional<std::string> wait_for_output(const std::regex& pattern, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(mu_);
    while (true) {
      std::smatch match;
      if (std::regex_search(output_, match, pattern)) return match.size() > 1 ? match[1] : match[0];
      if (closed_) return std::nullopt;
      const std::size_t seen = output_.size();
      if (!changed_.wait_until(lock, deadline, [&] { return output_.size() != seen || closed_; })) {
        return std::nullopt;
      }
    }
  }

  // Waits for the process to exit; returns its wait status, or nullopt on timeout. Once it
  // returns a status, output() holds everything the child wrote (unless a grandchild still holds
  // the pipe after a few seconds).
  std::optional<int> wait_exit(Clock::duration timeout) {
    if (!eventually([&] { return !alive(); }, timeout, std::chrono::milliseconds(10))) {
      return std::nullopt;
    }
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(5), [&] { return closed_; });
    return exit_status_;
  }

  // The gRPC port a discovery-service logs as `event=listening addr=... port=N ...` (the first
  // ` port=`, not landing_port/metrics_port).
  std::optional<int> wait_for_listening_port(Clock::duration timeout) {
    auto port = wait_for_output(std::regex("event=listening .*? port=([0-9]+)"), timeout);
    if (!port) return std::nullopt;
    return std::stoi(*port);
  }

 private:
  // Reader thread: appends output until the child closes it, or until the destructor asks to
  // stop and nothing more arrives (a grandchild could keep the pipe open forever).
  void read_output() {
    char buf[4096];
    while (true) {
      pollfd pfd{out_, POLLIN, 0};
      const int ready = poll(&pfd, 1, 100);
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) {
        if (stop_) break;
        continue;
      }
      const ssize_t n = read(out_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard lock(mu_);
      if (n <= 0) break;
      output_.append(buf, static_cast<std::size_t>(n));
      changed_.notify_all();
    }
    std::lock_guard lock(mu_);
    closed_ = true;
    changed_.notify_all();
  }

  pid_t pid_ = -1;  // test thread only; -1 once reaped
  std::optional<int> exit_status_;
  int out_ = -1;
  std::atomic<bool> stop_ = false;
  mutable std::mutex mu_;  // guards output_ and closed_ (written by reader_)
  std::condition_variable changed_;
  std::string output_;
  bool closed_ = false;  // the reader is done: no more output will come
  std::thread reader_;
};

// What a command printed (stdout and stderr) and its exit code: -1 when it did not exit normally
// within the timeout (it is killed then).
struct RunResult {
  int exit_code = -1;
  std::string output;
};

inline RunResult run_to_exit(std::vector<std::string> args, ChildProcess::Clock::duration timeout) {
  ChildProcess proc(std::move(args));
  const auto status = proc.wait_exit(timeout);
  if (!status || !WIFEXITED(*status)) return {-1, proc.output()};
  return {WEXITSTATUS(*status), proc.output()};
}

// As run_to_exit, but `output` holds only what the command wrote to stderr: a shell runs it with
// stdout thrown away.
inline RunResult run_for_stderr(std::vector<std::string> args,
                                ChildProcess::Clock::duration timeout) {
  args.insert(args.begin(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1 >/dev/null"});
  return run_to_exit(std::move(args), timeout);
}

}  // namespace tds::test
