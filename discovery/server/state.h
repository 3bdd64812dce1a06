// The in-memory registry: clusters of affiliates with opaque data and endpoints, TTL expiry and
// watches. Pure C++ (no gRPC); the Cluster service validates requests before they reach it. It is
// the whole registry of a single server, and each replica's mirror of the etcd store.
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
#include "discovery/server/registry.h"

namespace discovery::server {

struct GcResult {
  std::size_t clusters_removed = 0;
  std::size_t affiliates_removed = 0;
  std::size_t endpoints_removed = 0;
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

struct AffiliateKey {
  std::string cluster_id;
  std::string affiliate_id;

  bool operator==(const AffiliateKey&) const = default;
};

// Thread-safe. Writers never wait for watchers; wake-up callbacks run on the writer's thread
// after every lock is released. The State must outlive its watches. Registry writes complete
// before they return.
class State final : public Registry {
 public:
  // Bytes of watch snapshots held (by streams still sending them) beyond which a new watch shares
  // an older snapshot of its cluster instead of building a fresh one. Bounds snapshot memory to
  // this plus one snapshot per cluster when many watchers open on busy clusters at once.
  static constexpr std::size_t kDefaultSnapshotBudget = std::size_t{64} << 20;

  // `max_clusters` (0: no cap) bounds the clusters that updates and watches create; imported
  // and applied ones are always kept.
  explicit State(const Clock& clock, std::size_t snapshot_budget = kDefaultSnapshotBudget,
                 std::size_t max_clusters = 0);
  ~State() override;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  UpdateStatus update(const AffiliateUpdate& request);
  void remove(std::string_view cluster_id, std::string_view affiliate_id);

  // Registry. An unknown cluster that is watched gets an entry that lives only as long as the
  // watch.
  void update(const AffiliateUpdate& request, Done done) override { done(update(request)); }
  void remove(std::string_view cluster_id, std::string_view affiliate_id, Done done) override {
    remove(cluster_id, affiliate_id);
    done(UpdateStatus::kOk);
  }
  std::vector<AffiliatePtr> list(std::string_view cluster_id) const override;
  WatchStart watch(std::string_view cluster_id, std::function<void()> on_pending) override;
  void shutdown() override { close_watches(); }
  StateStats stats() const override;

  // Closes every watch: each reports kClosed from then on.
  void close_watches();
  // Drops affiliates whose expiry is before now, endpoints whose expiry is not after now, and
  // clusters left with no affiliates and no watches.
  GcResult collect_garbage();
  // The affiliates collect_garbage would change now (expired, or with an expired endpoint).
  std::vector<AffiliateKey> expiring() const;
  // Clusters with affiliates.
  std::vector<std::string> cluster_ids() const;

  // Calls `fn` once per non-empty cluster with a copy taken under that cluster's lock (consistent
  // per cluster, not across clusters); no lock is held while `fn` runs.
  void export_clusters(const std::function<void(ClusterExport&&)>& fn) const;
  // Adds a cluster that does not exist yet (or is empty); returns false and changes nothing when
  // it already holds affiliates. The caller validates the contents against the limits.
  bool import_cluster(const ClusterExport& cluster);
  // Sets one affiliate to exactly `item` (record, lifetimes), creating its cluster if needed;
  // watchers get an upsert when the record is new or differs, nothing for lifetimes alone. False
  // (nothing stored) when the cluster already holds the most affiliates allowed.
  bool apply(std::string_view cluster_id, const AffiliateExport& item);

  class Impl;  // defined in state.cpp; named here so watches there can share it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace discovery::server
