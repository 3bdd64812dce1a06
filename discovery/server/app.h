// The discovery-service process: loads the snapshot (or lists the etcd store), serves gRPC, the
// landing site and metrics, collects garbage, saves snapshots, and shuts down in order. main()
// only parses flags.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "discovery/server/pages.h"
#include "discovery/server/rate_limit.h"
#include "discovery/server/service.h"
#include "etcd/client.h"

namespace discovery::server {

struct AppOptions {
  ServerOptions grpc;
  std::string landing_address = ":3001";  // empty: no landing site
  std::string metrics_address = ":2122";  // empty: no metrics endpoint
  std::string trusted_proxies;            // comma-separated CIDRs
  std::chrono::nanoseconds gc_interval = std::chrono::minutes(1);
  bool snapshots_enabled = true;
  std::string snapshot_path = "/var/discovery-service/state.binpb";
  std::chrono::nanoseconds snapshot_interval = std::chrono::minutes(10);
  std::string snapshot_key_file;  // empty: snapshots are not encrypted
  bool snapshot_strict = false;   // refuse to start when the snapshot is damaged
  RateLimitOptions rate_limit;
  LandingOptions landing;
  // Clusters that updates and watches may create; 0: no cap. Snapshot loads keep every cluster.
  std::size_t max_clusters = 100000;
  // With endpoints, the registry lives in etcd under etcd_prefix, shared with every replica that
  // uses the same endpoints and prefix, and snapshots are off. Without, it is in memory.
  etcd::Options etcd;
  std::string etcd_prefix = "/discovery-service/";
  std::chrono::nanoseconds etcd_compaction_interval = std::chrono::minutes(5);  // 0: never
};

// Waits up to `timeout` for a stop request (SIGTERM); true once one has come.
using StopWait = std::function<bool(std::chrono::milliseconds timeout)>;

// Runs until a stop request, then stops everything and writes the final snapshot.
// Returns the exit code: 0 after a clean stop, 1 when startup fails or the final snapshot cannot
// be saved after its retries (each reason is logged).
int run_app(const AppOptions& options, const StopWait& wait_for_stop);

}  // namespace discovery::server
