// Token buckets on a manual clock: burst, refill, wait-versus-deadline, /64 sharing, collection
// and the bound on the number of buckets.
#include "discovery/server/rate_limit.h"

#include <gtest/gtest.h>

#include "tests/discovery/server/manual_clock.h"

namespace discovery::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

const std::string kIp4(std::string("\x0a\x00\x00\x01", 4));

std::string ip6(unsigned char net, unsigned char host) {
  std::string ip(16, '\0');
  ip[0] = '\x20';
  ip[1] = '\x01';
  ip[7] = static_cast<char>(net);
  ip[15] = static_cast<char>(host);
  return ip;
}

class RateLimitTest : public ::testing::Test {
 protected:
  test::ManualClock clock_;
};

TEST_F(RateLimitTest, BurstThenWaitThenReject) {
  RateLimiter limiter(clock_, {.rate = 1, .burst = 60});
  for (int i = 0; i < 60; ++i) EXPECT_EQ(limiter.reserve(kIp4, seconds(1)), nanoseconds::zero());
  // The 61st needs a 1 s wait: allowed with exactly 1 s left, refused with less.
  EXPECT_FALSE(limiter.reserve(kIp4, milliseconds(999)).has_value());
  EXPECT_EQ(limiter.reserve(kIp4, seconds(1)), seconds(1));
  // That token was taken, so the next caller queues behind it.
  EXPECT_EQ(limiter.reserve(kIp4, std::nullopt), seconds(2));
  clock_.advance(seconds(3));
  EXPECT_EQ(limiter.reserve(kIp4, seconds(0)), nanoseconds::zero());
}

TEST_F(RateLimitTest, CallsWithoutDeadlineWaitAtMostMaxWait) {
  RateLimiter limiter(clock_, {.rate = 1, .burst = 1, .max_wait = seconds(5)});
  EXPECT_EQ(limiter.reserve(kIp4, std::nullopt), nanoseconds::zero());
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(limiter.reserve(kIp4, std::nullopt), seconds(i));
  EXPECT_FALSE(limiter.reserve(kIp4, std::nullopt).has_value());
}

TEST_F(RateLimitTest, Ipv6SharesPerSlash64AndUnknownIsFree) {
  RateLimiter limiter(clock_, {.rate = 1, .burst = 1});
  EXPECT_EQ(limiter.reserve(ip6(1, 1), seconds(0)), nanoseconds::zero());
  EXPECT_FALSE(limiter.reserve(ip6(1, 2), seconds(0)).has_value()) << "same /64";
  EXPECT_EQ(limiter.reserve(ip6(2, 1), seconds(0)), nanoseconds::zero()) << "other /64";
  EXPECT_EQ(limiter.reserve(kIp4, seconds(0)), nanoseconds::zero()) << "independent of IPv6";
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.reserve("", seconds(0)), nanoseconds::zero());
}

TEST_F(RateLimitTest, FullBucketsAreCollected) {
  RateLimiter limiter(clock_, {.rate = 1, .burst = 10, .gc_period = seconds(60)});
  limiter.reserve(kIp4, std::nullopt);
  for (int i = 0; i < 10; ++i) limiter.reserve(ip6(static_cast<unsigned char>(i), 1), std::nullopt);
  EXPECT_EQ(limiter.buckets(), 11u);
  clock_.advance(seconds(60));
  limiter.reserve(ip6(99, 1), std::nullopt);  // triggers collection, then adds its own bucket
  EXPECT_EQ(limiter.buckets(), 1u);
}

TEST_F(RateLimitTest, BucketCountIsBoundedByAnOverflowBucket) {
  RateLimiter limiter(clock_, {.rate = 1, .burst = 2, .max_buckets = 4});
  for (int i = 0; i < 4; ++i) limiter.reserve(ip6(static_cast<unsigned char>(i), 1), std::nullopt);
  EXPECT_EQ(limiter.buckets(), 4u);
  // Newcomers share one bucket of `burst` tokens while the map is full.
  EXPECT_EQ(limiter.reserve(ip6(10, 1), seconds(0)), nanoseconds::zero());
  EXPECT_EQ(limiter.reserve(ip6(11, 1), seconds(0)), nanoseconds::zero());
  EXPECT_FALSE(limiter.reserve(ip6(12, 1), seconds(0)).has_value());
  EXPECT_EQ(limiter.buckets(), 4u);
}

TEST_F(RateLimitTest, ZeroRateDisables) {
  RateLimiter limiter(clock_, {.rate = 0, .burst = 1});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.reserve(kIp4, seconds(0)), nanoseconds::zero());
}

}  // namespace
}  // namespace discovery::server
