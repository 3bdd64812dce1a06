// Builds a registry::ResourceType from a type's traits.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/registry/registry.h"
#include "runtime/resource/typed.h"

namespace resources::internal {

// `aliases` are the type's explicit ones, as Talos declares them (the automatic ones follow).
template <runtime::resource::ResourceTraits T>
runtime::registry::ResourceType typed(
    std::vector<runtime::resource::PrintColumn> columns = {},
    runtime::resource::Sensitivity sensitivity = runtime::resource::Sensitivity::kNonSensitive,
    std::vector<std::string> aliases = {}) {
  runtime::registry::ResourceType t;
  t.definition.type = std::string(T::kType);
  t.definition.default_namespace = std::string(T::kNamespace);
  t.definition.aliases = std::move(aliases);
  t.definition.print_columns = std::move(columns);
  t.definition.sensitivity = sensitivity;
  if constexpr (std::is_base_of_v<runtime::resource::Spec, typename T::Spec>) {
    t.decode = [](const std::string& proto_bytes) { return T::Spec::decode(proto_bytes); };
  } else {
    t.new_spec = [] { return std::make_unique<typename T::Spec>(); };
  }
  return t;
}

}  // namespace resources::internal
