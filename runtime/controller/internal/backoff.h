// Jittered exponential backoff for controller restarts (the cenkalti/backoff schedule COSI uses).
#pragma once

#include <chrono>
#include <random>

#include "runtime/controller/engine.h"

namespace runtime::controller::internal {

// Not thread-safe: each controller's instance is owned by its strand.
class Backoff {
 public:
  explicit Backoff(BackoffOptions opts);

  // The delay before the next restart; grows the interval for the one after.
  std::chrono::milliseconds next();
  void reset();
  // The un-jittered interval the next call to next() is drawn around.
  std::chrono::milliseconds current_interval() const { return interval_; }

 private:
  BackoffOptions opts_;
  std::chrono::milliseconds interval_;
  std::minstd_rand rng_;
};

}  // namespace runtime::controller::internal
