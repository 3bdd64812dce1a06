// raise_fd_limit: the soft descriptor limit goes up to the hard one.
#include "platform/fd_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace platform {
namespace {

TEST(FdLimit, SoftLimitIsRaisedToTheHardOne) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max <= 256) GTEST_SKIP() << "hard limit too low to lower the soft one";
  rlimit lowered = limit;
  lowered.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);

  EXPECT_EQ(raise_fd_limit(), limit.rlim_max);
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, limit.rlim_max);
  EXPECT_EQ(raise_fd_limit(), limit.rlim_max);  // already there: unchanged
}

}  // namespace
}  // namespace platform
