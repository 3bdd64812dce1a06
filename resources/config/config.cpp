// Registration of the config group. MachineConfig renders as its YAML text and MachineType as
// its bare type text, as talosctl shows them.
#include "resources/config/config.h"

#include <yaml-cpp/yaml.h>

#include <stdexcept>

#include "config/machine_config.h"
#include "resources/internal/resource_type.h"
#include "resources/internal/yaml_shape.h"
#include "runtime/resource/yaml_codec.h"
#include "runtime/resource/yaml_registry.h"
#include "values/machine_type.h"

namespace resources::config {
namespace {

using google::protobuf::Message;
using runtime::resource::MessageYamlCodec;

MessageYamlCodec machine_config_codec() {
  return {
      [](const Message& m) {
        return YAML::Node(static_cast<const pb::MachineConfigSpec&>(m).yaml_marshalled());
      },
      [](const YAML::Node& n, Message* m) {
        if (!n.IsScalar()) throw std::invalid_argument("expected the config text");
        static_cast<pb::MachineConfigSpec*>(m)->set_yaml_marshalled(n.Scalar());
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

pb::MachineConfigSpec message_of(const MachineConfigSpec& spec) {
  pb::MachineConfigSpec m;
  m.set_yaml_marshalled(spec.text());
  return m;
}

}  // namespace

std::shared_ptr<const MachineConfigSpec> MachineConfigSpec::parse(std::string text,
                                                                  std::string_view source) {
  auto cfg = std::make_shared<const ::config::MachineConfig>(::config::parse(text, source));
  return std::make_shared<const MachineConfigSpec>(std::move(text), std::move(cfg));
}

std::shared_ptr<const MachineConfigSpec> MachineConfigSpec::decode(const std::string& proto_bytes) {
  pb::MachineConfigSpec m;
  if (!m.ParseFromString(proto_bytes)) {
    throw std::invalid_argument("spec of type \"" + std::string(kMachineConfigType) +
                                "\" is not a valid " + m.GetTypeName());
  }
  try {
    return parse(m.yaml_marshalled(), kMachineConfigType);
  } catch (const ::config::Error& e) {
    throw std::invalid_argument(e.what());
  }
}

std::string MachineConfigSpec::proto_bytes() const { return message_of(*this).SerializeAsString(); }

std::string MachineConfigSpec::yaml() const {
  return runtime::resource::spec_to_yaml(message_of(*this));
}

bool MachineConfigSpec::equals(const runtime::resource::Spec& other) const {
  const auto* o = dynamic_cast<const MachineConfigSpec*>(&other);
  return o != nullptr && o->text_ == text_;
}

void register_config_namespace(runtime::registry::Registry& registry) {
  registry.add_namespace(kNamespace, kNamespaceDescription);
}

void register_config_resources(runtime::registry::Registry& registry) {
  runtime::resource::register_yaml_codec(
      std::string(pb::MachineConfigSpec::descriptor()->full_name()), machine_config_codec());
  runtime::resource::register_yaml_codec(std::string(MachineTypeSpec::descriptor()->full_name()),
                                         machine_type_codec());
  register_config_namespace(registry);
  // The machine config holds the cluster secret.
  registry.add_type(internal::typed<MachineConfig>({}, runtime::resource::Sensitivity::kSensitive));
  // The spec is a bare scalar (`controlplane`), so Talos's one column is the whole spec.
  registry.add_type(internal::typed<MachineType>({{"Type", "{@}"}}));
}

}  // namespace resources::config
