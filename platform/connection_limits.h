// Caps on the connections a gRPC listener (platform/grpc_listener.h) hands to its server, and
// what it counts; kept apart from the listener so metrics code need not know gRPC.
#pragma once

#include <cstddef>
#include <cstdint>

namespace platform {

class PrometheusWriter;

// Connections open at once, in all and from one client address; 0: no cap. Past either, a new
// connection is closed as it arrives, before any byte is read: the client sees the connection
// reset (gRPC: UNAVAILABLE) and retries.
struct ConnectionLimits {
  std::size_t total = 0;
  std::size_t per_address = 0;
};

// The total cap that leaves room below the descriptor limit for everything else the daemon
// opens (HTTP connections, files): `wanted`, but at most the limit less 1024, or half a limit
// of 2048 or less; `wanted` 0 asks for that room.
std::size_t connections_within(std::uint64_t descriptor_limit, std::size_t wanted);

struct ListenerCounts {
  std::uint64_t accepted = 0;             // handed to the server
  std::uint64_t refused_total = 0;        // closed at the total cap
  std::uint64_t refused_per_address = 0;  // closed at the per-address cap
};

// grpc_server_connections_accepted_total and grpc_server_connections_refused_total{cap=...}.
void write_connection_metrics(PrometheusWriter& writer, const ListenerCounts& counts);

}  // namespace platform
