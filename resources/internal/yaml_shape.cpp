// YAML field and enum registrations for Talos's rendering.
#include "resources/internal/yaml_shape.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <string>

#include "resources/enums.pb.h"
#include "runtime/resource/yaml_registry.h"
#include "values/machine_type.h"

namespace resources::internal {

namespace enums = talos::resource::definitions::enums;
using runtime::resource::register_yaml_enum;

void render_like_go(const google::protobuf::Descriptor* type,
                    std::initializer_list<std::string_view> omitempty,
                    std::initializer_list<FieldKey> keys) {
  for (int i = 0; i < type->field_count(); ++i) {
    const auto* f = type->field(i);
    runtime::resource::YamlFieldOptions opts;
    opts.keep_empty = std::find(omitempty.begin(), omitempty.end(), f->name()) == omitempty.end();
    // Go's yaml writes a []byte as a list of byte values.
    opts.byte_list =
        f->type() == google::protobuf::FieldDescriptor::TYPE_BYTES && !f->is_repeated();
    for (const auto& k : keys) {
      if (k.field == f->name()) opts.key = std::string(k.key);
    }
    runtime::resource::register_yaml_field(std::string(f->full_name()), std::move(opts));
  }
}

void register_enum_texts() {
  std::vector<std::pair<int, std::string>> types;
  for (auto t : {enums::TYPE_UNKNOWN, enums::TYPE_INIT, enums::TYPE_CONTROL_PLANE,
                 enums::TYPE_WORKER}) {
    types.emplace_back(t, std::string(values::machine_type_text(t)));
  }
  register_yaml_enum(std::string(enums::MachineType_descriptor()->full_name()), std::move(types));
  register_yaml_enum(std::string(enums::NethelpersAddressSortAlgorithm_descriptor()->full_name()),
                     {{enums::ADDRESS_SORT_ALGORITHM_V1, "v1"},
                      {enums::ADDRESS_SORT_ALGORITHM_V2, "v2"}});
  register_yaml_enum(std::string(enums::NethelpersFamily_descriptor()->full_name()),
                     {{enums::FAMILY_UNSPECIFIED, "unspecified"},
                      {enums::FAMILY_INET4, "inet4"},
                      {enums::FAMILY_INET6, "inet6"}});
  register_yaml_enum(std::string(enums::NethelpersScope_descriptor()->full_name()),
                     {{enums::SCOPE_GLOBAL, "global"},
                      {enums::SCOPE_SITE, "site"},
                      {enums::SCOPE_LINK, "link"},
                      {enums::SCOPE_HOST, "host"},
                      {enums::SCOPE_NOWHERE, "nowhere"}});
}

}  // namespace resources::internal
