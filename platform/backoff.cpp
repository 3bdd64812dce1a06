// Jittered exponential backoff.
#include "platform/backoff.h"

#include <algorithm>
#include <cstdint>

namespace platform {

Backoff::Backoff(std::chrono::nanoseconds initial, std::chrono::nanoseconds max, double multiplier)
    : initial_(std::max(initial, std::chrono::nanoseconds(std::chrono::milliseconds(1)))),
      max_(std::max(max, initial_)),
      multiplier_(std::max(multiplier, 1.0)),
      current_(initial_),
      rng_(std::random_device{}()) {}

std::chrono::nanoseconds Backoff::next() {
  const auto scaled = [](std::chrono::nanoseconds d, double factor) {
    return std::chrono::nanoseconds(
        static_cast<std::int64_t>(static_cast<double>(d.count()) * factor));
  };
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  const auto delay = std::min(max_, scaled(current_, jitter(rng_)));
  current_ = std::min(max_, scaled(current_, multiplier_));
  return delay;
}

}  // namespace platform
