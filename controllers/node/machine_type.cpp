// MachineType config/machine-type from .machine.type (present whenever a v1alpha1 document is).
#include "controllers/internal/config_transform_impl.h"
#include "controllers/node/node_inputs.h"
#include "resources/config/config.h"

namespace controllers::node {

namespace rcfg = resources::config;

std::unique_ptr<runtime::controller::Controller> make_machine_type_controller() {
  return internal::make_transform<rcfg::MachineTypeSpec>({
      "node.MachineTypeController",
      std::string(rcfg::kNamespace),
      std::string(rcfg::kMachineTypeType),
      [](const config::MachineConfig* cfg) {
        std::map<std::string, rcfg::MachineTypeSpec> out;
        if (cfg == nullptr || !cfg->has_v1alpha1) return out;
        rcfg::MachineTypeSpec spec;
        spec.set_machine_type(cfg->machine_type);
        out.emplace(std::string(rcfg::kMachineTypeId), std::move(spec));
        return out;
      },
  });
}

}  // namespace controllers::node
