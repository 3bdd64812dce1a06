// The resource type registry: every built-in group and every plugin declares its namespaces and
// resource types here, through the same call. Declared types get their Namespace and
// ResourceDefinition resources in the state, and typed specs can be decoded from proto bytes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/resource/definition.h"
#include "runtime/resource/resource.h"

namespace google::protobuf {
class Message;
}

namespace runtime::state {
class State;
}

namespace runtime::registry {

struct ResourceType {
  resource::ResourceDefinitionInput definition;
  // A fresh, empty spec message of the type; null for types whose specs stay opaque.
  std::function<std::unique_ptr<google::protobuf::Message>()> new_spec;
  // For a type with a Spec class of its own (one that keeps a parsed form beside its message):
  // the spec from proto bytes, throwing std::invalid_argument when they are not a valid one.
  // Used instead of new_spec when set.
  std::function<resource::SpecPtr(const std::string& proto_bytes)> decode;
};

class Registry {
 public:
  virtual ~Registry() = default;

  // Throws std::invalid_argument for an empty name or a second, different description.
  virtual void add_namespace(std::string_view name, std::string_view description) = 0;
  // Throws std::invalid_argument when the type breaks COSI's naming rules or is declared twice.
  virtual void add_type(ResourceType type) = 0;

  // A typed spec decoded from proto bytes when the type is declared with a message; an
  // OpaqueSpec otherwise. Throws std::invalid_argument when the bytes do not parse.
  virtual resource::SpecPtr decode(std::string_view type, const std::string& proto_bytes,
                                   const std::string& yaml) const = 0;
};

// A Registry that writes the meta resources (owner "meta") into a State as types are added.
// COSI's own meta types (Namespaces, ResourceDefinitions, namespace "meta") come first.
std::unique_ptr<Registry> make_state_registry(state::State& state);

}  // namespace runtime::registry
