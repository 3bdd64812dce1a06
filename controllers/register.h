// One call that registers every built-in controller of cluster discovery's node side.
#pragma once

#include <filesystem>
#include <memory>

#include "controllers/cluster/discovery_service.h"

namespace runtime::controller {
class Engine;
}

namespace controllers {

namespace node {
class HostFacts;
}

struct Dependencies {
  std::filesystem::path state_dir;  // node-identity.yaml, kubespan-identity.yaml live here
  std::shared_ptr<const node::HostFacts> host;  // hostname, addresses, os-release, first MAC
  cluster::DiscoveryServiceOptions discovery_service = {};  // client version, TLS roots
};

// Throws state::Error when a controller conflicts with one already registered.
void register_controllers(runtime::controller::Engine& engine, const Dependencies& deps);

}  // namespace controllers
