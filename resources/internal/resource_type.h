// Builds a registry::ResourceType for a typed spec message.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/registry/registry.h"

namespace resources::internal {

template <class M>
runtime::registry::ResourceType typed(
    std::string_view type, std::string_view ns,
    std::vector<runtime::resource::PrintColumn> columns = {},
    runtime::resource::Sensitivity sensitivity = runtime::resource::Sensitivity::kNonSensitive) {
  runtime::registry::ResourceType t;
  t.definition.type = std::string(type);
  t.definition.default_namespace = std::string(ns);
  t.definition.print_columns = std::move(columns);
  t.definition.sensitivity = sensitivity;
  t.new_spec = [] { return std::make_unique<M>(); };
  return t;
}

}  // namespace resources::internal
