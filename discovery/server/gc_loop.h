// Periodic garbage collection of a State.
#pragma once

#include <chrono>
#include <functional>

#include "discovery/server/periodic.h"

namespace discovery::server {

class State;
struct GcResult;

// Collects once at construction time and then every `interval`; the destructor stops and joins.
// `on_run` (optional) sees every result, on the loop's thread.
class GcLoop {
 public:
  GcLoop(State& state, std::chrono::nanoseconds interval,
         std::function<void(const GcResult&)> on_run = {});

 private:
  void run_once();

  State& state_;
  const std::function<void(const GcResult&)> on_run_;
  Periodic loop_;  // last: runs run_once, which uses the members above
};

}  // namespace discovery::server
