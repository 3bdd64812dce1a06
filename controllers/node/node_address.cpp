// NodeAddress network/routed-no-k8s and current-no-k8s: the HostConfig address list, else the
// host's interface addresses. A generic host has no Kubernetes-only addresses to exclude, so
// both sets are the same.
#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "controllers/node/host_facts.h"
#include "controllers/node/node_inputs.h"
#include "resources/network/network.h"
#include "values/net.h"

namespace controllers::node {

runtime::controller::ControllerPtr make_node_address_controller(
    std::shared_ptr<const HostFacts> host, std::chrono::milliseconds refresh) {
  return internal::make_config_transform<rn::NodeAddress>(
      "node.NodeAddressController",
      [host](const config::MachineConfig* cfg) {
        rn::NodeAddressSpec spec;
        if (cfg != nullptr && cfg->addresses) {
          for (const auto& a : *cfg->addresses) *spec.add_addresses() = values::net::prefix(a);
        } else {
          for (const auto& a : host->addresses()) {
            auto* p = spec.add_addresses();
            p->set_ip(a.ip);
            p->set_prefix_length(a.prefix_length);
          }
        }
        return runtime::controller::Transform<rn::NodeAddress>::Outputs{
            {std::string(rn::kRoutedNoK8sId), spec}, {std::string(rn::kCurrentNoK8sId), spec}};
      },
      refresh);
}

}  // namespace controllers::node
