// Where a request to machined's TCP API goes, decided from its gRPC metadata as Talos's apid
// decides it: no `node` (or a `node` that is this node, or a request another node already
// forwarded, marked `proxyfrom`) is served here; `node: X` goes to X's API; `nodes: A,B`
// (one-to-many) goes to each, for MachineService calls only (COSI cannot be used one-to-many).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "grpcpp/support/status.h"

namespace machined {

// This node as requests name it.
struct NodeSelf {
  std::set<std::string> hosts;  // names and IP addresses (text) that are this node
  int port = 0;                 // the API port; a node named with another port is another node
};

struct NodeRoute {
  enum class Kind : std::uint8_t { kLocal, kOne, kMany, kRefused };
  Kind kind = Kind::kLocal;
  std::vector<std::string> nodes;  // kOne: one; kMany: each, in request order
  grpc::Status refusal;            // kRefused
};

// `metadata` is the request's (key, value) pairs; `forwarding` false refuses every other node
// (the insecure mode, as Talos's maintenance mode disables node routing).
NodeRoute route_request(std::string_view method,
                        const std::multimap<std::string, std::string>& metadata,
                        const NodeSelf& self, bool forwarding);

// Whether `node` ("host", "host:port", "[v6]:port") is this node.
bool is_self(std::string_view node, const NodeSelf& self);

// "host:port" to dial for `node`: Talos's API port 50000 when it names none.
std::string node_address(std::string_view node);

}  // namespace machined
