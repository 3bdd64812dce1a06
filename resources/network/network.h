// The network resource group discovery reads: HostnameStatus, NodeAddress, AddressStatus.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "resources/network.pb.h"
#include "runtime/resource/typed.h"

namespace runtime::registry {
class Registry;
}

namespace resources::network {

namespace pb = talos::resource::definitions::network;
using AddressStatusSpec = pb::AddressStatusSpec;
using HostnameStatusSpec = pb::HostnameStatusSpec;
using NodeAddressSpec = pb::NodeAddressSpec;

inline constexpr std::string_view kNamespace = "network";
inline constexpr std::string_view kHostnameStatusType = "HostnameStatuses.net.talos.dev";
inline constexpr std::string_view kHostnameId = "hostname";
inline constexpr std::string_view kNodeAddressType = "NodeAddresses.net.talos.dev";
inline constexpr std::string_view kRoutedNoK8sId = "routed-no-k8s";
inline constexpr std::string_view kCurrentNoK8sId = "current-no-k8s";
inline constexpr std::string_view kAddressStatusType = "AddressStatuses.net.talos.dev";

// Traits: spec, default namespace, type.
using AddressStatus =
    runtime::resource::TypeTraits<AddressStatusSpec, kNamespace, kAddressStatusType>;
using HostnameStatus =
    runtime::resource::TypeTraits<HostnameStatusSpec, kNamespace, kHostnameStatusType>;
using NodeAddress = runtime::resource::TypeTraits<NodeAddressSpec, kNamespace, kNodeAddressType>;

// hostname, or hostname.domainname when a domain is set.
std::string fqdn(const HostnameStatusSpec& spec);

// The addresses without prefix lengths, duplicates removed, order kept (IP bytes).
std::vector<std::string> ips(const NodeAddressSpec& spec);

void register_network_resources(runtime::registry::Registry& registry);

}  // namespace resources::network
