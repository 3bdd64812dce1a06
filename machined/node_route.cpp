#include "machined/node_route.h"

#include <charconv>

#include "values/list.h"

namespace machined {
namespace {

constexpr int kDefaultApiPort = 50000;

struct HostPort {
  std::string host;
  int port = 0;  // 0: none given
};

// "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address.
HostPort split(std::string_view node) {
  if (node.starts_with('[')) {
    const auto close = node.find(']');
    if (close == std::string_view::npos) return {std::string(node), 0};
    HostPort out{std::string(node.substr(1, close - 1)), 0};
    if (close + 1 < node.size() && node[close + 1] == ':') {
      const auto digits = node.substr(close + 2);
      std::from_chars(digits.data(), digits.data() + digits.size(), out.port);
    }
    return out;
  }
  const auto colon = node.find(':');
  if (colon == std::string_view::npos || node.find(':', colon + 1) != std::string_view::npos) {
    return {std::string(node), 0};  // no port, or an IPv6 address without brackets
  }
  HostPort out{std::string(node.substr(0, colon)), 0};
  const auto digits = node.substr(colon + 1);
  std::from_chars(digits.data(), digits.data() + digits.size(), out.port);
  return out;
}

// A key's values, each also split at commas (HTTP/2 may join repeated headers so).
std::vector<std::string> values_of(const std::multimap<std::string, std::string>& metadata,
                                   const std::string& key) {
  std::vector<std::string> out;
  for (auto [it, end] = metadata.equal_range(key); it != end; ++it) {
    for (auto& item : values::split_list(it->second)) out.push_back(std::move(item));
  }
  return out;
}

NodeRoute refused(grpc::StatusCode code, std::string message) {
  return {NodeRoute::Kind::kRefused, {}, grpc::Status(code, std::move(message))};
}

}  // namespace

bool is_self(std::string_view node, const NodeSelf& self) {
  const auto hp = split(node);
  return self.hosts.contains(hp.host) && (hp.port == 0 || hp.port == self.port);
}

std::string node_address(std::string_view node) {
  const auto hp = split(node);
  const int port = hp.port == 0 ? kDefaultApiPort : hp.port;
  const bool v6 = hp.host.find(':') != std::string::npos;
  return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(port);
}

NodeRoute route_request(std::string_view method,
                        const std::multimap<std::string, std::string>& metadata,
                        const NodeSelf& self, bool forwarding) {
  // Forwarded once already: the hop limit, so that no loop is possible.
  if (metadata.contains("proxyfrom")) return {};
  const auto nodes = values_of(metadata, "nodes");
  if (!nodes.empty()) {
    if (!method.starts_with("/machine.MachineService/")) {
      return refused(grpc::StatusCode::INVALID_ARGUMENT,
                     "one-to-many proxying is not supported for " + std::string(method) +
                         ": use the node key (one node per request)");
    }
    if (!forwarding) {
      return refused(grpc::StatusCode::PERMISSION_DENIED,
                     "this node does not forward requests to other nodes (--api-insecure)");
    }
    return {NodeRoute::Kind::kMany, nodes, {}};
  }
  const auto node = values_of(metadata, "node");
  if (node.size() > 1) {
    return refused(grpc::StatusCode::INVALID_ARGUMENT,
                   "several values for the node key: use nodes for one-to-many");
  }
  if (node.empty() || is_self(node.front(), self)) return {};
  if (!forwarding) {
    return refused(grpc::StatusCode::PERMISSION_DENIED,
                   "node " + node.front() +
                       ": this node does not forward requests to other nodes (--api-insecure)");
  }
  return {NodeRoute::Kind::kOne, node, {}};
}

}  // namespace machined
