// Reading the active machine config out of the state.
#include "controllers/internal/config_transform.h"

#include "controllers/internal/names.h"
#include "runtime/controller/typed.h"

namespace controllers::internal {

std::shared_ptr<const config::MachineConfig> active_config(runtime::controller::Runtime& rt) {
  auto cfg = runtime::controller::get<rcfg::MachineConfig>(rt, rcfg::kActiveId);
  if (!cfg) return nullptr;
  // Shares the stored resource, which owns the parsed config.
  return {cfg.resource(), &cfg->config()};
}

runtime::controller::Input active_config_input() {
  return runtime::controller::input<rcfg::MachineConfig>(runtime::controller::InputKind::kWeak,
                                                         rcfg::kActiveId);
}

}  // namespace controllers::internal
