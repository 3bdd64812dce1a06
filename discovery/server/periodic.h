// A task run on its own thread every interval (GC, snapshot saves).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace discovery::server {

// Runs `task` every `interval` (first at construction when `run_first`, else one interval later).
// The destructor stops and joins; a task already running finishes first.
class Periodic {
 public:
  Periodic(std::chrono::nanoseconds interval, std::function<void()> task, bool run_first);
  ~Periodic();
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  void run(std::stop_token stop);

  const std::chrono::nanoseconds interval_;
  const std::function<void()> task_;
  const bool run_first_;
  std::mutex mu_;  // only for cv_; the loop thread owns everything else
  std::condition_variable_any cv_;
  std::jthread thread_;  // last: started after the members it uses exist
};

}  // namespace discovery::server
