// Shorthand for declaring controller inputs from the resource constants (string_views).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/controller/controller.h"

namespace controllers::internal {

// A weak input on one resource (id) or on every resource of the kind (nullopt).
inline runtime::controller::Input weak_input(std::string_view ns, std::string_view type,
                                             std::optional<std::string_view> id) {
  return runtime::controller::Input{
      std::string(ns), std::string(type),
      id ? std::optional<std::string>(std::string(*id)) : std::nullopt,
      runtime::controller::InputKind::kWeak};
}

}  // namespace controllers::internal
