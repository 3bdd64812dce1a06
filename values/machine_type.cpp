// Machine type texts, shared by the YAML codec registration, the config parser and the
// discovery wire form.
#include "values/machine_type.h"

namespace values {

namespace enums = talos::resource::definitions::enums;

std::string_view machine_type_text(MachineType type) {
  switch (type) {
    case enums::TYPE_INIT:
      return "init";
    case enums::TYPE_CONTROL_PLANE:
      return "controlplane";
    case enums::TYPE_WORKER:
      return "worker";
    default:
      return "unknown";
  }
}

std::optional<MachineType> parse_machine_type(std::string_view text) {
  if (text == "init") return enums::TYPE_INIT;
  if (text == "controlplane") return enums::TYPE_CONTROL_PLANE;
  if (text == "worker" || text == "join" || text.empty()) return enums::TYPE_WORKER;
  if (text == "unknown") return enums::TYPE_UNKNOWN;
  return std::nullopt;
}

}  // namespace values
