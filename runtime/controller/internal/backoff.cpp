// Jittered exponential backoff: interval grows by the multiplier up to the cap; each delay is
// drawn uniformly around the interval.
#include "runtime/controller/internal/backoff.h"

#include <algorithm>

namespace runtime::controller::internal {

Backoff::Backoff(BackoffOptions opts)
    : opts_(opts), interval_(opts.initial), rng_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::next() {
  const double base = static_cast<double>(interval_.count());
  const double jitter = std::clamp(opts_.jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> dist(base * (1.0 - jitter), base * (1.0 + jitter));
  const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(dist(rng_)));

  // Like cenkalti/backoff, the cap bounds the interval, not the jittered delay.
  const double grown = base * opts_.multiplier;
  interval_ = grown >= static_cast<double>(opts_.max.count())
                  ? opts_.max
                  : std::chrono::milliseconds(static_cast<std::int64_t>(grown));
  return delay;
}

void Backoff::reset() { interval_ = opts_.initial; }

}  // namespace runtime::controller::internal
