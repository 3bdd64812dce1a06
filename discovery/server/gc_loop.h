// Periodic garbage collection of a State on a dedicated thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace discovery::server {

class State;

// Collects once at construction time and then every `interval`; the destructor stops and joins.
class GcLoop {
 public:
  GcLoop(State& state, std::chrono::nanoseconds interval);
  ~GcLoop();
  GcLoop(const GcLoop&) = delete;
  GcLoop& operator=(const GcLoop&) = delete;

 private:
  void run(std::stop_token stop);

  State& state_;
  const std::chrono::nanoseconds interval_;
  std::mutex mu_;  // only for cv_; the loop thread owns everything else
  std::condition_variable_any cv_;
  std::jthread thread_;  // last: started after the members it uses exist
};

}  // namespace discovery::server
