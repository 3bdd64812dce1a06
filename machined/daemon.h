// The node daemon's wiring: resource store, type registry, controller engine, and the gRPC
// surfaces (read-write State API on a unix socket, read-only State API + Version over TLS),
// plus metrics. cmd/machined parses flags into DaemonOptions and drives this.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace machined {

struct DaemonOptions {
  std::filesystem::path state_dir;
  // Machine config YAML; empty runs without one.
  std::filesystem::path config_path;
  std::string api_addr = ":50000";
  // Empty: <state_dir>/machined.sock.
  std::filesystem::path socket_path;
  // Empty: no metrics listener.
  std::string metrics_addr;
  // Both empty: <state_dir>/api.{crt,key}, generated when absent.
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  int threads = 2;
};

class Daemon {
 public:
  virtual ~Daemon() = default;

  virtual int api_port() const = 0;
  virtual int metrics_port() const = 0;  // 0 without a metrics listener
  virtual const std::filesystem::path& socket_path() const = 0;

  // Re-reads the config file into the machine config resource. Throws std::runtime_error when
  // the file cannot be read; the stored config is then left as it was.
  virtual void reload_config() = 0;

  // gRPC servers first (with a deadline, while the event loop still runs), then metrics, the
  // controllers and the event loop. Idempotent; also done by the destructor.
  virtual void stop() = 0;
};

// Throws std::runtime_error with a message naming what failed (state dir, lock, listener,
// certificate, config file).
std::unique_ptr<Daemon> start_daemon(const DaemonOptions& options);

}  // namespace machined
