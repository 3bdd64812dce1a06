// Tests wait for a state, not for a time: poll a condition until it holds or a deadline passes.
#pragma once

#include <chrono>
#include <thread>

namespace tds::test {

// Polls `condition` every `interval` until it holds or `timeout` passes; true when it held. It is
// checked once more at the deadline, so a condition met during the last sleep still counts.
// Integration tests pass a longer interval: their conditions run processes.
template <class Condition>
bool eventually(Condition&& condition,
                std::chrono::steady_clock::duration timeout = std::chrono::seconds(10),
                std::chrono::steady_clock::duration interval = std::chrono::milliseconds(1)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(interval);
  }
  return true;
}

}  // namespace tds::test
