// An executor adaptor that counts the work it carries, so that the engine can wait until a
// controller is quiet: every handler queued through it and every asynchronous operation started
// on it (a timer wait holds a tracked copy) counts until it has run or been destroyed.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange under C++20

#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace runtime::controller::internal {

class WorkCounter : public std::enable_shared_from_this<WorkCounter> {
 public:
  // A token that counts as one piece of work until its last copy is destroyed.
  std::shared_ptr<void> acquire() {
    {
      std::lock_guard lock(mu_);
      ++pending_;
    }
    return std::shared_ptr<void>(nullptr, [self = shared_from_this()](void*) { self->release(); });
  }

  // True when idle; false when the deadline passed first.
  bool wait_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return idle_.wait_until(lock, deadline, [this] { return pending_ == 0; });
  }

 private:
  void release() {
    std::lock_guard lock(mu_);
    if (--pending_ == 0) idle_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable idle_;
  std::size_t pending_ = 0;  // guarded by mu_
};

template <class Inner>
class CountingExecutor {
 public:
  CountingExecutor(Inner inner, std::shared_ptr<WorkCounter> counter,
                   std::shared_ptr<void> work = nullptr) noexcept
      : inner_(boost::asio::require(std::move(inner), boost::asio::execution::blocking.never)),
        counter_(std::move(counter)),
        work_(std::move(work)) {}

  boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept {
    return boost::asio::query(inner_, boost::asio::execution::context);
  }
  static constexpr boost::asio::execution::blocking_t::never_t query(
      boost::asio::execution::blocking_t) noexcept {
    return {};
  }
  // The inner executor is never-blocking already: execute() always queues.
  CountingExecutor require(boost::asio::execution::blocking_t::never_t) const { return *this; }
  CountingExecutor require(boost::asio::execution::outstanding_work_t::tracked_t) const {
    return CountingExecutor(inner_, counter_, counter_->acquire());
  }
  CountingExecutor require(boost::asio::execution::outstanding_work_t::untracked_t) const {
    return CountingExecutor(inner_, counter_);
  }

  template <class F>
  void execute(F f) const {
    boost::asio::execution::execute(
        inner_, [f = std::move(f), work = counter_->acquire()]() mutable { std::move(f)(); });
  }

  friend bool operator==(const CountingExecutor& a, const CountingExecutor& b) noexcept {
    return a.inner_ == b.inner_ && a.counter_ == b.counter_;
  }
  friend bool operator!=(const CountingExecutor& a, const CountingExecutor& b) noexcept {
    return !(a == b);
  }

 private:
  Inner inner_;
  std::shared_ptr<WorkCounter> counter_;
  std::shared_ptr<void> work_;  // set on tracked copies only
};

}  // namespace runtime::controller::internal
