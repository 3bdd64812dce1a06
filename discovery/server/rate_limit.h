// Per-client token buckets: every call and stream open costs one token; callers wait for theirs
// unless the wait would pass their deadline (then the call is refused), as upstream.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "discovery/server/clock.h"

namespace discovery::server {

struct RateLimitOptions {
  double rate = 15;  // tokens per second; 0 disables limiting
  double burst = 60;
  std::size_t max_buckets = 65536;  // beyond this, new clients share one overflow bucket
  std::chrono::nanoseconds gc_period = std::chrono::minutes(1);  // drops buckets that are full
  // Calls without a deadline wait at most this long, so a flood cannot park calls for hours.
  std::chrono::nanoseconds max_wait = std::chrono::minutes(1);
};

// Thread-safe; one short internal lock, never held while calling out.
class RateLimiter {
 public:
  RateLimiter(const Clock& clock, RateLimitOptions options);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes a token for the client `ip` (4 or 16 bytes, as peer_ip_bytes returns; IPv6 clients
  // share a bucket per /64; empty means unknown and is never limited). Returns how long the caller
  // must wait before it proceeds (zero: now), or nullopt when that wait would be longer than
  // `time_left` (the call's remaining deadline, if any) or max_wait; then nothing is taken.
  std::optional<std::chrono::nanoseconds> reserve(
      std::string_view ip, std::optional<std::chrono::nanoseconds> time_left);
  std::size_t buckets() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace discovery::server
