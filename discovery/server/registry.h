// The registry behind the Cluster service: what its handlers call. Two implementations: State
// (in memory, this process only) and the etcd-backed registry (state shared by replicas).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace discovery::server {

// An affiliate as clients see it. Immutable once published: a change makes a new record, so
// records are shared freely between the registry, List results and pending watch changes.
struct AffiliateRecord {
  std::string id;
  std::string data;
  std::vector<std::string> endpoints;  // insertion order

  bool operator==(const AffiliateRecord&) const = default;
};
using AffiliatePtr = std::shared_ptr<const AffiliateRecord>;

// One watch notification: the full current affiliate, or a deletion (affiliate is null). `message`
// is that notification as one WatchResponse in protobuf wire form, encoded once per change and
// shared by every watcher; `id` points into it and is valid while `message` is held.
struct Change {
  std::string_view id;
  AffiliatePtr affiliate;
  std::shared_ptr<const std::string> message;
};

// A cluster's affiliates at one point of its change order, shared by every watch that starts
// there (the registry keeps one per cluster while anyone holds it).
struct WatchSnapshot {
  std::vector<AffiliatePtr> affiliates;
  std::string message;  // one WatchResponse carrying all of them (empty bytes: no affiliates)
};

struct AffiliateUpdate {
  std::string_view cluster_id;
  std::string_view affiliate_id;
  std::string_view data;  // empty keeps the stored data
  std::vector<std::string_view> endpoints;
  std::chrono::nanoseconds ttl{0};  // negative counts as zero: already expired at the next GC
};

enum class UpdateStatus {
  kOk,
  kUnavailable,        // the shared store did not answer; nothing was stored, or all of it was
  kTooManyClusters,    // a new cluster past the State's cap; nothing was stored
  kTooManyAffiliates,  // nothing was stored
  kTooManyEndpoints,   // the affiliate is stored with the endpoints merged before the limit
};

// A live watch on one cluster: every change after its snapshot, none missed or repeated. A watch
// is a position in the cluster's change order, not a queue: changes the consumer has not taken
// yet coalesce per affiliate (it gets the latest state or the deletion), so a slow consumer costs
// O(1) memory and still converges to the cluster's current view. It may be told of the deletion
// of an affiliate it never saw (one created and deleted while it lagged); clients ignore those.
// Destroying it unsubscribes.
class Watch {
 public:
  enum class Poll {
    kChange,  // `out` holds the next change
    kIdle,    // nothing pending; the wake-up callback fires once when that changes
    kClosed,  // the registry is shutting down; the watch delivers nothing more
  };

  virtual ~Watch() = default;
  virtual Poll next(Change& out) = 0;
  // Changes next() would return now (O(cluster size); for tests and diagnostics).
  virtual std::size_t pending() const = 0;
};

struct WatchStart {
  // Both null when the cluster would be a new one past the State's cap.
  // The cluster when the watch started, or (while a snapshot of the cluster is already in use and
  // snapshots in use exceed the State's budget) that older one; the watch continues after it.
  std::shared_ptr<const WatchSnapshot> snapshot;
  std::unique_ptr<Watch> watch;
};

struct StateStats {
  std::size_t clusters = 0;
  std::size_t affiliates = 0;
  std::size_t endpoints = 0;
  std::size_t watches = 0;
  // Since start: changes that watchers skipped because a later one of the same affiliate (or its
  // deletion) superseded them before they were taken. Counted when the watcher moves past them.
  std::uint64_t coalesced_changes = 0;
  std::size_t tombstones = 0;  // deletions kept for watchers that have not taken them yet
};

// Thread-safe. Writes complete through a callback, which may run before the call returns (in
// memory) or later on another thread (a shared store, which copies the request first). Reads and
// watches answer from memory.
class Registry {
 public:
  using Done = std::function<void(UpdateStatus)>;

  virtual ~Registry() = default;

  virtual void update(const AffiliateUpdate& request, Done done) = 0;
  // Deleting an unknown affiliate or cluster is not an error and changes nothing.
  virtual void remove(std::string_view cluster_id, std::string_view affiliate_id, Done done) = 0;
  // Reads never create a cluster; order is unspecified.
  virtual std::vector<AffiliatePtr> list(std::string_view cluster_id) const = 0;
  // `on_pending` must not take locks that writers hold while calling the registry; it runs on
  // writers' threads after the registry's locks are released, and may call the watch's next(). A
  // writer may still run it just after the watch is destroyed, so it must not assume its owner
  // is alive (hold a weak reference).
  virtual WatchStart watch(std::string_view cluster_id, std::function<void()> on_pending) = 0;
  // Server shutdown: closes every watch (each reports kClosed from then on), and fails writes
  // that have not started yet with kUnavailable.
  virtual void shutdown() = 0;
  virtual StateStats stats() const = 0;
};

}  // namespace discovery::server
