// One (namespace, type) of the in-memory state: the resources, the event history ring that
// watchers read from, and the "changed" signal that wakes them. Internal to inmem_state.cpp.
#pragma once

#include <atomic>
#include <boost/container/small_vector.hpp>
#include <boost/signals2/signal.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/state/inmem_state.h"

namespace boost::asio {
class io_context;
}

namespace runtime::state::internal {

class WakeGroup;

// Bookmarks are 15 bytes, so that one fits std::string's inline buffer and an event's bookmark
// costs no allocation: a random 7-byte per-process cookie (so bookmarks die with the process),
// then the big-endian 8-byte history position a resumed watch continues from.
std::string encode_bookmark(std::uint64_t position);
std::optional<std::uint64_t> decode_bookmark(std::string_view bookmark);

// One slot of the history ring. The event at position p carries bookmark p + 1.
struct HistoryEntry {
  EventType type = EventType::kCreated;
  ResourcePtr resource;
  ResourcePtr old;  // Updated only
};

// What a watcher copies out per wake-up: usually one or two entries, kept inline.
using HistorySlice = boost::container::small_vector<HistoryEntry, 4>;

class Collection {
 public:
  Collection(Kind kind, const InMemoryStateOptions& opts);

  const Kind& kind() const { return kind_; }

  // Everything below up to `changed` is guarded by mu.
  std::mutex& mutex() const { return mu_; }

  ResourcePtr find_locked(const std::string& id) const;
  // Matching resources sorted by id.
  std::vector<ResourcePtr> snapshot_locked(const ResourceFilter& filter) const;
  // The stored resource changes to `next` (null: removed) and the event is recorded.
  void apply_locked(EventType type, const std::string& id, ResourcePtr next);

  std::uint64_t write_pos_locked() const { return write_pos_.load(std::memory_order_relaxed); }
  // Lock-free read for a watcher checking whether it is behind. Sequentially consistent, so a
  // watcher that clears its "scheduled" flag and then reads this cannot miss a write whose
  // signal found the flag still set.
  std::uint64_t write_pos() const { return write_pos_.load(); }
  std::size_t capacity_locked() const { return ring_.size(); }
  // The oldest position a tail or bookmark replay may start from (capacity - gap back).
  std::uint64_t replay_floor_locked() const;
  // Events in [from, write_pos); from must not be overrun (write_pos - from <= capacity).
  HistorySlice history_locked(std::uint64_t from) const;

  // Wakes the watchers; call after releasing mu. Skips the signal when nobody watches, so an
  // unwatched write costs no slot-list traversal.
  void notify() const;

  // Connected to by wake groups and watchers; emitted with mu released. The slots only
  // schedule work.
  boost::signals2::signal<void()> changed;
  std::atomic<int> watchers{0};
  // One wake group per io_context that watchers of this collection run on. Guarded by mu.
  std::map<const boost::asio::io_context*, std::weak_ptr<WakeGroup>> wake_groups;

 private:
  const Kind kind_;
  const std::size_t max_capacity_;
  const std::size_t gap_;

  mutable std::mutex mu_;
  // Ordered by id, so List and bootstraps need no sort. Guarded by mu_.
  std::map<std::string, ResourcePtr, std::less<>> storage_;
  std::vector<HistoryEntry> ring_;           // guarded by mu_; size == capacity
  std::atomic<std::uint64_t> write_pos_{0};  // written under mu_
};

}  // namespace runtime::state::internal
