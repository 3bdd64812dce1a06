// discovery-service: parses flags, starts the Cluster gRPC server and GC, and stops cleanly on
// SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <exception>

#include "discovery/server/duration.h"
#include "discovery/server/gc_loop.h"
#include "discovery/server/service.h"
#include "discovery/server/state.h"

namespace ds = discovery::server;

int main(int argc, char** argv) {
  CLI::App app{"Talos discovery service (sidero.discovery.server.Cluster)"};
  ds::ServerOptions options;
  std::string gc_interval = "1m";
  std::string log_level = "info";
  app.add_option("--addr", options.address, "gRPC listen address (host:port or :port)")
      ->capture_default_str();
  app.add_option("--gc-interval", gc_interval, "garbage collection interval (Go duration)")
      ->capture_default_str();
  app.add_option("--redirect-endpoint", options.service.redirect_endpoint,
                 "advise clients in Hello to use this host:port instead");
  app.add_flag("--disable-client-ip-reporting", options.service.disable_client_ip_reporting,
               "do not tell clients their IP in Hello");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_pattern("ts=%Y-%m-%dT%H:%M:%S.%e level=%l event=%v");
  spdlog::set_level(spdlog::level::from_str(log_level));

  auto interval = ds::parse_duration(gc_interval);
  if (!interval || *interval <= std::chrono::nanoseconds::zero()) {
    spdlog::error("event=bad_flag flag=--gc-interval value=\"{}\" error=\"expected a positive "
                  "duration such as 30s, 1m or 1h\"",
                  gc_interval);
    return 2;
  }

  // Blocked before any thread starts, so every thread inherits the mask and sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ds::SteadyClock clock;
  ds::State state(clock);
  try {
    auto server = ds::start_server(state, options);
    ds::GcLoop gc(state, *interval);
    spdlog::info("listening addr={} port={} gc_interval={} redirect=\"{}\" client_ip_reporting={}",
                 options.address, server->port(), gc_interval, options.service.redirect_endpoint,
                 !options.service.disable_client_ip_reporting);
    int signal = 0;
    sigwait(&signals, &signal);
    spdlog::info("shutdown signal={}", signal);
    server->shutdown();
  } catch (const std::exception& e) {
    spdlog::error("fatal error=\"{}\"", e.what());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}
