// Typed read of one input resource by its pointer parts (string_view constants).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/controller/runtime.h"
#include "runtime/resource/proto_spec.h"

namespace controllers::internal {

// A copy of the spec; nullopt when the resource is absent or holds another spec type.
template <class M>
std::optional<M> get_spec(runtime::controller::Runtime& rt, std::string_view ns,
                          std::string_view type, std::string_view id) {
  auto r = rt.get(runtime::resource::Pointer{std::string(ns), std::string(type), std::string(id)});
  if (!r) return std::nullopt;
  const M* spec = runtime::resource::spec_as<M>(*r);
  if (spec == nullptr) return std::nullopt;
  return *spec;
}

}  // namespace controllers::internal
