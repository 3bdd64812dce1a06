// Extension points of the YAML codec: custom renderings of whole message types, enum value texts
// and field keys. Code that owns a type registers them at startup, before specs are rendered.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace google::protobuf {
class Message;
}

namespace runtime::resource {

// A message type rendered as one custom YAML value: a scalar (an IP address as "10.0.0.1") or any
// node (ResourceDefinitionSpec). from_yaml gets a cleared message and throws std::invalid_argument
// with a message that does not name the field; the codec prefixes the field path.
struct MessageYamlCodec {
  std::function<YAML::Node(const google::protobuf::Message&)> to_yaml;
  std::function<void(const YAML::Node&, google::protobuf::Message*)> from_yaml;
};

// Keyed by full message name ("common.NetIP"); a later registration replaces an earlier one, and
// a codec without both functions removes it (back to the reflection codec).
void register_yaml_codec(std::string full_message_name, MessageYamlCodec codec);

// Texts of an enum's values, keyed by full enum name. Values not listed render as their lowercased
// proto name (TYPE_WORKER -> "type_worker"), so register every value that Talos spells otherwise.
void register_yaml_enum(std::string full_enum_name, std::vector<std::pair<int, std::string>> texts);

struct YamlFieldOptions {
  std::string key;          // YAML key; empty keeps the json name
  bool keep_empty = false;  // render the field even when it holds the proto3 default
  // A singular bytes field as a sequence of its byte values (how Go's yaml writes a []byte)
  // rather than base64 text.
  bool byte_list = false;
};

// Keyed by full field name ("talos.resource.definitions.cluster.AffiliateSpec.kube_span").
void register_yaml_field(std::string full_field_name, YamlFieldOptions options);

// A scalar that is text: quoted when printed plain it would read as a number, bool or null.
YAML::Node yaml_text(std::string_view text);

}  // namespace runtime::resource
