// The Kubernetes registry's mapping between an affiliate and a Node: the annotations a node
// writes on its own Node, and the affiliate another node reads back from them. Both directions
// follow Talos's Kubernetes registry, so Talos nodes and ours can share one cluster's Nodes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kubernetes/node.h"
#include "kubernetes/node_annotator.h"
#include "resources/cluster/cluster.h"

namespace controllers::cluster {

inline constexpr std::string_view kNodeIdAnnotation = "cluster.talos.dev/node-id";
inline constexpr std::string_view kSelfIpsAnnotation = "networking.talos.dev/self-ips";
inline constexpr std::string_view kApiServerPortAnnotation = "networking.talos.dev/api-server-port";
inline constexpr std::string_view kKubeSpanIpAnnotation = "networking.talos.dev/kubespan-ip";
inline constexpr std::string_view kKubeSpanPublicKeyAnnotation =
    "networking.talos.dev/kubespan-public-key";
inline constexpr std::string_view kAssignedPrefixesAnnotation =
    "networking.talos.dev/assigned-prefixes";
inline constexpr std::string_view kKubeSpanEndpointsAnnotation =
    "networking.talos.dev/kubespan-endpoints";
inline constexpr std::string_view kExcludeAdvertisedNetworksAnnotation =
    "networking.talos.dev/kubespan-exclude-advertised-networks";
inline constexpr std::string_view kControlPlaneLabel = "node-role.kubernetes.io/control-plane";

// Every annotation of the registry for the affiliate `id`: lists joined with ",", the API
// server port only for a control plane. An empty value is nullopt: the annotation is removed.
kubernetes::Annotations annotations_from_affiliate(std::string_view id,
                                                   const resources::cluster::AffiliateSpec& spec);

// The affiliate a Node describes; nullopt when it has no node-id annotation (not a member of
// cluster discovery). Items of a list annotation that do not parse are skipped; an unparsable
// KubeSpan address is left unset. The machine type comes from the control-plane label (a Node
// cannot say "init"), the hostname from the first Hostname address, the OS from the node info.
std::optional<resources::cluster::AffiliateSpec> affiliate_from_node(const kubernetes::Node& node);

}  // namespace controllers::cluster
