// machined: parses flags, starts the daemon, reloads the config on SIGHUP and stops cleanly on
// SIGINT/SIGTERM, or after a reset (which wipes the node's state on the way out).
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <exception>

#include "machined/daemon.h"
#include "platform/command_line.h"
#include "platform/connection_limits.h"
#include "platform/fd_limit.h"
#include "platform/log_value.h"
#include "platform/logging.h"
#include "platform/signals.h"

int main(int argc, char** argv) {
  CLI::App app{"machined: the node daemon (COSI resource store, controllers, State API)"};
  machined::DaemonOptions options;
  app.add_option("--state-dir", options.state_dir,
                 "directory for the socket, TLS identity and node state")
      ->required();
  app.add_option("--config", options.config_path,
                 "machine config YAML (re-read when it changes and on SIGHUP)");
  app.add_option("--api-addr", options.api_addr,
                 "listen address of the read-only API, mutual TLS with the config's OS CA "
                 "(host:port or :port)")
      ->capture_default_str()
      ->check(platform::optional_listen_address());
  platform::add_connection_limit_flags(app, options.api_connections, "api-", "--api-addr");
  app.add_option("--socket", options.socket_path,
                 "unix socket of the read-write API (default <state-dir>/machined.sock)");
  app.add_option("--metrics-addr", options.metrics_addr,
                 "Prometheus /metrics listen address (host:port or :port; off when empty)")
      ->check(platform::optional_listen_address());
  app.add_flag("--api-insecure", options.api_insecure,
               "without an OS CA in the config: serve the API with no client certificate, "
               "anyone a reader of non-sensitive resources (Talos's maintenance mode)");
  app.add_option("--tls-cert", options.tls_cert,
                 "API serving certificate (PEM); default: issued from the OS CA at start, or "
                 "with --api-insecure self-signed and kept in the state dir");
  app.add_option("--tls-key", options.tls_key, "API private key (PEM), with --tls-cert");
  app.add_option("--plugin-dir", options.plugin_dir,
                 "load every *.so in this directory as a plugin (types and controllers)");
  if (auto exit_code = platform::parse_daemon_command_line(app, argc, argv)) return *exit_code;
  const sigset_t signals = platform::block_signals({SIGINT, SIGTERM, SIGHUP});
  const auto descriptors = platform::raise_fd_limit();
  spdlog::info("open_files_limit soft={}", descriptors);
  options.api_connections.total =
      platform::connections_within(descriptors, options.api_connections.total);

  // A finished reset stops the daemon as SIGTERM does; sent to this thread, which sigwaits.
  options.on_exit_request = [main_thread = pthread_self()] { pthread_kill(main_thread, SIGTERM); };

  try {
    auto daemon = machined::start_daemon(options);
    spdlog::info("started state_dir={} api_port={} metrics_port={}", options.state_dir.string(),
                 daemon->api_port(), daemon->metrics_port());
    for (;;) {
      int signal = 0;
      sigwait(&signals, &signal);
      if (signal != SIGHUP) {
        spdlog::info("shutdown signal={}", signal);
        break;
      }
      try {
        daemon->reload_config();
      } catch (const std::exception& e) {
        spdlog::error("config_reload_failed error=\"{}\"", platform::log_value(e.what()));
      }
    }
    daemon->stop();
  } catch (const std::exception& e) {
    platform::log_fatal(e.what());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}
