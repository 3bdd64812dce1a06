// What the informer and the annotator share as background loops: the owner's coalesced change
// callback and the once-per-failure log lines (the retry backoff is platform::Backoff, x2).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace kubernetes::internal {

// Change notifications posted to the owner's executor, coalesced: at most one is pending, so a
// burst of changes wakes the owner once. The state is shared with the posted handler, so one
// that runs after stop() sees it and does nothing.
class Notifier {
 public:
  Notifier(boost::asio::any_io_executor executor, std::function<void()> callback);
  // From any thread.
  void notify();
  // No callback runs after this returns, when called on the executor's strand; the owner's
  // destructor calls it first.
  void stop();

 private:
  struct State {
    boost::asio::any_io_executor executor;
    std::function<void()> callback;
    std::atomic<bool> pending{false};
    std::atomic<bool> alive{true};
  };
  std::shared_ptr<State> state_;
};

// A retrying loop's health for operators: a warning when it starts failing and an info line when
// it recovers, not one per retry (those are debug). Owned by the loop's thread.
class FailureLog {
 public:
  // `event` names the loop ("kubernetes_node_informer"); `fields` are key=value pairs for every
  // line.
  FailureLog(std::string event, std::string fields);
  void failed(const std::string& error, std::chrono::milliseconds retry_in);
  void succeeded();

 private:
  const std::string event_;
  const std::string fields_;
  int failures_ = 0;
};

}  // namespace kubernetes::internal
