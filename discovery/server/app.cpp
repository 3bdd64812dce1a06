// Process wiring of the discovery-service. Startup order: snapshot load, then listeners, so
// clients never see a half-loaded registry; shutdown: listeners, then the final snapshot.
#include "discovery/server/app.h"

#include <absl/synchronization/mutex.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "discovery/server/etcd_registry.h"
#include "discovery/server/gc_loop.h"
#include "discovery/server/listener_probe.h"
#include "discovery/server/metrics.h"
#include "discovery/server/periodic.h"
#include "discovery/server/snapshot.h"
#include "discovery/server/state.h"
#include "platform/listen_address.h"
#include "platform/log_value.h"
#include "platform/logging.h"
#include "platform/memory.h"

namespace discovery::server {
namespace {

using Steady = std::chrono::steady_clock;

// The Server header of the landing and metrics responses.
constexpr char kServerName[] = "discovery-service";
// Memory given back after a GC pass is logged from this much on.
constexpr std::uint64_t kLoggedRelease = std::uint64_t{16} << 20;

StorageEvent event_of(bool save, bool ok, const SnapshotCounts& counts,
                      Steady::duration elapsed) {
  return {save,
          ok,
          counts.bytes,
          counts.clusters,
          counts.affiliates,
          counts.endpoints,
          std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed)};
}

// Loads the snapshot into `state`; false when the process must not start.
bool load_snapshot(const SnapshotFile& file, State& state, Metrics& metrics, bool strict) {
  const auto started = Steady::now();
  LoadResult result = file.load(state);
  const bool ok = !result.refused && result.problems.empty();
  metrics.storage(event_of(false, ok, result.counts, Steady::now() - started));
  if (result.refused) {
    spdlog::error(
        "snapshot_refused path={} error=\"{}\" hint=\"the file is kept; fix the cause or "
        "move the file away\"",
        file.path(), *result.refused);
    return false;
  }
  if (!result.found) {
    spdlog::info("snapshot_missing path={} (a fresh start)", file.path());
    return true;
  }
  for (const auto& problem : result.problems) {
    spdlog::error("snapshot_damaged path={} offset={}{} error=\"{}\"", file.path(), problem.offset,
                  problem.field.empty() ? "" : " field=" + problem.field, problem.message);
  }
  if (!result.problems.empty()) {
    if (strict) {
      spdlog::error("snapshot_strict path={} refusing to start with a damaged snapshot",
                    file.path());
      return false;
    }
    try {
      // Kept for inspection: the next save would otherwise replace what could not be read.
      spdlog::warn("snapshot_set_aside path={} moved_to={}", file.path(), file.set_aside());
    } catch (const std::exception& e) {
      spdlog::error("snapshot_set_aside path={} error=\"{}\"", file.path(), e.what());
      return false;
    }
  }
  spdlog::info("state loaded path={} clusters={} affiliates={} endpoints={} bytes={} "
               "duration_ms={}",
               file.path(), result.counts.clusters, result.counts.affiliates,
               result.counts.endpoints, result.counts.bytes,
               std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started)
                   .count());
  return true;
}

// Saves once. On failure, which leaves the previous file as it was, logs and returns the error.
std::optional<std::string> save_snapshot(const SnapshotFile& file, const State& state,
                                         Metrics& metrics) {
  const auto started = Steady::now();
  try {
    SnapshotCounts counts = file.save(state);
    metrics.storage(event_of(true, true, counts, Steady::now() - started));
    spdlog::info("state saved path={} clusters={} affiliates={} endpoints={} bytes={} "
                 "duration_ms={}",
                 file.path(), counts.clusters, counts.affiliates, counts.endpoints, counts.bytes,
                 std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started)
                     .count());
    return std::nullopt;
  } catch (const std::exception& e) {
    metrics.storage(event_of(true, false, {}, Steady::now() - started));
    spdlog::error("snapshot_save_failed path={} error=\"{}\" (the previous file is kept)",
                  file.path(), platform::log_value(e.what()));
    return e.what();
  }
}

// The save at shutdown is the last chance for what is in memory, so a failure that may pass (a
// disk being cleaned up, a storage hiccup) gets more tries, a bounded while: kFinalSaveTries in
// all, the first kFinalSaveFirstDelay after the failure, each later one twice as long.
constexpr int kFinalSaveTries = 3;
constexpr std::chrono::milliseconds kFinalSaveFirstDelay{500};

// False when every try failed.
bool save_final_snapshot(const SnapshotFile& file, const State& state, Metrics& metrics) {
  auto delay = kFinalSaveFirstDelay;
  for (int attempt = 1;; ++attempt) {
    const std::optional<std::string> error = save_snapshot(file, state, metrics);
    if (!error) return true;
    if (attempt == kFinalSaveTries) {
      spdlog::error(
          "snapshot_final_save_failed path={} attempts={} error=\"{}\" hint=\"the "
          "state in memory is lost; the previous file is kept\"",
          file.path(), attempt, platform::log_value(*error));
      return false;
    }
    spdlog::warn("snapshot_final_save_retry path={} attempt={} retry_in_ms={}", file.path(),
                 attempt, delay.count());
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

// Where the listener on `address` answers from this host: its own address, or loopback for a
// listener on every address.
std::string probe_target(const std::string& address, int port) {
  std::string host = platform::parse_listen_address(address).host;
  if (host.empty() || host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

// Waits for the first listing of the etcd store; false when a stop request came first.
bool wait_for_listing(const EtcdRegistry& registry, const StopWait& wait_for_stop) {
  constexpr std::chrono::milliseconds kPoll{200};
  constexpr std::chrono::seconds kReport{10};
  auto next_report = Steady::now() + kReport;
  while (!registry.wait_loaded(kPoll)) {
    if (wait_for_stop(kPoll)) return false;
    if (Steady::now() >= next_report) {
      spdlog::warn("etcd_waiting (not listening until the store is listed)");
      next_report += kReport;
    }
  }
  return true;
}

}  // namespace

int run_app(const AppOptions& options, const StopWait& wait_for_stop) {
  // gRPC's locks are absl::Mutex. A libgrpc built without NDEBUG (Debian's is) leaves absl's
  // deadlock detection on, which records every lock order in a global graph: about 5 % of the
  // server's CPU under watch fan-out. Release builds of absl have it off; so does this process.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  SteadyClock clock;
  Metrics metrics(options.snapshots_enabled && options.etcd.endpoints.empty());
  RateLimiter limiter(clock, options.rate_limit);
  ServerOptions grpc = options.grpc;
  std::string error;
  auto trusted = TrustedProxies::parse(options.trusted_proxies, error);
  if (!trusted) {
    spdlog::error("bad_flag flag=--trusted-proxies error=\"{}\"", error);
    return 1;
  }
  grpc.service.trusted_proxies = *trusted;
  grpc.service.limiter = &limiter;
  grpc.service.metrics = &metrics;
  // What collected clusters and closed streams freed goes back to the kernel after each GC pass.
  auto after_gc = [&metrics](const GcResult& result) {
    metrics.gc(result);
    if (const auto released = platform::release_free_memory(); released >= kLoggedRelease) {
      spdlog::info("memory_released bytes={}", released);
    }
  };

  try {
    // The registry: in memory (with snapshots), or shared through etcd.
    std::unique_ptr<State> memory;
    std::unique_ptr<EtcdRegistry> shared;
    Registry* registry = nullptr;
    std::optional<SnapshotFile> snapshots;
    if (options.etcd.endpoints.empty()) {
      memory = std::make_unique<State>(clock, State::kDefaultSnapshotBudget, options.max_clusters);
      registry = memory.get();
      if (options.snapshots_enabled) {
        std::optional<SnapshotKey> key;
        if (!options.snapshot_key_file.empty()) key = read_snapshot_key(options.snapshot_key_file);
        snapshots.emplace(options.snapshot_path, key);
        if (!load_snapshot(*snapshots, *memory, metrics, options.snapshot_strict)) return 1;
      }
    } else {
      spdlog::info("etcd endpoints={} prefix={} tls={} (snapshots are off)",
                   fmt::join(options.etcd.endpoints, ","), options.etcd_prefix,
                   options.etcd.tls.has_value());
      if (options.etcd.endpoints.size() > 1 &&
          options.etcd.dial_timeout >= options.etcd.request_timeout) {
        spdlog::warn("etcd_timeouts dial_ms={} request_ms={} (a request spends up to the dial "
                     "timeout on a dead endpoint before it tries the next, so with the dial "
                     "timeout at or above the request timeout, no request fails over)",
                     options.etcd.dial_timeout.count(), options.etcd.request_timeout.count());
      }
      EtcdRegistryOptions etcd_options;
      etcd_options.prefix = options.etcd_prefix;
      etcd_options.max_clusters = options.max_clusters;
      etcd_options.expiry_interval = options.gc_interval;
      etcd_options.compaction_interval = options.etcd_compaction_interval;
      etcd_options.write_timeout = options.etcd.request_timeout;
      etcd_options.on_expired = after_gc;
      shared = std::make_unique<EtcdRegistry>(etcd::make_client(options.etcd), clock,
                                              std::move(etcd_options));
      registry = shared.get();
      if (!wait_for_listing(*shared, wait_for_stop)) {
        spdlog::info("stopped");
        return 0;
      }
    }

    auto server = start_server(*registry, grpc);
    ListenerProbe probe(ListenerProbeOptions{.target = probe_target(grpc.address, server->port()),
                                             .tls = !grpc.certificate_path.empty()});
    std::unique_ptr<HttpServer> landing;
    if (!options.landing_address.empty()) {
      LandingOptions landing_options = options.landing;
      landing_options.healthy = [&probe, &shared] {
        return probe.healthy() && (shared == nullptr || shared->healthy());
      };
      landing = platform::start_http_server(options.landing_address,
                                            landing_handler(*registry, std::move(landing_options)),
                                            kServerName);
    }
    std::unique_ptr<HttpServer> metrics_http;
    if (!options.metrics_address.empty()) {
      auto render = [&] {
        StateStats stats = registry->stats();
        const platform::ListenerCounts connections = server->connection_counts();
        std::string text = metrics.render({&stats, limiter.buckets(), &connections});
        if (shared != nullptr) text += shared->render_metrics();
        return text;
      };
      metrics_http = platform::start_http_server(options.metrics_address,
                                                 metrics_handler(render), kServerName);
    }
    spdlog::info("listening addr={} port={} tls={} max_connections={} "
                 "max_connections_per_address={} landing_port={} metrics_port={} "
                 "snapshots={} storage={} redirect=\"{}\" client_ip_reporting={}",
                 grpc.address, server->port(), !grpc.certificate_path.empty(),
                 grpc.connections.total, grpc.connections.per_address,
                 landing ? landing->port() : 0, metrics_http ? metrics_http->port() : 0,
                 snapshots ? options.snapshot_path : "off", shared ? "etcd" : "memory",
                 grpc.service.redirect_endpoint, !grpc.service.disable_client_ip_reporting);
    {
      std::optional<GcLoop> gc;
      std::optional<Periodic> saver;
      std::optional<Periodic> health;
      if (memory) gc.emplace(*memory, options.gc_interval, after_gc);
      if (snapshots) {
        saver.emplace(options.snapshot_interval,
                      [&] { save_snapshot(*snapshots, *memory, metrics); }, false);
      }
      if (shared) {
        // grpc.health.v1 follows the store: NOT_SERVING while etcd does not answer.
        health.emplace(std::chrono::seconds(1),
                       [&] { server->set_serving(shared->healthy()); }, true);
      }
      while (!wait_for_stop(std::chrono::hours(1))) {
      }
      spdlog::info("shutdown");
    }
    server->shutdown();
    if (landing) landing->stop();
    if (metrics_http) metrics_http->stop();
    if (snapshots && !save_final_snapshot(*snapshots, *memory, metrics)) return 1;
  } catch (const std::exception& e) {
    platform::log_fatal(e.what());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace discovery::server
