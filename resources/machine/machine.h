// Talos runtime resources discovery reads (Talos namespace `runtime`): the reset signal.
#pragma once

#include <string_view>

#include "resources/runtime.pb.h"
#include "runtime/resource/typed.h"

namespace runtime::registry {
class Registry;
}

namespace resources::machine {

using MachineResetSignalSpec = talos::resource::definitions::runtime::MachineResetSignalSpec;

inline constexpr std::string_view kNamespace = "runtime";
inline constexpr std::string_view kResetSignalType = "MachineResetSignals.runtime.talos.dev";
inline constexpr std::string_view kResetSignalId = "machine";

using MachineResetSignal =
    runtime::resource::TypeTraits<MachineResetSignalSpec, kNamespace, kResetSignalType>;

void register_machine_resources(runtime::registry::Registry& registry);

}  // namespace resources::machine
