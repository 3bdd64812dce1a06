#include "platform/connection_limits.h"

#include "platform/prometheus.h"

namespace platform {

std::size_t connections_within(std::uint64_t descriptor_limit, std::size_t wanted) {
  const std::uint64_t room =
      descriptor_limit > 2048 ? descriptor_limit - 1024 : descriptor_limit / 2;
  if (wanted == 0 || wanted > room) return static_cast<std::size_t>(room);
  return wanted;
}

void write_connection_metrics(PrometheusWriter& writer, const ListenerCounts& counts) {
  writer.metric("grpc_server_connections_accepted_total", "counter",
                "TCP connections handed to the gRPC server.", counts.accepted);
  writer.family("grpc_server_connections_refused_total", "counter",
                "TCP connections closed on arrival, by the cap they would have passed.");
  writer.sample("grpc_server_connections_refused_total", prometheus_label("cap", "total"),
                counts.refused_total);
  writer.sample("grpc_server_connections_refused_total", prometheus_label("cap", "per-address"),
                counts.refused_per_address);
}

}  // namespace platform
