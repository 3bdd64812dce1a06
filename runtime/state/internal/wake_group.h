// Watchers of one collection whose executors run on one io_context, woken together: one slot on
// the collection's signal and one task per burst of writes for all of them, which enters each
// watcher's executor in turn (inline when that executor is free). Without it every watcher costs
// the writer a signal slot, a queued task and possibly a thread wake-up. Internal.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/signals2/connection.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "runtime/state/state.h"

namespace runtime::state::internal {

class Collection;
class Watcher;

class WakeGroup : public std::enable_shared_from_this<WakeGroup> {
 public:
  using IoExecutor = boost::asio::io_context::executor_type;

  // The group of `collection` on the io_context of `io`: created and connected to the
  // collection's signal by its first watcher, gone with its last.
  static std::shared_ptr<WakeGroup> of(Collection& collection, const IoExecutor& io);

  explicit WakeGroup(IoExecutor io) : io_(std::move(io)) {}

  void join(const std::shared_ptr<Watcher>& watcher);
  void leave(const Watcher* watcher);

 private:
  void wake();  // from any thread: schedules one run unless one is pending
  void run();   // on the io_context

  const IoExecutor io_;
  boost::signals2::scoped_connection connection_;
  // Cleared when a run starts, so a write during the run schedules the next one.
  std::atomic<bool> scheduled_{false};
  std::mutex mu_;
  // Replaced on join and leave, never changed in place, so a run walks it without the lock.
  std::shared_ptr<const std::vector<std::weak_ptr<Watcher>>> members_;  // guarded by mu_
};

// The io_context executor beneath `executor` (the executor itself, or a strand's inner one);
// nullopt for any other kind of executor, whose watchers are woken one by one.
std::optional<WakeGroup::IoExecutor> io_executor_of(const Executor& executor);

}  // namespace runtime::state::internal
