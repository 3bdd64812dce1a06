// Ends a test's worker threads however the test leaves its scope (an assertion that fails midway
// included): sets their stop flag, then joins them.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

namespace tds::test {

struct StopAndJoin {
  std::atomic<bool>& stop;
  std::vector<std::thread>& threads;

  ~StopAndJoin() {
    stop = true;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

}  // namespace tds::test
