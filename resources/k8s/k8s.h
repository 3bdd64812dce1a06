// The Kubernetes resource group discovery touches: Nodename, NodeStatus, APIServerConfig and
// the control plane Endpoint that discovery produces.
#pragma once

#include <string_view>

#include "resources/k8s.pb.h"
#include "runtime/resource/typed.h"

namespace runtime::registry {
class Registry;
}

namespace resources::k8s {

namespace pb = talos::resource::definitions::k8s;
using APIServerConfigSpec = pb::APIServerConfigSpec;
using EndpointSpec = pb::EndpointSpec;
using NodeStatusSpec = pb::NodeStatusSpec;
using NodenameSpec = pb::NodenameSpec;

inline constexpr std::string_view kNamespace = "k8s";
inline constexpr std::string_view kControlPlaneNamespace = "controlplane";
inline constexpr std::string_view kNodenameType = "Nodenames.kubernetes.talos.dev";
inline constexpr std::string_view kNodenameId = "nodename";
inline constexpr std::string_view kNodeStatusType = "NodeStatuses.kubernetes.talos.dev";
inline constexpr std::string_view kEndpointType = "Endpoints.kubernetes.talos.dev";
inline constexpr std::string_view kDiscoveryEndpointId = "discovery";
inline constexpr std::string_view kAPIServerConfigType = "APIServerConfigs.kubernetes.talos.dev";
inline constexpr std::string_view kAPIServerConfigId = "final-kube-apiserver";

// Traits: spec, default namespace, type.
using APIServerConfig = runtime::resource::TypeTraits<APIServerConfigSpec, kControlPlaneNamespace,
                                                      kAPIServerConfigType>;
using Endpoint = runtime::resource::TypeTraits<EndpointSpec, kControlPlaneNamespace, kEndpointType>;
using NodeStatus = runtime::resource::TypeTraits<NodeStatusSpec, kNamespace, kNodeStatusType>;
using Nodename = runtime::resource::TypeTraits<NodenameSpec, kNamespace, kNodenameType>;

void register_k8s_resources(runtime::registry::Registry& registry);

}  // namespace resources::k8s
