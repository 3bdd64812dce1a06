// Restart backoff: growth, jitter bounds, cap and reset.
#include "runtime/controller/internal/backoff.h"

#include <gtest/gtest.h>

namespace runtime::controller::internal {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsByTheMultiplierUpToTheCap) {
  Backoff b(BackoffOptions{milliseconds(100), 2.0, 0.0, milliseconds(500)});
  EXPECT_EQ(b.next(), milliseconds(100));
  EXPECT_EQ(b.next(), milliseconds(200));
  EXPECT_EQ(b.next(), milliseconds(400));
  EXPECT_EQ(b.next(), milliseconds(500));
  EXPECT_EQ(b.next(), milliseconds(500));
}

TEST(Backoff, ResetStartsOver) {
  Backoff b(BackoffOptions{milliseconds(100), 2.0, 0.0, milliseconds(60'000)});
  b.next();
  b.next();
  EXPECT_EQ(b.current_interval(), milliseconds(400));
  b.reset();
  EXPECT_EQ(b.next(), milliseconds(100));
}

TEST(Backoff, JitterStaysWithinBoundsOfTheDefaults) {
  Backoff b{BackoffOptions{}};  // 500 ms, x1.5, +-50 %, 60 s
  double interval = 500;
  bool varied = false;
  std::int64_t first = -1;
  for (int i = 0; i < 30; ++i) {
    const auto d = b.next().count();
    EXPECT_GE(d, static_cast<std::int64_t>(interval * 0.5) - 1) << "attempt " << i;
    EXPECT_LE(d, static_cast<std::int64_t>(interval * 1.5) + 1) << "attempt " << i;
    if (i == 0) first = d;
    interval = std::min(interval * 1.5, 60'000.0);
  }
  EXPECT_EQ(b.current_interval(), milliseconds(60'000));
  // Jitter draws differ: 20 first draws all equal would mean no randomization.
  for (int i = 0; i < 20 && !varied; ++i) {
    Backoff fresh{BackoffOptions{}};
    varied = fresh.next().count() != first;
  }
  EXPECT_TRUE(varied);
}

}  // namespace
}  // namespace runtime::controller::internal
