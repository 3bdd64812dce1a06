// The sidero.discovery.server.Cluster gRPC service over a State, and the server that hosts it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace discovery::server {

class State;

struct ServiceOptions {
  std::string redirect_endpoint;  // advisory Hello redirect ("host:port"); empty: none
  bool disable_client_ip_reporting = false;
};

struct ServerOptions {
  std::string address = ":3000";  // host:port; a bare ":port" listens on every address
  ServiceOptions service;
};

// A running gRPC server (plaintext h2c).
class Server {
 public:
  virtual ~Server() = default;
  virtual int port() const = 0;
  // Ends every Watch with OK, then stops accepting calls and waits for the rest (5 s grace).
  // Idempotent; the destructor calls it.
  virtual void shutdown() = 0;
};

// Throws std::runtime_error when the address cannot be bound. `state` must outlive the server.
std::unique_ptr<Server> start_server(State& state, const ServerOptions& options);

// The client's IP from a gRPC peer URI ("ipv4:1.2.3.4:5", "ipv6:[::1]:5") as 4 bytes (IPv4,
// including IPv4-mapped IPv6) or 16 bytes (IPv6); empty when it is not an IP peer.
std::string peer_ip_bytes(std::string_view peer);

// A short, stable, non-reversible tag for an ID, so logs can correlate without printing it.
std::string id_tag(std::string_view id);

}  // namespace discovery::server
