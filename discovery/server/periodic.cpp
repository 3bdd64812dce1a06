// A task run on its own thread every interval.
#include "discovery/server/periodic.h"

namespace discovery::server {

Periodic::Periodic(std::chrono::nanoseconds interval, std::function<void()> task, bool run_first)
    : interval_(interval),
      task_(std::move(task)),
      run_first_(run_first),
      thread_([this](std::stop_token stop) { run(stop); }) {}

Periodic::~Periodic() {
  thread_.request_stop();
  thread_.join();
}

void Periodic::run(std::stop_token stop) {
  bool due = run_first_;
  while (!stop.stop_requested()) {
    if (due) task_();
    due = true;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, stop, interval_, [] { return false; });
  }
}

}  // namespace discovery::server
