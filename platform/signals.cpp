// pthread_sigmask over a list of signals.
#include "platform/signals.h"

#include <pthread.h>

namespace platform {

sigset_t block_signals(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace platform
