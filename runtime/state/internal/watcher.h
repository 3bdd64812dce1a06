// One watch on an in-memory collection: reads the history from its own position on the
// subscriber's executor and hands the callback one batch per wake-up. Internal.
#pragma once

#include <atomic>
#include <boost/signals2/connection.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/state/internal/collection.h"

namespace runtime::state::internal {

struct Counters {
  std::atomic<std::uint64_t> resyncs{0};
  std::atomic<std::uint64_t> watchers{0};
};

// What a watcher selects: one id, or the resources of the kind that pass a filter.
struct WatchTarget {
  std::optional<std::string> id;
  ResourceFilter filter;
};

// The current resources a target selects, sorted by id; call with the collection mutex held.
std::vector<ResourcePtr> select_locked(const Collection& collection, const WatchTarget& target);

// A fresh bootstrap at history `position`: Created per selected resource, then Bootstrapped for
// a kind watch; Created or a Destroyed tombstone (version undefined) for a single resource.
std::vector<Event> bootstrap_events(const Kind& kind, const WatchTarget& target,
                                    const std::vector<ResourcePtr>& selected,
                                    std::uint64_t position);

class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  // `initial` is delivered ahead of the history from `position` on in the first batch.
  Watcher(std::shared_ptr<Collection> collection, std::shared_ptr<Counters> counters,
          Executor executor, WatchCallback callback, WatchTarget target, std::uint64_t position,
          std::vector<Event> initial);

  // Subscribes to the collection (through the wake group of its io_context when its executor
  // runs on one) and schedules the first delivery. The returned handle unsubscribes and cancels
  // when destroyed.
  static std::unique_ptr<Watch> start(std::shared_ptr<Watcher> watcher);

  // Called by its wake group on the io_context: a drain unless one is pending, run inline when
  // the watcher's executor is free.
  void enter();

 private:
  class Handle;

  void schedule();  // from any thread: queues one drain unless one is pending
  void drain();     // on the executor
  void finish_drain();
  // The type the event has for this watcher after filtering, or nullopt to drop it.
  std::optional<EventType> classify(const HistoryEntry& entry) const;
  void filter_into(HistorySlice entries, std::uint64_t first_position,
                   std::vector<Event>& out) const;

  const std::shared_ptr<Collection> collection_;
  const std::shared_ptr<Counters> counters_;
  const Executor executor_;
  const WatchCallback callback_;
  const WatchTarget target_;

  std::atomic<bool> cancelled_{false};
  // True from the scheduling of a drain until that drain has finished, so at most one drain runs at
  // a time even on an executor that is not a strand.
  std::atomic<bool> scheduled_{false};

  // Owned by the (single) running drain.
  std::uint64_t position_;
  std::vector<Event> initial_;
};

}  // namespace runtime::state::internal
