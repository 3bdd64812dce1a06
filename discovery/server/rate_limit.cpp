// Token buckets keyed by client address (IPv6 by /64), bounded and collected.
#include "discovery/server/rate_limit.h"

#include <algorithm>
#include <iterator>
#include <mutex>
#include <string>
#include <unordered_map>

namespace discovery::server {
namespace {

using Seconds = std::chrono::duration<double>;

struct Bucket {
  double tokens;
  TimePoint last;
};

}  // namespace

class RateLimiter::Impl {
 public:
  Impl(const Clock& clock, RateLimitOptions options)
      : clock_(clock), options_(options), last_gc_(clock.now()) {}

  std::optional<std::chrono::nanoseconds> reserve(
      std::string_view ip, std::optional<std::chrono::nanoseconds> time_left) {
    if (options_.rate <= 0 || ip.empty()) return std::chrono::nanoseconds::zero();
    const TimePoint now = clock_.now();
    std::lock_guard lock(mu_);
    if (now - last_gc_ >= options_.gc_period) collect(now);
    Bucket& bucket = find(key_of(ip), now);
    refill(bucket, now);
    const double after = bucket.tokens - 1;
    const auto wait = after >= 0 ? std::chrono::nanoseconds::zero()
                                 : std::chrono::ceil<std::chrono::nanoseconds>(
                                       Seconds(-after / options_.rate));
    if (wait > options_.max_wait || (time_left && wait > *time_left)) return std::nullopt;
    bucket.tokens = after;  // may go negative: later callers queue behind this one
    return wait;
  }

  std::size_t buckets() const {
    std::lock_guard lock(mu_);
    return buckets_.size();
  }

 private:
  static std::string key_of(std::string_view ip) {
    return std::string(ip.size() == 16 ? ip.substr(0, 8) : ip);
  }

  void refill(Bucket& bucket, TimePoint now) const {
    if (now <= bucket.last) return;
    bucket.tokens = std::min(options_.burst,
                             bucket.tokens + Seconds(now - bucket.last).count() * options_.rate);
    bucket.last = now;
  }

  Bucket& find(std::string key, TimePoint now) {
    auto it = buckets_.find(key);
    if (it != buckets_.end()) return it->second;
    if (buckets_.size() >= options_.max_buckets) {
      // Collecting costs a full scan, so a flood of new addresses gets at most one per second.
      if (now - last_gc_ >= std::chrono::seconds(1)) collect(now);
      if (buckets_.size() >= options_.max_buckets) {
        if (!overflow_) overflow_ = Bucket{options_.burst, now};
        return *overflow_;
      }
    }
    return buckets_.emplace(std::move(key), Bucket{options_.burst, now}).first->second;
  }

  // Drops buckets that have refilled completely: they behave exactly like new ones.
  void collect(TimePoint now) {
    last_gc_ = now;
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      refill(it->second, now);
      it = it->second.tokens >= options_.burst ? buckets_.erase(it) : std::next(it);
    }
  }

  const Clock& clock_;
  const RateLimitOptions options_;
  mutable std::mutex mu_;  // guards everything below
  std::unordered_map<std::string, Bucket> buckets_;
  std::optional<Bucket> overflow_;
  TimePoint last_gc_;
};

RateLimiter::RateLimiter(const Clock& clock, RateLimitOptions options)
    : impl_(std::make_unique<Impl>(clock, options)) {}

RateLimiter::~RateLimiter() = default;

std::optional<std::chrono::nanoseconds> RateLimiter::reserve(
    std::string_view ip, std::optional<std::chrono::nanoseconds> time_left) {
  return impl_->reserve(ip, time_left);
}

std::size_t RateLimiter::buckets() const { return impl_->buckets(); }

}  // namespace discovery::server
