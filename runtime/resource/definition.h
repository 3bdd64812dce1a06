// COSI meta resources: builders for Namespace and ResourceDefinition resources, with the type-name
// validation and alias computation that COSI's ResourceDefinitionSpec.Fill performs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cosi/v1alpha1/meta.pb.h"
#include "runtime/resource/resource.h"

namespace runtime::resource {

inline constexpr std::string_view kMetaNamespace = "meta";
// Owner the registries pass to Create for meta resources.
inline constexpr std::string_view kMetaOwner = "meta";
inline constexpr std::string_view kNamespaceType = "Namespaces.meta.cosi.dev";
inline constexpr std::string_view kResourceDefinitionType = "ResourceDefinitions.meta.cosi.dev";

struct PrintColumn {
  std::string name;       // table header, upper-cased by the printer
  std::string json_path;  // k8s JSONPath over the spec's YAML, e.g. "{.hostname}"
};

enum class Sensitivity : std::uint8_t { kNonSensitive, kSensitive };

// What a resource type declares about itself; displayType and the alias lists are computed.
struct ResourceDefinitionInput {
  std::string type;  // "Members.cluster.talos.dev": plural CamelCase name, dotted suffix
  std::string default_namespace;
  std::vector<std::string> aliases;  // explicit ones; they come before the automatic ones
  std::vector<PrintColumn> print_columns;
  Sensitivity sensitivity = Sensitivity::kNonSensitive;
  bool skip_automatic_aliases = false;  // not on the wire: only shapes the computed aliases
};

// Validates input.type and computes displayType, aliases and allAliases as COSI does. Throws
// std::invalid_argument naming the type and the broken rule.
cosi::resource::meta::ResourceDefinitionSpec fill_resource_definition(
    const ResourceDefinitionInput& input);

// The id of a type's ResourceDefinition: the lowercased type.
std::string resource_definition_id(std::string_view type);

// meta/ResourceDefinitions.meta.cosi.dev/<lowercased type>, version undefined, ProtoSpec over the
// filled spec. Throws like fill_resource_definition.
Resource make_resource_definition(const ResourceDefinitionInput& input);

// meta/Namespaces.meta.cosi.dev/<name>. Throws std::invalid_argument on an empty name.
Resource make_namespace(std::string_view name, std::string_view description);

// The definitions COSI registers for its own meta types.
ResourceDefinitionInput namespace_definition();
ResourceDefinitionInput resource_definition_definition();

}  // namespace runtime::resource
