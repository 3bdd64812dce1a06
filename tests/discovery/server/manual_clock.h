// A clock that moves only when a test says so.
#pragma once

#include <atomic>

#include "discovery/server/clock.h"

namespace discovery::server::test {

class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_.load(); }
  void advance(std::chrono::nanoseconds by) { now_.store(now_.load() + by); }

 private:
  std::atomic<TimePoint> now_{TimePoint{} + std::chrono::hours(1)};
};

}  // namespace discovery::server::test
