// The shape shared by the controllers that derive resources from the machine config (Talos's
// transform controllers): read config/MachineConfigs v1alpha1, compute the outputs, write them,
// destroy the owned ones no longer produced.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "config/machine_config.h"
#include "runtime/controller/controller.h"

namespace controllers::internal {

// The config the node runs with, parsed; null when there is none. Throws config::Error when the
// stored text does not parse (machined validates before storing, so this is a bug or a foreign
// writer; the controller retries with backoff).
std::shared_ptr<const config::MachineConfig> active_config(runtime::controller::Runtime& rt);

template <class Spec>
struct Transform {
  std::string name;  // controller name
  std::string ns;    // output namespace
  std::string type;  // output type
  // Outputs by ID from the config (null: no config). An empty map destroys every owned output.
  std::function<std::map<std::string, Spec>(const config::MachineConfig*)> outputs;
  // Also recompute this often (zero: only when the config changes), for outputs that fall back
  // to host facts, which change without telling anyone (DHCP, hostnamectl). No-op writes are
  // skipped, so an unchanged host costs one read per period.
  std::chrono::milliseconds refresh{0};
};

template <class Spec>
std::unique_ptr<runtime::controller::Controller> make_transform(Transform<Spec> t);

}  // namespace controllers::internal
