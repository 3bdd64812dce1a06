// The cluster discovery resource group: namespaces `cluster` and `cluster-raw`, the types
// Affiliates, DiscoveryConfigs, Identities, Infos, Members and their singleton IDs.
#pragma once

#include <string_view>

#include "resources/cluster.pb.h"
#include "runtime/resource/typed.h"

namespace runtime::registry {
class Registry;
}

namespace resources::cluster {

namespace pb = talos::resource::definitions::cluster;
using AffiliateSpec = pb::AffiliateSpec;
using ConfigSpec = pb::ConfigSpec;
using IdentitySpec = pb::IdentitySpec;
using InfoSpec = pb::InfoSpec;
using MemberSpec = pb::MemberSpec;

inline constexpr std::string_view kNamespace = "cluster";
inline constexpr std::string_view kRawNamespace = "cluster-raw";

inline constexpr std::string_view kAffiliateType = "Affiliates.cluster.talos.dev";
inline constexpr std::string_view kConfigType = "DiscoveryConfigs.cluster.talos.dev";
inline constexpr std::string_view kConfigNamespace = "config";  // DiscoveryConfig's default
inline constexpr std::string_view kConfigId = "cluster";
inline constexpr std::string_view kIdentityType = "Identities.cluster.talos.dev";
inline constexpr std::string_view kLocalIdentityId = "local";
inline constexpr std::string_view kInfoType = "Infos.cluster.talos.dev";
inline constexpr std::string_view kInfoId = "current";
inline constexpr std::string_view kMemberType = "Members.cluster.talos.dev";

// Traits: spec, default namespace, type.
using Affiliate = runtime::resource::TypeTraits<AffiliateSpec, kNamespace, kAffiliateType>;
using Config = runtime::resource::TypeTraits<ConfigSpec, kConfigNamespace, kConfigType>;
using Identity = runtime::resource::TypeTraits<IdentitySpec, kNamespace, kIdentityType>;
using Info = runtime::resource::TypeTraits<InfoSpec, kNamespace, kInfoType>;
using Member = runtime::resource::TypeTraits<MemberSpec, kNamespace, kMemberType>;

// Raw affiliate ID prefixes in cluster-raw, one per registry.
inline constexpr std::string_view kRawServicePrefix = "service/";
inline constexpr std::string_view kRawKubernetesPrefix = "k8s/";

void register_cluster_resources(runtime::registry::Registry& registry);

}  // namespace resources::cluster
