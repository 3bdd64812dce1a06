// The registry of a discovery-service replica: state shared with other replicas through etcd.
// Writes are compare-and-swap transactions on one key per affiliate (and its cluster's count, when
// an affiliate comes or goes), so replicas writing one affiliate at once never lose an endpoint and
// the per-cluster limit holds across replicas. Reads and watches are served from a State that an
// EtcdMirror keeps equal to etcd. Expiry is lease-free: values carry absolute expiry times, and
// every replica periodically deletes (or trims) what has expired, with the same compare-and-swap,
// so expiry goes on while any replica runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "discovery/server/registry.h"

namespace etcd {
class Client;
}

namespace discovery::server {

class Clock;
struct GcResult;

struct EtcdRegistryOptions {
  std::string prefix = "/discovery-service/";
  // Clusters that writes and watches may create (0: no cap), checked against this replica's view
  // of the store: replicas creating clusters at the same moment can pass it by a few.
  std::size_t max_clusters = 0;
  std::chrono::nanoseconds expiry_interval = std::chrono::minutes(1);
  std::chrono::nanoseconds probe_interval = std::chrono::seconds(1);
  // How long a write keeps trying (compare-and-swap rounds lost to other writers, requests etcd
  // did not answer) before it fails with kUnavailable.
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(5);
  // How long a write waits, after etcd took it, for this replica's mirror to show it, so that a
  // client reads its own writes from the replica it wrote through.
  std::chrono::nanoseconds apply_wait = std::chrono::seconds(5);
  // Writes in flight at once (each holds a thread while it talks to etcd), and writes waiting for
  // one of those at most; past that a write fails at once with kUnavailable.
  std::size_t writers = 16;
  std::size_t queued_writes = 4096;
  // etcd keeps every revision until compacted. Every this often, compact to the revision seen at
  // the previous pass, so watchers catching up keep one interval of history; 0: never (etcd's
  // own --auto-compaction-* then must bound it). Compaction is store-wide: it applies to every
  // other user of the same etcd too.
  std::chrono::nanoseconds compaction_interval = std::chrono::minutes(5);
  // Sees every expiry pass's result, on the expiry thread.
  std::function<void(const GcResult&)> on_expired;
};

class EtcdRegistry final : public Registry {
 public:
  // Starts listing the store at once; `clock` drives the mirror's State.
  EtcdRegistry(std::unique_ptr<etcd::Client> client, const Clock& clock,
               EtcdRegistryOptions options);
  ~EtcdRegistry() override;
  EtcdRegistry(const EtcdRegistry&) = delete;
  EtcdRegistry& operator=(const EtcdRegistry&) = delete;

  // A write that did not get through within the write timeout, or that came while etcd was known
  // to be unreachable or too many writes were waiting, completes with kUnavailable.
  void update(const AffiliateUpdate& request, Done done) override;
  void remove(std::string_view cluster_id, std::string_view affiliate_id, Done done) override;
  std::vector<AffiliatePtr> list(std::string_view cluster_id) const override;
  WatchStart watch(std::string_view cluster_id, std::function<void()> on_pending) override;
  void shutdown() override;
  StateStats stats() const override;

  // Waits up to `timeout` for the first listing.
  bool wait_loaded(std::chrono::nanoseconds timeout) const;
  // The store is listed and etcd answered the last health probe.
  bool healthy() const;
  // One expiry pass now (the periodic one runs every expiry_interval).
  GcResult expire();
  // Prometheus text of the discovery_etcd_* families.
  std::string render_metrics() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace discovery::server
