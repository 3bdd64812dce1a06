// machined's TCP API is a proxy, as Talos's apid is: every call is authenticated (the caller's
// roles), routed by its `node`/`nodes` metadata (machined/node_route.h), and passed on as bytes,
// to this node's own services in process or to another node's API over mutual TLS with this
// node's certificate. The services behind it read the caller's roles from `talos-role` metadata,
// which the proxy always sets itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "machined/node_route.h"
#include "runtime/api/roles.h"

namespace grpc {
class CallbackGenericService;
class Channel;
}  // namespace grpc

namespace machined {

// This node's identity towards its peers.
struct PeerCredentials {
  std::string ca_pem;    // the OS CA the peers' certificates must chain to
  std::string cert_pem;  // this node's certificate (os:impersonator)
  std::string key_pem;
};

// Calls by route, for the metrics.
struct ApiCallCounts {
  std::uint64_t local = 0;        // served by this node
  std::uint64_t node = 0;         // forwarded to one other node
  std::uint64_t nodes = 0;        // one-to-many
  std::uint64_t refused = 0;      // routing refused (bad metadata, forwarding off)
  std::uint64_t unreachable = 0;  // other nodes that did not answer (per node asked)
};

class ApiCallStats {
 public:
  ApiCallCounts counts() const;

  std::atomic<std::uint64_t> local{0};
  std::atomic<std::uint64_t> node{0};
  std::atomic<std::uint64_t> nodes{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> unreachable{0};
};

struct ApiProxyOptions {
  std::shared_ptr<const runtime::api::Authenticator> authenticator;  // the callers' roles
  std::shared_ptr<grpc::Channel> local;                              // this node's services
  NodeSelf self;
  std::optional<PeerCredentials> peers;  // null: requests for other nodes are refused
  std::shared_ptr<ApiCallStats> stats;   // counted into; never null
};

std::unique_ptr<grpc::CallbackGenericService> make_api_proxy(ApiProxyOptions options);

}  // namespace machined
