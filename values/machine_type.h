// Talos machine types as text: "unknown", "init", "controlplane", "worker".
#pragma once

#include <optional>
#include <string_view>

#include "resources/enums.pb.h"

namespace values {

using MachineType = talos::resource::definitions::enums::MachineType;

std::string_view machine_type_text(MachineType type);

// Talos's machine.ParseType: "" and "join" mean worker; null for anything else unknown.
std::optional<MachineType> parse_machine_type(std::string_view text);

inline bool is_control_plane(MachineType type) {
  return type == talos::resource::definitions::enums::TYPE_INIT ||
         type == talos::resource::definitions::enums::TYPE_CONTROL_PLANE;
}

}  // namespace values
