// Registration of the runtime group.
#include "resources/machine/machine.h"

#include "resources/internal/resource_type.h"

namespace resources::machine {

void register_machine_resources(runtime::registry::Registry& registry) {
  registry.add_namespace(kNamespace, "Talos runtime.");
  registry.add_type(internal::typed<MachineResetSignal>());
}

}  // namespace resources::machine
