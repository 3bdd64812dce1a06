// Where nodectl talks to machined: its unix socket (read-write API); its TCP API with mutual TLS,
// credentials from a talosconfig as talosctl uses them; or, with --insecure, its TCP API without
// verifying the certificate or presenting one, as talosctl --insecure does (read-only).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nodectl/app.h"

namespace grpc {
class Channel;
}

namespace nodectl {

struct Credentials {
  std::string ca_pem;   // the OS CA the node's certificate must chain to
  std::string crt_pem;  // the client certificate, its roles in its Organization
  std::string key_pem;
};

struct Target {
  std::string socket = kDefaultSocket;
  std::string endpoint;  // host[:port] dialled; when set, used instead of the socket
  // Dialled in turn when `endpoint` cannot be reached, as talosctl uses every endpoint of its
  // context; the node is then named in the metadata, so whichever endpoint answers routes to it.
  std::vector<std::string> fallback_endpoints;
  // The node that answers, named in each call's `node` metadata for the endpoint to route it;
  // empty: the endpoint itself.
  std::string target_node;
  // With an endpoint: null is --insecure.
  std::optional<Credentials> credentials;

  // The NODE column: the node, or empty for the local socket.
  std::string node() const { return target_node.empty() ? endpoint : target_node; }
};

// The global connection flags, as given.
struct ConnectionFlags {
  std::string socket = kDefaultSocket;
  std::filesystem::path talosconfig;  // empty: $TALOSCONFIG or ~/.talos/config
  std::string context;                // empty: the talosconfig's current context
  std::vector<std::string> endpoints;
  std::vector<std::string> nodes;
  bool insecure = false;
};

// The nodes the flags name, one Target each. No endpoint, node or talosconfig given (flag or
// $TALOSCONFIG): the socket. --insecure: each node (or endpoint) itself, unverified, as talosctl
// --insecure. Otherwise the talosconfig's context, its endpoints and nodes replaced by the
// flags': each node through the first endpoint that can be reached (the node itself when there
// is none), which routes the request to it; with no node, each endpoint. Throws
// std::runtime_error saying what is missing.
std::vector<Target> resolve_targets(const ConnectionFlags& flags);

// The TCP port is 50000 unless the endpoint names one. Every call carries `node` metadata when the
// target names a node. With fallback endpoints, the first that connects within 5 s (a refused
// connection or failed handshake moves on at once); when none does, the first endpoint, so that
// its error is the one reported.
std::shared_ptr<grpc::Channel> channel_for(const Target& target);

}  // namespace nodectl
