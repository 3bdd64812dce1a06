// YAML shaping shared by the resource groups: render specs the way Go's yaml.v3 renders Talos's
// structs (every field present unless the Go tag says omitempty) and the enum texts Talos prints.
#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

namespace google::protobuf {
class Descriptor;
}

namespace resources::internal {

struct FieldKey {
  std::string_view field;  // proto field name
  std::string_view key;    // Talos's YAML key
};

// Every field of `type` renders even when empty, except the `omitempty` ones; `keys` rename.
void render_like_go(const google::protobuf::Descriptor* type,
                    std::initializer_list<std::string_view> omitempty = {},
                    std::initializer_list<FieldKey> keys = {});

// Texts of the enums in resources/enums.proto (idempotent).
void register_enum_texts();

}  // namespace resources::internal
