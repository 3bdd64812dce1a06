// The node side of cluster discovery (Talos's cluster controllers), one file each, named after
// what it produces.
#pragma once

#include <filesystem>
#include <string>

#include "runtime/controller/controller.h"

namespace controllers::cluster {

struct DiscoveryServiceOptions;  // discovery_service.h
using runtime::controller::ControllerPtr;

// Identity cluster/local: the node ID kept in <state_dir>/node-identity.yaml.
ControllerPtr make_node_identity_controller(std::filesystem::path state_dir);

// DiscoveryConfig config/cluster from the machine config: normalized service endpoints, the
// decoded cluster key and the registry switches.
ControllerPtr make_config_controller();

// Info cluster/current: the cluster ID and name.
ControllerPtr make_info_controller();

// Affiliate cluster/<nodeId>: what this node announces, from the discovery config, the identity
// and the host inputs. `operating_system` is announced as is (Talos: "Talos (v1.15.0)").
ControllerPtr make_local_affiliate_controller(std::string operating_system);

// One discovery client per configured service: publishes the local affiliate and turns what the
// service sees into cluster-raw `service/<nodeId>` Affiliates.
ControllerPtr make_discovery_service_controller(DiscoveryServiceOptions options);

// The Kubernetes registry (its credentials from the machine config): the local affiliate as
// annotations on this node's Node object ...
ControllerPtr make_kubernetes_push_controller();
// ... and every other annotated Node as a cluster-raw `k8s/<nodeId>` Affiliate.
ControllerPtr make_kubernetes_pull_controller();

// Affiliate cluster/<nodeId>: the raw affiliates of every registry merged per node.
ControllerPtr make_affiliate_merge_controller();

// Member cluster/<nodename>: one per affiliate with a nodename.
ControllerPtr make_member_controller();

// Endpoint controlplane/discovery: the addresses of the control plane members.
ControllerPtr make_endpoint_controller();

}  // namespace controllers::cluster
