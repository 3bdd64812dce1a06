// Transforms of the machine config (Talos's config-driven controllers): the config is the only
// input, and the outputs are a function of it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "config/machine_config.h"
#include "resources/config/config.h"
#include "runtime/controller/transform.h"

namespace controllers::internal {

// The config the node runs with, parsed and validated when it was stored; null when there is
// none.
std::shared_ptr<const config::MachineConfig> active_config(runtime::controller::Runtime& rt);

// The input on the config the node runs with.
runtime::controller::Input active_config_input();

// `map` gets the config (null: none) and returns every output by ID.
template <runtime::resource::ResourceTraits Out>
std::unique_ptr<runtime::controller::Controller> make_config_transform(
    std::string name,
    std::function<
        typename runtime::controller::Transform<Out>::Outputs(const config::MachineConfig* cfg)>
        map,
    std::chrono::milliseconds refresh = {}) {
  runtime::controller::Transform<Out> t;
  t.name = std::move(name);
  t.inputs = {active_config_input()};
  t.map = [map = std::move(map)](runtime::controller::Runtime& rt) {
    return std::optional(map(active_config(rt).get()));
  };
  t.refresh = refresh;
  return runtime::controller::make_transform<Out>(std::move(t));
}

}  // namespace controllers::internal
