// Blocked signals stay pending until sigwait() takes them.
#include "platform/signals.h"

#include <gtest/gtest.h>
#include <pthread.h>

namespace platform {
namespace {

TEST(Signals, BlockedSignalsWaitForSigwait) {
  const sigset_t set = block_signals({SIGUSR1});
  EXPECT_EQ(sigismember(&set, SIGUSR1), 1);
  EXPECT_EQ(sigismember(&set, SIGUSR2), 0);
  pthread_kill(pthread_self(), SIGUSR1);  // would end the process were it not blocked
  int signal = 0;
  EXPECT_EQ(sigwait(&set, &signal), 0);
  EXPECT_EQ(signal, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace
}  // namespace platform
