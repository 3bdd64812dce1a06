// Prometheus metrics of the discovery-service: upstream's names (so dashboards keep working)
// plus ours (watch coalescing, rate limiting, snapshot age). Thread-safe; counters are atomics,
// labelled families take a short lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "platform/connection_limits.h"

namespace discovery::server {

struct GcResult;
struct StateStats;

// The Cluster API methods, in the order metrics list them.
enum class Method { kHello, kAffiliateUpdate, kAffiliateDelete, kList, kWatch };

// Upstream's client_version label: "v1.8.3" -> "v1.8", "v1.8.3-beta" -> "v1.8-pre", anything else
// "unknown". Unlike upstream, the version parts must be digits, which bounds the label set.
std::string client_version_label(std::string_view version);

struct StorageEvent {
  bool save = true;  // else load
  bool ok = true;
  std::uint64_t bytes = 0;
  std::uint64_t clusters = 0;
  std::uint64_t affiliates = 0;
  std::uint64_t endpoints = 0;
  std::chrono::nanoseconds duration{0};
};

// Values read at scrape time from their owners.
struct ScrapeInputs {
  const StateStats* state = nullptr;
  std::size_t rate_limit_buckets = 0;
  const platform::ListenerCounts* connections = nullptr;
};

class Metrics {
 public:
  explicit Metrics(bool snapshots_enabled);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void hello(std::string_view client_version);
  void rpc_started(Method method);
  void rpc_handled(Method method, int grpc_code, std::chrono::nanoseconds elapsed);
  void msg_received(Method method);
  void msg_sent(Method method);
  void gc(const GcResult& result);
  void rate_limit_wait();
  void rate_limit_reject();
  void storage(const StorageEvent& event);

  // Prometheus text exposition format 0.0.4.
  std::string render(const ScrapeInputs& inputs) const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace discovery::server
