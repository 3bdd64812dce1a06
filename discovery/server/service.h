// The sidero.discovery.server.Cluster gRPC service over a State, and the server that hosts it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "discovery/server/client_ip.h"
#include "platform/connection_limits.h"

namespace discovery::server {

class Metrics;
class RateLimiter;
class Registry;

struct ServiceOptions {
  std::string redirect_endpoint;  // advisory Hello redirect ("host:port"); empty: none
  bool disable_client_ip_reporting = false;
  // Peers whose X-Real-IP / X-Forwarded-For are believed (Hello's client IP, rate-limit key).
  TrustedProxies trusted_proxies;
  RateLimiter* limiter = nullptr;  // optional; must outlive the server
  Metrics* metrics = nullptr;      // optional; must outlive the server
  // Open Watch streams at most, in all and per client address (the rate-limit key); 0: no cap.
  // Past either, a Watch is refused with RESOURCE_EXHAUSTED saying which.
  std::size_t max_watches = 50000;
  std::size_t max_watches_per_address = 1000;
};

struct ServerOptions {
  std::string address = ":3000";  // host:port; a bare ":port" listens on every address
  ServiceOptions service;
  // Both set: TLS with this PEM chain and key, re-read when the files change. Else h2c.
  std::string certificate_path;
  std::string key_path;
  unsigned tls_refresh_seconds = 10;  // how often the files are checked for changes
  // A connection that has not finished its TLS/HTTP/2 handshake by then is closed (gRPC's
  // default, 120 s, lets idle raw TCP connections hold descriptors for minutes).
  std::chrono::milliseconds handshake_timeout{10000};
  // A connection with no call for this long is closed (Talos clients always keep a Watch open).
  std::chrono::milliseconds max_connection_idle{std::chrono::minutes(5)};
  // A connection is told to go away (GOAWAY) after this long, give or take 10%, and closed, with
  // any Watch stream still on it, the grace later: no stream lives for ever. Clients reconnect.
  std::chrono::milliseconds max_connection_age{std::chrono::hours(24)};
  std::chrono::milliseconds max_connection_age_grace{std::chrono::minutes(1)};
  // Connections open at once; the caller keeps `total` below the descriptor limit.
  platform::ConnectionLimits connections{.total = 50000, .per_address = 1000};
};

// A running gRPC server: the Cluster service, grpc.health.v1 and server reflection.
class Server {
 public:
  virtual ~Server() = default;
  virtual int port() const = 0;
  virtual platform::ListenerCounts connection_counts() const = 0;
  // What grpc.health.v1 reports for every service (SERVING from the start).
  virtual void set_serving(bool serving) = 0;
  // Ends every Watch with OK, then stops accepting calls and waits for the rest (5 s grace).
  // Idempotent; the destructor calls it.
  virtual void shutdown() = 0;
};

// Throws std::runtime_error when the address cannot be bound or the certificate or key cannot be
// used. `registry` must outlive the server.
std::unique_ptr<Server> start_server(Registry& registry, const ServerOptions& options);

// A short, stable, non-reversible tag for an ID, so logs can correlate without printing it.
std::string id_tag(std::string_view id);

}  // namespace discovery::server
