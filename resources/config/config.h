// The node configuration resource group: namespace `config`, the loaded machine config
// (MachineConfigs config/v1alpha1) and the machine type (MachineTypes config/machine-type).
#pragma once

#include <string_view>

#include "resources/config.pb.h"

namespace runtime::registry {
class Registry;
}

namespace resources::config {

namespace pb = talos::resource::definitions::config;
using MachineConfigSpec = pb::MachineConfigSpec;
using MachineTypeSpec = pb::MachineTypeSpec;

inline constexpr std::string_view kNamespace = "config";
inline constexpr std::string_view kNamespaceDescription = "Talos node configuration.";
inline constexpr std::string_view kMachineConfigType = "MachineConfigs.config.talos.dev";
inline constexpr std::string_view kActiveId = "v1alpha1";  // the config the node runs with
inline constexpr std::string_view kMachineTypeType = "MachineTypes.config.talos.dev";
inline constexpr std::string_view kMachineTypeId = "machine-type";

// Declares namespace `config` (shared by the groups whose types default to it).
void register_config_namespace(runtime::registry::Registry& registry);

void register_config_resources(runtime::registry::Registry& registry);

}  // namespace resources::config
