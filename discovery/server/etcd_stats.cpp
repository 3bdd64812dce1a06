// Prometheus rendering of the etcd store's metrics.
#include "discovery/server/etcd_stats.h"

#include "platform/prometheus.h"

namespace discovery::server {
namespace {

constexpr std::array<const char*, EtcdStats::kOps> kOpNames = {"read", "write", "relist", "probe",
                                                               "compact"};

}  // namespace

void EtcdStats::Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      buckets[i]++;
      break;
    }
  }
  count++;
  sum.fetch_add(seconds);
}

void EtcdStats::request(EtcdOp op, std::chrono::nanoseconds elapsed, bool ok) {
  const auto i = static_cast<std::size_t>(op);
  latency_[i].observe(std::chrono::duration<double>(elapsed).count());
  if (!ok) errors_[i]++;
}

void EtcdStats::watch_event(std::chrono::nanoseconds lag) {
  lag_.observe(std::chrono::duration<double>(lag).count());
}

std::string EtcdStats::render() const {
  platform::PrometheusWriter w;
  auto histogram = [&w](std::string_view name, std::string_view labels, const Histogram& h) {
    std::array<std::uint64_t, kBounds.size()> cumulative{};
    std::uint64_t total = 0;
    for (std::size_t b = 0; b < kBounds.size(); ++b) {
      total += h.buckets[b].load();
      cumulative[b] = total;
    }
    w.histogram(name, labels, kBounds, cumulative, h.sum.load(), h.count.load());
  };
  w.metric("discovery_etcd_up", "gauge", "1 while etcd answers the health probe.",
           std::uint64_t{up_.load() ? 1u : 0u});
  w.metric("discovery_etcd_revision", "gauge", "The etcd revision this replica has applied.",
           static_cast<std::uint64_t>(std::max<std::int64_t>(0, revision_.load())));
  w.family("discovery_etcd_request_duration_seconds", "histogram",
           "Requests to etcd by operation, failed ones included.");
  for (std::size_t i = 0; i < kOps; ++i) {
    histogram("discovery_etcd_request_duration_seconds",
              platform::prometheus_label("operation", kOpNames[i]), latency_[i]);
  }
  w.family("discovery_etcd_errors_total", "counter", "Requests to etcd that failed, by operation.");
  for (std::size_t i = 0; i < kOps; ++i) {
    w.sample("discovery_etcd_errors_total", platform::prometheus_label("operation", kOpNames[i]),
             errors_[i].load());
  }
  const struct {
    const char* name;
    const char* help;
    const std::atomic<std::uint64_t>& value;
  } counters[] = {
      {"discovery_etcd_cas_conflicts_total",
       "Writes retried because another writer changed the affiliate or its cluster first.",
       cas_conflicts_},
      {"discovery_etcd_relists_total",
       "Full listings of the store (at start, and after a compacted or cancelled watch).",
       relists_},
      {"discovery_etcd_watch_restarts_total",
       "Watches that etcd compacted or cancelled, each followed by a relist.", watch_restarts_},
      {"discovery_etcd_bad_values_total",
       "Keys under the prefix that are not affiliates this service could have written.",
       bad_values_},
  };
  for (const auto& counter : counters) {
    w.metric(counter.name, "counter", counter.help, counter.value.load());
  }
  w.family("discovery_etcd_watch_lag_seconds", "histogram",
           "From a replica's write (its wall clock) to this replica applying it from the watch.");
  histogram("discovery_etcd_watch_lag_seconds", "", lag_);
  return w.text();
}

}  // namespace discovery::server
