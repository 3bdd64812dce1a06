// Machine type texts, shared by the YAML codec registration, the config parser and the
// discovery wire form.
#include "values/machine_type.h"

#include <utility>

namespace values {

namespace enums = talos::resource::definitions::enums;

namespace {

constexpr std::pair<MachineType, std::string_view> kTexts[] = {
    {enums::TYPE_UNKNOWN, "unknown"},
    {enums::TYPE_INIT, "init"},
    {enums::TYPE_CONTROL_PLANE, "controlplane"},
    {enums::TYPE_WORKER, "worker"},
};

}  // namespace

std::string_view machine_type_text(MachineType type) {
  for (const auto& [known, text] : kTexts) {
    if (known == type) return text;
  }
  return "unknown";
}

std::optional<MachineType> parse_machine_type(std::string_view text) {
  if (text == "join" || text.empty()) return enums::TYPE_WORKER;
  for (const auto& [type, known] : kTexts) {
    if (known == text) return type;
  }
  return std::nullopt;
}

}  // namespace values
