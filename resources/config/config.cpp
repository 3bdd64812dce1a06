// Registration of the config group. MachineConfig renders as its YAML text and MachineType as
// its bare type text, as talosctl shows them.
#include "resources/config/config.h"

#include <yaml-cpp/yaml.h>

#include <stdexcept>

#include "resources/internal/resource_type.h"
#include "resources/internal/yaml_shape.h"
#include "runtime/resource/yaml_registry.h"
#include "values/machine_type.h"

namespace resources::config {
namespace {

using google::protobuf::Message;
using runtime::resource::MessageYamlCodec;

MessageYamlCodec machine_config_codec() {
  return {
      [](const Message& m) {
        return YAML::Node(static_cast<const MachineConfigSpec&>(m).yaml_marshalled());
      },
      [](const YAML::Node& n, Message* m) {
        if (!n.IsScalar()) throw std::invalid_argument("expected the config text");
        static_cast<MachineConfigSpec*>(m)->set_yaml_marshalled(n.Scalar());
      },
  };
}

MessageYamlCodec machine_type_codec() {
  return {
      [](const Message& m) {
        return runtime::resource::yaml_text(
            values::machine_type_text(static_cast<const MachineTypeSpec&>(m).machine_type()));
      },
      [](const YAML::Node& n, Message* m) {
        auto type = n.IsScalar() ? values::parse_machine_type(n.Scalar()) : std::nullopt;
        if (!type) throw std::invalid_argument("expected a machine type");
        static_cast<MachineTypeSpec*>(m)->set_machine_type(*type);
      },
  };
}

}  // namespace

void register_config_namespace(runtime::registry::Registry& registry) {
  registry.add_namespace(kNamespace, kNamespaceDescription);
}

void register_config_resources(runtime::registry::Registry& registry) {
  runtime::resource::register_yaml_codec(std::string(MachineConfigSpec::descriptor()->full_name()),
                                         machine_config_codec());
  runtime::resource::register_yaml_codec(std::string(MachineTypeSpec::descriptor()->full_name()),
                                         machine_type_codec());
  register_config_namespace(registry);
  // The machine config holds the cluster secret.
  registry.add_type(internal::typed<MachineConfigSpec>(kMachineConfigType, kNamespace, {},
                                                       runtime::resource::Sensitivity::kSensitive));
  registry.add_type(internal::typed<MachineTypeSpec>(kMachineTypeType, kNamespace));
}

}  // namespace resources::config
