// Prometheus text rendering of the discovery-service metrics.
#include "discovery/server/metrics.h"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>

#include "discovery/server/state.h"

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
  return fmt::format("grpc_method=\"{}\",grpc_service=\"sidero.discovery.server.Cluster\","
                     "grpc_type=\"{}\"",
                     kMethodNames[method], type_of(method));
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
  std::string out;
  auto add = [&out](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto line = [&out](std::string_view name, std::string_view labels, auto value) {
    if (labels.empty()) {
      out += fmt::format("{} {}\n", name, value);
    } else {
      out += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
  };
  const auto& i = *impl_;

  if (in.state != nullptr) {
    add("discovery_state_clusters", "gauge", "The number of clusters.");
    line("discovery_state_clusters", "", in.state->clusters);
    add("discovery_state_affiliates", "gauge", "The number of affiliates.");
    line("discovery_state_affiliates", "", in.state->affiliates);
    add("discovery_state_endpoints", "gauge", "The number of endpoints.");
    line("discovery_state_endpoints", "", in.state->endpoints);
    add("discovery_state_subscriptions", "gauge", "The number of watch subscriptions.");
    line("discovery_state_subscriptions", "", in.state->watches);
    add("discovery_state_watch_coalesced_changes_total", "counter",
        "Changes merged into a change still pending for a slow watcher.");
    line("discovery_state_watch_coalesced_changes_total", "", in.state->coalesced_changes);
  }
  add("discovery_state_gc_runs_total", "counter", "The number of GC runs.");
  line("discovery_state_gc_runs_total", "", i.gc_runs_.load());
  add("discovery_state_gc_clusters_total", "counter", "Clusters removed by GC.");
  line("discovery_state_gc_clusters_total", "", i.gc_clusters_.load());
  add("discovery_state_gc_affiliates_total", "counter", "Affiliates removed by GC.");
  line("discovery_state_gc_affiliates_total", "", i.gc_affiliates_.load());

  add("discovery_ratelimit_waits_total", "counter", "Calls delayed until their token arrived.");
  line("discovery_ratelimit_waits_total", "", i.rate_waits_.load());
  add("discovery_ratelimit_rejects_total", "counter",
      "Calls refused because the wait would pass their deadline.");
  line("discovery_ratelimit_rejects_total", "", i.rate_rejects_.load());
  add("discovery_ratelimit_buckets", "gauge", "Client addresses with a token bucket.");
  line("discovery_ratelimit_buckets", "", in.rate_limit_buckets);

  add("grpc_server_started_total", "counter", "RPCs started on the server.");
  for (std::size_t m = 0; m < kMethods; ++m) {
    line("grpc_server_started_total", labels(m), i.started_[m].load());
  }
  add("grpc_server_handled_total", "counter", "RPCs completed on the server, by code.");
  for (std::size_t m = 0; m < kMethods; ++m) {
    for (std::size_t c = 0; c < kCodes; ++c) {
      if (auto n = i.handled_[m][c].load(); n > 0 || c == 0) {
        line("grpc_server_handled_total",
             fmt::format("grpc_code=\"{}\",{}", kCodeNames[c], labels(m)), n);
      }
    }
  }
  add("grpc_server_msg_received_total", "counter", "Messages received by the server.");
  for (std::size_t m = 0; m < kMethods; ++m) {
    line("grpc_server_msg_received_total", labels(m), i.received_[m].load());
  }
  add("grpc_server_msg_sent_total", "counter", "Messages sent by the server.");
  for (std::size_t m = 0; m < kMethods; ++m) {
    line("grpc_server_msg_sent_total", labels(m), i.sent_[m].load());
  }
  add("grpc_server_handling_seconds", "histogram", "RPC handling time (a Watch: its lifetime).");
  for (std::size_t m = 0; m < kMethods; ++m) {
    const auto& h = i.handling_[m];
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      line("grpc_server_handling_seconds_bucket",
           fmt::format("{},le=\"{}\"", labels(m), kBuckets[b]), h.buckets[b].load());
    }
    line("grpc_server_handling_seconds_bucket", fmt::format("{},le=\"+Inf\"", labels(m)),
         h.count.load());
    line("grpc_server_handling_seconds_sum", labels(m), h.sum.load());
    line("grpc_server_handling_seconds_count", labels(m), h.count.load());
  }

  std::lock_guard lock(i.mu_);
  add("discovery_server_hello_requests_total", "counter", "Hello requests by client version.");
  for (const auto& [version, n] : i.versions_) {
    line("discovery_server_hello_requests_total", fmt::format("client_version=\"{}\"", version), n);
  }
  if (!i.snapshots_) return out;
  add("discovery_storage_operations_total", "counter", "Snapshot saves and loads by result.");
  for (bool save : {false, true}) {
    for (bool ok : {false, true}) {
      auto it = i.storage_.find(save);
      std::uint64_t n = 0;
      if (it != i.storage_.end() && it->second.results.contains(ok)) n = it->second.results.at(ok);
      line("discovery_storage_operations_total",
           fmt::format("operation=\"{}\",status=\"{}\"", save ? "save" : "load",
                       ok ? "success" : "error"),
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
    add(gauge.name, "gauge", gauge.help);
    for (const auto& [save, g] : i.storage_) {
      line(gauge.name, fmt::format("operation=\"{}\"", save ? "save" : "load"), gauge.get(g));
    }
  }
  add("discovery_storage_snapshot_age_seconds", "gauge",
      "Seconds since the last successful save (or load, before the first save).");
  std::optional<std::chrono::system_clock::time_point> last;
  for (const auto& [save, g] : i.storage_) {
    if (g.last_success && (!last || *g.last_success > *last)) last = g.last_success;
  }
  if (last) {
    line("discovery_storage_snapshot_age_seconds", "",
         std::chrono::duration<double>(now - *last).count());
  }
  return out;
}

}  // namespace discovery::server
