// discovery-service: parses flags and runs the service (discovery/server/app.h) until SIGINT or
// SIGTERM.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <ctime>
#include <limits>

#include "discovery/server/app.h"
#include "discovery/server/client_ip.h"
#include "discovery/server/duration.h"
#include "platform/command_line.h"
#include "platform/connection_limits.h"
#include "platform/fd_limit.h"
#include "platform/signals.h"

namespace ds = discovery::server;

namespace {

// Parses a positive Go-style duration flag into `into`; anything else is a bad flag.
std::function<void(const std::string&)> duration_flag(const std::string& flag,
                                                      std::chrono::nanoseconds& into) {
  return [flag, &into](const std::string& value) {
    auto parsed = ds::parse_duration(value);
    if (!parsed || *parsed <= std::chrono::nanoseconds::zero()) {
      throw CLI::ValidationError(
          flag, "\"" + value + "\" is not a positive duration such as 30s, 1m or 1h");
    }
    into = *parsed;
  };
}

// A duration flag that gRPC takes in milliseconds as an int: positive and at most ~24 days.
std::function<void(const std::string&)> grpc_duration_flag(const std::string& flag,
                                                           std::chrono::milliseconds& into) {
  return [flag, &into](const std::string& value) {
    std::chrono::nanoseconds parsed{0};
    duration_flag(flag, parsed)(value);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(parsed);
    if (ms.count() < 1 || ms.count() > std::numeric_limits<int>::max()) {
      throw CLI::ValidationError(flag, "\"" + value + "\" is not between 1ms and 596h");
    }
    into = ms;
  };
}

// A duration flag of the etcd client, in milliseconds.
std::function<void(const std::string&)> etcd_duration_flag(const std::string& flag,
                                                           std::chrono::milliseconds& into) {
  return [flag, &into](const std::string& value) {
    std::chrono::nanoseconds parsed{0};
    duration_flag(flag, parsed)(value);
    into = std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(parsed));
  };
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Talos discovery service (sidero.discovery.server.Cluster)"};
  ds::AppOptions options;
  auto& grpc = options.grpc;
  app.add_option("--addr", grpc.address, "gRPC listen address (host:port or :port)")
      ->capture_default_str()
      ->check(platform::optional_listen_address());
  app.add_option("--certificate-path", grpc.certificate_path,
                 "PEM certificate chain: serve TLS (needs --key-path; reloaded on change)");
  app.add_option("--key-path", grpc.key_path, "PEM private key for --certificate-path");
  app.add_option("--landing-addr", options.landing_address,
                 "HTTP address of the landing page, /stats and /healthz (empty: off)")
      ->capture_default_str()
      ->check(platform::optional_listen_address());
  app.add_option("--metrics-addr", options.metrics_address,
                 "HTTP address of Prometheus /metrics (empty: off)")
      ->capture_default_str()
      ->check(platform::optional_listen_address());
  app.add_flag("--enable-inspect", options.landing.enable_inspect,
               "serve /inspect?clusterID=... on the landing address");
  app.add_option_function<std::string>("--gc-interval",
                                       duration_flag("--gc-interval", options.gc_interval),
                                       "garbage collection interval (Go duration)")
      ->default_str("1m");
  app.add_option("--redirect-endpoint", grpc.service.redirect_endpoint,
                 "advise clients in Hello to use this host:port instead");
  app.add_flag("--disable-client-ip-reporting", grpc.service.disable_client_ip_reporting,
               "do not tell clients their IP in Hello");
  app.add_option("--trusted-proxies", options.trusted_proxies,
                 "comma-separated CIDRs whose X-Real-IP / X-Forwarded-For are believed")
      ->check(CLI::Validator(
          [](std::string& value) {
            std::string error;
            return ds::TrustedProxies::parse(value, error) ? std::string() : error;
          },
          "CIDRS"));
  app.add_option("--rate-limit", options.rate_limit.rate,
                 "requests per second per client IP (IPv6: per /64); 0 disables")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--rate-limit-burst", options.rate_limit.burst, "token bucket size per client")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e9));
  app.add_option("--max-clusters", options.max_clusters,
                 "clusters at most (an update or watch that would add one past it is refused "
                 "with RESOURCE_EXHAUSTED); 0: no cap")
      ->capture_default_str();
  app.add_option("--max-watches", grpc.service.max_watches,
                 "open Watch streams at most; 0: no cap")
      ->capture_default_str();
  app.add_option("--max-watches-per-address", grpc.service.max_watches_per_address,
                 "open Watch streams per client address (the rate-limit key) at most; 0: no cap")
      ->capture_default_str();
  platform::add_connection_limit_flags(app, grpc.connections, "", "gRPC");
  app.add_option_function<std::string>(
         "--max-connection-age", grpc_duration_flag("--max-connection-age", grpc.max_connection_age),
         "close each gRPC connection after about this long (give or take 10%, then 1m of grace), "
         "so no Watch stream lives for ever; clients reconnect (Go duration)")
      ->default_str("24h");
  app.add_flag("--snapshots-enabled", options.snapshots_enabled,
               "load the snapshot at start, save it periodically and at shutdown "
               "(--snapshots-enabled=false to turn off)")
      ->capture_default_str();
  app.add_option("--snapshot-path", options.snapshot_path, "snapshot file")->capture_default_str();
  app.add_option_function<std::string>(
         "--snapshot-interval", duration_flag("--snapshot-interval", options.snapshot_interval),
         "snapshot save interval (Go duration)")
      ->default_str("10m");
  app.add_option("--snapshot-key-file", options.snapshot_key_file,
                 "encrypt snapshots with AES-256-GCM under this key (32 bytes raw, hex or base64)");
  app.add_flag("--snapshot-strict", options.snapshot_strict,
               "refuse to start when the snapshot is damaged (default: start with what was read)");
  std::string etcd_endpoints;
  etcd::TlsOptions etcd_tls;
  app.add_option("--etcd-endpoints", etcd_endpoints,
                 "keep the registry in etcd (host:port,...) instead of memory, shared by every "
                 "replica with the same endpoints and prefix; turns snapshots off");
  app.add_option("--etcd-prefix", options.etcd_prefix, "key prefix of the registry in etcd")
      ->capture_default_str();
  app.add_option("--etcd-ca-file", etcd_tls.ca_file,
                 "TLS to etcd: PEM roots that sign its certificates");
  app.add_option("--etcd-cert-file", etcd_tls.cert_file,
                 "TLS to etcd: client certificate (PEM), with --etcd-key-file");
  app.add_option("--etcd-key-file", etcd_tls.key_file, "TLS to etcd: client private key (PEM)");
  app.add_option_function<std::string>(
         "--etcd-dial-timeout",
         etcd_duration_flag("--etcd-dial-timeout", options.etcd.dial_timeout),
         "time to connect to one etcd endpoint before trying the next (Go duration)")
      ->default_str("2s");
  app.add_option_function<std::string>(
         "--etcd-request-timeout",
         etcd_duration_flag("--etcd-request-timeout", options.etcd.request_timeout),
         "time for one etcd request, connecting included; a write past it fails with "
         "UNAVAILABLE (Go duration)")
      ->default_str("5s");
  app.add_option_function<std::string>(
         "--etcd-compaction-interval",
         [&options](const std::string& value) {
           auto parsed = ds::parse_duration(value);
           if (!parsed || *parsed < std::chrono::nanoseconds::zero()) {
             throw CLI::ValidationError("--etcd-compaction-interval",
                                        "\"" + value + "\" is not a duration such as 5m, or 0");
           }
           options.etcd_compaction_interval = *parsed;
         },
         "compact etcd's history this often, keeping one interval of it; 0: never (then etcd's "
         "--auto-compaction-* must); store-wide (Go duration)")
      ->default_str("5m");
  if (auto exit_code = platform::parse_daemon_command_line(app, argc, argv)) return *exit_code;
  options.etcd.endpoints = etcd::parse_endpoints(etcd_endpoints);
  if (!etcd_tls.ca_file.empty() || !etcd_tls.cert_file.empty() || !etcd_tls.key_file.empty()) {
    if (etcd_tls.cert_file.empty() != etcd_tls.key_file.empty()) {
      spdlog::error("bad_flag flag=--etcd-cert-file error=\"--etcd-cert-file and --etcd-key-file "
                    "go together\"");
      return 2;
    }
    options.etcd.tls = etcd_tls;
  }
  if (!etcd_endpoints.empty() && options.etcd.endpoints.empty()) {
    spdlog::error("bad_flag flag=--etcd-endpoints error=\"no host:port in the list\"");
    return 2;
  }
  const sigset_t signals = platform::block_signals({SIGINT, SIGTERM});
  const auto descriptors = platform::raise_fd_limit();
  spdlog::info("open_files_limit soft={}", descriptors);
  grpc.connections.total = platform::connections_within(descriptors, grpc.connections.total);
  bool stopping = false;
  return ds::run_app(options, [&](std::chrono::milliseconds timeout) {
    if (stopping) return true;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    const timespec wait{static_cast<time_t>(seconds.count()),
                        static_cast<long>((timeout - seconds).count() * 1000000)};
    const int signal = sigtimedwait(&signals, nullptr, &wait);
    if (signal < 0) return false;  // timed out (or EINTR): no stop yet
    spdlog::info("signal number={}", signal);
    stopping = true;
    return true;
  });
}
