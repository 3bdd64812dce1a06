// The retry backoff: jittered around an interval that grows by the multiplier up to the cap,
// and starts over after reset().
#include "platform/backoff.h"

#include <gtest/gtest.h>

namespace platform {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DelaysStayWithinTheJitterOfAGrowingCappedInterval) {
  Backoff backoff(milliseconds(100), milliseconds(1000), 2.0);
  milliseconds interval(100);
  for (int i = 0; i < 20; ++i) {
    const auto delay = backoff.next();
    EXPECT_GE(delay, interval / 2) << "try " << i;
    EXPECT_LE(delay, std::min(milliseconds(1000), interval * 3 / 2)) << "try " << i;
    interval = std::min(milliseconds(1000), interval * 2);
  }
}

TEST(Backoff, ResetStartsOver) {
  Backoff backoff(milliseconds(10), milliseconds(100000), 1.5);
  for (int i = 0; i < 30; ++i) backoff.next();
  EXPECT_GE(backoff.next(), milliseconds(50000));  // capped interval, at least half of it
  backoff.reset();
  EXPECT_LE(backoff.next(), milliseconds(15));
}

TEST(Backoff, JitterSpreadsTheDelays) {
  Backoff backoff(milliseconds(1000), milliseconds(1000), 2.0);
  auto low = backoff.next(), high = low;
  for (int i = 0; i < 100; ++i) {
    const auto d = backoff.next();
    low = std::min(low, d);
    high = std::max(high, d);
  }
  // 100 draws from [500 ms, 1000 ms] (capped): not all the same.
  EXPECT_LT(low, high);
  EXPECT_GE(low, milliseconds(500));
  EXPECT_LE(high, milliseconds(1000));
}

}  // namespace
}  // namespace platform
