// The node configuration resource group: namespace `config`, the loaded machine config
// (MachineConfigs config/v1alpha1) and the machine type (MachineTypes config/machine-type).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "resources/config.pb.h"
#include "runtime/resource/typed.h"

namespace config {
struct MachineConfig;
}

namespace runtime::registry {
class Registry;
}

namespace resources::config {

namespace pb = talos::resource::definitions::config;
using MachineTypeSpec = pb::MachineTypeSpec;

// The machine config the node runs with, as Talos keeps it in its MachineConfig resource: the text
// the operator wrote (what the wire carries, as Talos's MachineConfigSpec.yaml_marshalled) and the
// config parsed and validated once, which controllers read without parsing it again.
class MachineConfigSpec final : public runtime::resource::Spec {
 public:
  // Parses and validates `text`; `source` names it in errors. Throws ::config::Error.
  static std::shared_ptr<const MachineConfigSpec> parse(std::string text, std::string_view source);
  // From the wire (Talos's MachineConfigSpec message). Throws std::invalid_argument when the
  // bytes or the config they hold are not valid, so a bad write changes nothing.
  static std::shared_ptr<const MachineConfigSpec> decode(const std::string& proto_bytes);

  const ::config::MachineConfig& config() const { return *config_; }
  const std::string& text() const { return text_; }

  std::string proto_bytes() const override;
  std::string yaml() const override;
  bool equals(const runtime::resource::Spec& other) const override;

  // Use parse().
  MachineConfigSpec(std::string text, std::shared_ptr<const ::config::MachineConfig> config)
      : text_(std::move(text)), config_(std::move(config)) {}

 private:
  std::string text_;
  std::shared_ptr<const ::config::MachineConfig> config_;
};

inline constexpr std::string_view kNamespace = "config";
inline constexpr std::string_view kNamespaceDescription = "Talos node configuration.";
inline constexpr std::string_view kMachineConfigType = "MachineConfigs.config.talos.dev";
inline constexpr std::string_view kActiveId = "v1alpha1";  // the config the node runs with
inline constexpr std::string_view kMachineTypeType = "MachineTypes.config.talos.dev";
inline constexpr std::string_view kMachineTypeId = "machine-type";

// Traits: spec, default namespace, type.
using MachineConfig =
    runtime::resource::TypeTraits<MachineConfigSpec, kNamespace, kMachineConfigType>;
using MachineType = runtime::resource::TypeTraits<MachineTypeSpec, kNamespace, kMachineTypeType>;

// Declares namespace `config` (shared by the groups whose types default to it).
void register_config_namespace(runtime::registry::Registry& registry);

void register_config_resources(runtime::registry::Registry& registry);

}  // namespace resources::config
