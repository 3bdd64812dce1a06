// The node daemon's wiring: resource store, type registry, controller engine, and the gRPC
// surfaces (read-write State API on a unix socket, read-only State API + Version over mutual TLS
// with Talos's roles),
// plus metrics. cmd/machined parses flags into DaemonOptions and drives this.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "platform/connection_limits.h"

namespace machined {

struct DaemonOptions {
  std::filesystem::path state_dir;
  // Machine config YAML; empty runs without one.
  std::filesystem::path config_path;
  std::string api_addr = ":50000";
  // Connections to api_addr open at once; the caller keeps `total` below the descriptor limit.
  platform::ConnectionLimits api_connections{.total = 1000, .per_address = 100};
  // Empty: <state_dir>/machined.sock.
  std::filesystem::path socket_path;
  // Empty: no metrics listener.
  std::string metrics_addr;
  // The API's serving certificate. Both empty: issued at start from the config's OS CA
  // (machine.ca), or in the insecure mode <state_dir>/api.{crt,key}, generated when absent.
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  // Without an OS CA in the config the TCP API is refused unless this is set: then anyone who
  // connects may read non-sensitive types, with no client certificate (Talos's maintenance
  // mode). With an OS CA it is an error.
  bool api_insecure = false;
  // Plugins (runtime/plugin/plugin.h) to load at start, every *.so in it; empty: none.
  std::filesystem::path plugin_dir;
  // Event-loop threads (controllers, timers, the metrics server). One: a node's controllers are
  // light, a second thread measured no faster (burst convergence, tds_controller_bench), and it
  // made each delivery to a watcher cross cores: 100 watchers p99 61-69 us against 29-30 us
  // (docs/BENCHMARKS.md, "Watchers woken together").
  int threads = 1;
  // Called once, from any thread, when the daemon asks its owner to stop it: a reset (Reset on
  // the local socket) has left the cluster. The owner then calls stop(), which wipes the state.
  std::function<void()> on_exit_request;
};

class Daemon {
 public:
  virtual ~Daemon() = default;

  virtual int api_port() const = 0;
  virtual int metrics_port() const = 0;  // 0 without a metrics listener
  virtual const std::filesystem::path& socket_path() const = 0;

  // Re-reads the config file into the machine config resource (the daemon also does this by
  // itself whenever the file is written or replaced). Throws std::runtime_error when the file
  // cannot be read or does not validate; the stored config is then left as it was.
  virtual void reload_config() = 0;

  // gRPC servers first (with a deadline, while the event loop still runs), then metrics, the
  // controllers and the event loop. After a reset it then wipes what the node keeps in the state
  // dir (identity, generated TLS identity), so the next start is a new node. Idempotent; also
  // done by the destructor.
  virtual void stop() = 0;
};

// Throws std::runtime_error with a message naming what failed (state dir, lock, listener,
// certificate, config file).
std::unique_ptr<Daemon> start_daemon(const DaemonOptions& options);

}  // namespace machined
