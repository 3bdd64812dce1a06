// The KubeSpan resource group: Config (from the machine config), Identity (the WireGuard key and
// KubeSpan address), PeerSpec (one per peer, from the affiliates), PeerStatus (written by whatever
// runs WireGuard) and Endpoint (harvested from the statuses).
#pragma once

#include <string_view>

#include "resources/kubespan.pb.h"
#include "runtime/resource/typed.h"

namespace runtime::registry {
class Registry;
}

namespace resources::kubespan {

namespace pb = talos::resource::definitions::kubespan;
using ConfigSpec = pb::ConfigSpec;
using EndpointSpec = pb::EndpointSpec;
using IdentitySpec = pb::IdentitySpec;
using PeerSpecSpec = pb::PeerSpecSpec;
using PeerStatusSpec = pb::PeerStatusSpec;

inline constexpr std::string_view kNamespace = "kubespan";
inline constexpr std::string_view kIdentityType = "KubeSpanIdentities.kubespan.talos.dev";
inline constexpr std::string_view kLocalIdentityId = "local";
inline constexpr std::string_view kConfigType = "KubeSpanConfigs.kubespan.talos.dev";
inline constexpr std::string_view kConfigNamespace = "config";
inline constexpr std::string_view kConfigId = "kubespan";
inline constexpr std::string_view kEndpointType = "KubeSpanEndpoints.kubespan.talos.dev";
inline constexpr std::string_view kPeerSpecType = "KubeSpanPeerSpecs.kubespan.talos.dev";
inline constexpr std::string_view kPeerStatusType = "KubeSpanPeerStatuses.kubespan.talos.dev";

// Traits: spec, default namespace, type.
using Config = runtime::resource::TypeTraits<ConfigSpec, kConfigNamespace, kConfigType>;
using Endpoint = runtime::resource::TypeTraits<EndpointSpec, kNamespace, kEndpointType>;
using Identity = runtime::resource::TypeTraits<IdentitySpec, kNamespace, kIdentityType>;
using PeerSpec = runtime::resource::TypeTraits<PeerSpecSpec, kNamespace, kPeerSpecType>;
using PeerStatus = runtime::resource::TypeTraits<PeerStatusSpec, kNamespace, kPeerStatusType>;

// The WireGuard port endpoints are announced on.
inline constexpr int kPort = 51820;

void register_kubespan_resources(runtime::registry::Registry& registry);

}  // namespace resources::kubespan
