// Time source for TTLs, injectable so tests can move time by hand.
#pragma once

#include <chrono>

namespace discovery::server {

using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The process's monotonic clock; TTLs are relative, so wall-clock jumps must not expire records.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace discovery::server
