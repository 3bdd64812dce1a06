// Reading the active machine config out of the state.
#include "controllers/internal/config_transform.h"

#include "resources/config/config.h"
#include "runtime/controller/runtime.h"
#include "runtime/resource/proto_spec.h"

namespace controllers::internal {

std::shared_ptr<const config::MachineConfig> active_config(runtime::controller::Runtime& rt) {
  namespace rc = resources::config;
  auto r = rt.get({std::string(rc::kNamespace), std::string(rc::kMachineConfigType),
                   std::string(rc::kActiveId)});
  if (!r) return nullptr;
  const auto* spec = runtime::resource::spec_as<rc::MachineConfigSpec>(*r);
  if (spec == nullptr) {
    throw config::Error("MachineConfigs config/v1alpha1", {"the spec is not a MachineConfigSpec"});
  }
  return std::make_shared<const config::MachineConfig>(
      config::parse(spec->yaml_marshalled(), "MachineConfigs config/v1alpha1"));
}

}  // namespace controllers::internal
