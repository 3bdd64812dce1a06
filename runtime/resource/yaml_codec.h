// YAML rendering of specs and metadata, the form talosctl and nodectl print (`-o yaml`, table
// columns) and the wire's yaml_spec. Keys are the fields' json names (camelCase).
#pragma once

#include <string>
#include <string_view>

#include "runtime/resource/resource.h"

namespace google::protobuf {
class Message;
}

namespace runtime::resource {

// Spec message to YAML text. Types with a registered override (register_yaml_codec) use it.
std::string spec_to_yaml(const google::protobuf::Message& spec);

// Parses YAML text into *spec (cleared first). Throws std::invalid_argument naming the field
// on malformed input; *spec is left unchanged in that case.
void spec_from_yaml(std::string_view yaml, google::protobuf::Message* spec);

// Metadata as COSI renders it (its key order, RFC3339 times).
std::string metadata_to_yaml(const Metadata& metadata);

// Parses metadata_to_yaml's form back (RFC3339 times may carry fractions and offsets; absent keys
// keep their defaults). Throws std::invalid_argument naming the key on malformed input.
Metadata metadata_from_yaml(std::string_view yaml);

// `{metadata: ..., spec: ...}` as talosctl prints one resource with -o yaml.
std::string resource_to_yaml(const Resource& resource);

}  // namespace runtime::resource
