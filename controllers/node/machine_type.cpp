// MachineType config/machine-type from .machine.type (present whenever a v1alpha1 document is).
#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "controllers/node/node_inputs.h"
#include "resources/config/config.h"

namespace controllers::node {

runtime::controller::ControllerPtr make_machine_type_controller() {
  return internal::make_config_transform<rcfg::MachineType>(
      "node.MachineTypeController", [](const config::MachineConfig* cfg) {
        runtime::controller::Transform<rcfg::MachineType>::Outputs out;
        if (cfg == nullptr || !cfg->has_v1alpha1) return out;
        rcfg::MachineTypeSpec spec;
        spec.set_machine_type(cfg->machine_type);
        out.emplace(rcfg::kMachineTypeId, std::move(spec));
        return out;
      });
}

}  // namespace controllers::node
