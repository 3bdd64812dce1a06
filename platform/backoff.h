// Retry delays for network clients that reconnect forever (cenkalti/backoff's schedule, which
// Talos's clients use): `initial`, growing by `multiplier` up to `max`, each delay drawn with
// +-50% jitter (never above `max`) so nodes that failed together do not retry together.
#pragma once

#include <chrono>
#include <random>

namespace platform {

// Not thread-safe: owned by the loop that retries.
class Backoff {
 public:
  Backoff(std::chrono::nanoseconds initial, std::chrono::nanoseconds max, double multiplier);

  // The delay before the next try; grows the interval for the one after.
  std::chrono::nanoseconds next();
  void reset() { current_ = initial_; }

 private:
  std::chrono::nanoseconds initial_;
  std::chrono::nanoseconds max_;
  double multiplier_;
  std::chrono::nanoseconds current_;
  std::mt19937_64 rng_;
};

}  // namespace platform
