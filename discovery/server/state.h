// The discovery registry: clusters of affiliates with opaque data and endpoints, TTL expiry and
// watches. Pure C++ (no gRPC); the Cluster service validates requests before they reach it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/server/clock.h"

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

struct GcResult {
  std::size_t clusters_removed = 0;
  std::size_t affiliates_removed = 0;
  std::size_t endpoints_removed = 0;
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

// One cluster as persisted: records with their remaining lifetimes (relative, so downtime does
// not consume TTL). A negative remaining lifetime means expired but not yet collected.
struct AffiliateExport {
  AffiliatePtr record;
  std::chrono::nanoseconds ttl{0};
  std::vector<std::chrono::nanoseconds> endpoint_ttls;  // parallel to record->endpoints
};

struct ClusterExport {
  std::string id;
  std::vector<AffiliateExport> affiliates;
};

// Thread-safe. Writers never wait for watchers; wake-up callbacks run on the writer's thread
// after every lock is released. The State must outlive its watches.
class State {
 public:
  // Bytes of watch snapshots held (by streams still sending them) beyond which a new watch shares
  // an older snapshot of its cluster instead of building a fresh one. Bounds snapshot memory to
  // this plus one snapshot per cluster when many watchers open on busy clusters at once.
  static constexpr std::size_t kDefaultSnapshotBudget = std::size_t{64} << 20;

  // `max_clusters` (0: no cap) bounds the clusters that updates and watches create; imported
  // ones are always kept.
  explicit State(const Clock& clock, std::size_t snapshot_budget = kDefaultSnapshotBudget,
                 std::size_t max_clusters = 0);
  ~State();
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  UpdateStatus update(const AffiliateUpdate& request);
  // Deleting an unknown affiliate or cluster is not an error and changes nothing.
  void remove(std::string_view cluster_id, std::string_view affiliate_id);
  // Reads never create a cluster; order is unspecified.
  std::vector<AffiliatePtr> list(std::string_view cluster_id) const;
  // `on_pending` must not take locks that writers hold while calling the State; it runs on
  // writers' threads after the State's locks are released, and may call the watch's next(). A
  // writer may still run it just after the watch is destroyed, so it must not assume its owner
  // is alive (hold a weak reference).
  // An unknown cluster gets an entry that lives only as long as the watch.
  WatchStart watch(std::string_view cluster_id, std::function<void()> on_pending);

  // Drops affiliates whose expiry is before now, endpoints whose expiry is not after now, and
  // clusters left with no affiliates and no watches.
  GcResult collect_garbage();
  // Closes every watch (shutdown): each reports kClosed from then on.
  void close_watches();
  StateStats stats() const;

  // Calls `fn` once per non-empty cluster with a copy taken under that cluster's lock (consistent
  // per cluster, not across clusters); no lock is held while `fn` runs.
  void export_clusters(const std::function<void(ClusterExport&&)>& fn) const;
  // Adds a cluster that does not exist yet (or is empty); returns false and changes nothing when
  // it already holds affiliates. The caller validates the contents against the limits.
  bool import_cluster(const ClusterExport& cluster);

  class Impl;  // defined in state.cpp; named here so watches there can share it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace discovery::server
