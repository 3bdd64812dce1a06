// Prometheus text rendering of the discovery-service metrics.
#include "discovery/server/metrics.h"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>

#include "discovery/server/state.h"
#include "platform/prometheus.h"

namespace discovery::server {
namespace {

constexpr std::size_t kMethods = 5;
constexpr std::size_t kCodes = 17;  // gRPC status codes 0..16
constexpr std::array<std::string_view, kMethods> kMethodNames = {
    "Hello", "AffiliateUpdate", "AffiliateDelete", "List", "Watch"};
constexpr std::array<std::string_view, kCodes> kCodeNames = {
    "OK",           "Canceled",          "Unknown",          "InvalidArgument",
    "DeadlineExceeded", "NotFound",      "AlreadyExists",    "PermissionDenied",
    "ResourceExhausted", "FailedPrecondition", "Aborted",    "OutOfRange",
    "Unimplemented", "Internal",         "Unavailable",      "DataLoss",
    "Unauthenticated"};
constexpr std::array<double, 6> kBuckets = {0.01, 0.1, 0.25, 0.5, 1, 2.5};
// client_version labels beyond this many distinct values count as "unknown".
constexpr std::size_t kMaxVersionLabels = 256;

using Counter = std::atomic<std::uint64_t>;

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

struct Histogram {
  std::array<Counter, kBuckets.size()> buckets{};
  Counter count{0};
  std::atomic<double> sum{0};
};

struct OperationGauges {
  std::uint64_t bytes = 0, clusters = 0, affiliates = 0, endpoints = 0;
  double seconds = 0;
  std::map<bool, std::uint64_t> results;  // ok -> count
  std::optional<std::chrono::system_clock::time_point> last_success;
};

std::string_view type_of(std::size_t method) {
  return method == static_cast<std::size_t>(Method::kWatch) ? "server_stream" : "unary";
}

std::string labels(std::size_t method) {
  return platform::prometheus_label("grpc_method", kMethodNames[method]) + "," +
         platform::prometheus_label("grpc_service", "sidero.discovery.server.Cluster") + "," +
         platform::prometheus_label("grpc_type", type_of(method));
}

}  // namespace

std::string client_version_label(std::string_view version) {
  const auto dash = version.find('-');
  std::string_view head = version.substr(0, dash);
  if (!head.starts_with('v')) return "unknown";
  const auto first = head.find('.');
  if (first == std::string_view::npos || first > 3) return "unknown";
  const auto second = head.find('.', first + 1);
  if (second == std::string_view::npos || second - first > 3) return "unknown";
  if (!all_digits(head.substr(1, first - 1)) ||
      !all_digits(head.substr(first + 1, second - first - 1))) {
    return "unknown";
  }
  std::string label(head.substr(0, second));
  if (dash != std::string_view::npos) label += "-pre";
  return label;
}

class Metrics::Impl {
 public:
  explicit Impl(bool snapshots) : snapshots_(snapshots) { versions_["unknown"] = 0; }

  const bool snapshots_;
  std::array<Counter, kMethods> started_{};
  std::array<std::array<Counter, kCodes>, kMethods> handled_{};
  std::array<Counter, kMethods> received_{};
  std::array<Counter, kMethods> sent_{};
  std::array<Histogram, kMethods> handling_{};
  Counter gc_runs_{0}, gc_clusters_{0}, gc_affiliates_{0};
  Counter rate_waits_{0}, rate_rejects_{0};

  mutable std::mutex mu_;  // guards the labelled maps below
  std::map<std::string, std::uint64_t> versions_;
  std::map<bool, OperationGauges> storage_;  // save? -> gauges
};

Metrics::Metrics(bool snapshots_enabled) : impl_(std::make_unique<Impl>(snapshots_enabled)) {}
Metrics::~Metrics() = default;

void Metrics::hello(std::string_view client_version) {
  std::string label = client_version_label(client_version);
  std::lock_guard lock(impl_->mu_);
  if (!impl_->versions_.contains(label) && impl_->versions_.size() >= kMaxVersionLabels) {
    label = "unknown";
  }
  impl_->versions_[label]++;
}

void Metrics::rpc_started(Method method) {
  impl_->started_[static_cast<std::size_t>(method)]++;
}

void Metrics::rpc_handled(Method method, int grpc_code, std::chrono::nanoseconds elapsed) {
  const auto m = static_cast<std::size_t>(method);
  impl_->handled_[m][static_cast<std::size_t>(grpc_code) < kCodes ? grpc_code : 2]++;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  auto& h = impl_->handling_[m];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) h.buckets[i]++;
  }
  h.count++;
  h.sum.fetch_add(seconds);
}

void Metrics::msg_received(Method method) { impl_->received_[static_cast<std::size_t>(method)]++; }
void Metrics::msg_sent(Method method) { impl_->sent_[static_cast<std::size_t>(method)]++; }

void Metrics::gc(const GcResult& result) {
  impl_->gc_runs_++;
  impl_->gc_clusters_ += result.clusters_removed;
  impl_->gc_affiliates_ += result.affiliates_removed;
}

void Metrics::rate_limit_wait() { impl_->rate_waits_++; }
void Metrics::rate_limit_reject() { impl_->rate_rejects_++; }

void Metrics::storage(const StorageEvent& event) {
  std::lock_guard lock(impl_->mu_);
  auto& op = impl_->storage_[event.save];
  op.results[event.ok]++;
  if (!event.ok) return;
  op.bytes = event.bytes;
  op.clusters = event.clusters;
  op.affiliates = event.affiliates;
  op.endpoints = event.endpoints;
  op.seconds = std::chrono::duration<double>(event.duration).count();
  op.last_success = std::chrono::system_clock::now();
}

std::string Metrics::render(const ScrapeInputs& in) const {
  platform::PrometheusWriter w;
  const auto& i = *impl_;

  if (in.state != nullptr) {
    w.metric("discovery_state_clusters", "gauge", "The number of clusters.", in.state->clusters);
    w.metric("discovery_state_affiliates", "gauge", "The number of affiliates.",
             in.state->affiliates);
    w.metric("discovery_state_endpoints", "gauge", "The number of endpoints.", in.state->endpoints);
    w.metric("discovery_state_subscriptions", "gauge", "The number of watch subscriptions.",
             in.state->watches);
    w.metric("discovery_state_watch_coalesced_changes_total", "counter",
             "Changes merged into a change still pending for a slow watcher.",
             in.state->coalesced_changes);
  }
  w.metric("discovery_state_gc_runs_total", "counter", "The number of GC runs.", i.gc_runs_.load());
  w.metric("discovery_state_gc_clusters_total", "counter", "Clusters removed by GC.",
           i.gc_clusters_.load());
  w.metric("discovery_state_gc_affiliates_total", "counter", "Affiliates removed by GC.",
           i.gc_affiliates_.load());

  w.metric("discovery_ratelimit_waits_total", "counter", "Calls delayed until their token arrived.",
           i.rate_waits_.load());
  w.metric("discovery_ratelimit_rejects_total", "counter",
           "Calls refused because the wait would pass their deadline.", i.rate_rejects_.load());
  w.metric("discovery_ratelimit_buckets", "gauge", "Client addresses with a token bucket.",
           in.rate_limit_buckets);
  if (in.connections != nullptr) platform::write_connection_metrics(w, *in.connections);

  // One sample per method of a per-method counter array.
  auto per_method = [&w](std::string_view name, std::string_view help,
                         const std::array<Counter, kMethods>& counters) {
    w.family(name, "counter", help);
    for (std::size_t m = 0; m < kMethods; ++m) w.sample(name, labels(m), counters[m].load());
  };
  per_method("grpc_server_started_total", "RPCs started on the server.", i.started_);
  w.family("grpc_server_handled_total", "counter", "RPCs completed on the server, by code.");
  for (std::size_t m = 0; m < kMethods; ++m) {
    for (std::size_t c = 0; c < kCodes; ++c) {
      if (auto n = i.handled_[m][c].load(); n > 0 || c == 0) {
        w.sample("grpc_server_handled_total",
                 platform::prometheus_label("grpc_code", kCodeNames[c]) + "," + labels(m), n);
      }
    }
  }
  per_method("grpc_server_msg_received_total", "Messages received by the server.", i.received_);
  per_method("grpc_server_msg_sent_total", "Messages sent by the server.", i.sent_);
  w.family("grpc_server_handling_seconds", "histogram",
           "RPC handling time (a Watch: its lifetime).");
  for (std::size_t m = 0; m < kMethods; ++m) {
    const auto& h = i.handling_[m];
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    for (std::size_t b = 0; b < kBuckets.size(); ++b) buckets[b] = h.buckets[b].load();
    w.histogram("grpc_server_handling_seconds", labels(m), kBuckets, buckets, h.sum.load(),
                h.count.load());
  }

  std::lock_guard lock(i.mu_);
  w.family("discovery_server_hello_requests_total", "counter", "Hello requests by client version.");
  for (const auto& [version, n] : i.versions_) {
    w.sample("discovery_server_hello_requests_total",
             platform::prometheus_label("client_version", version), n);
  }
  if (!i.snapshots_) return w.text();
  auto operation = [](bool save) {
    return platform::prometheus_label("operation", save ? "save" : "load");
  };
  w.family("discovery_storage_operations_total", "counter", "Snapshot saves and loads by result.");
  for (bool save : {false, true}) {
    for (bool ok : {false, true}) {
      auto it = i.storage_.find(save);
      std::uint64_t n = 0;
      if (it != i.storage_.end() && it->second.results.contains(ok)) n = it->second.results.at(ok);
      w.sample(
          "discovery_storage_operations_total",
          operation(save) + "," + platform::prometheus_label("status", ok ? "success" : "error"),
          n);
    }
  }
  const auto now = std::chrono::system_clock::now();
  struct Gauge {
    std::string_view name, help;
    double (*get)(const OperationGauges&);
  };
  static constexpr Gauge kGauges[] = {
      {"discovery_storage_last_snapshot_size_bytes", "Size of the last snapshot.",
       [](const OperationGauges& g) { return static_cast<double>(g.bytes); }},
      {"discovery_storage_last_operation_clusters", "Clusters in the last snapshot.",
       [](const OperationGauges& g) { return static_cast<double>(g.clusters); }},
      {"discovery_storage_last_operation_affiliates", "Affiliates in the last snapshot.",
       [](const OperationGauges& g) { return static_cast<double>(g.affiliates); }},
      {"discovery_storage_last_operation_endpoints", "Endpoints in the last snapshot.",
       [](const OperationGauges& g) { return static_cast<double>(g.endpoints); }},
      {"discovery_storage_last_operation_duration_seconds", "Duration of the last operation.",
       [](const OperationGauges& g) { return g.seconds; }},
  };
  for (const auto& gauge : kGauges) {
    w.family(gauge.name, "gauge", gauge.help);
    for (const auto& [save, g] : i.storage_) w.sample(gauge.name, operation(save), gauge.get(g));
  }
  w.family("discovery_storage_snapshot_age_seconds", "gauge",
           "Seconds since the last successful save (or load, before the first save).");
  std::optional<std::chrono::system_clock::time_point> last;
  for (const auto& [save, g] : i.storage_) {
    if (g.last_success && (!last || *g.last_success > *last)) last = g.last_success;
  }
  if (last) {
    w.sample("discovery_storage_snapshot_age_seconds", "",
             std::chrono::duration<double>(now - *last).count());
  }
  return w.text();
}

}  // namespace discovery::server
