// NodeAddress network/routed-no-k8s and current-no-k8s: the HostConfig address list, else the
// host's interface addresses. A generic host has no Kubernetes-only addresses to exclude, so
// both sets are the same.
#include "controllers/internal/config_transform_impl.h"
#include "controllers/node/host_facts.h"
#include "controllers/node/node_inputs.h"
#include "resources/network/network.h"
#include "values/net.h"

namespace controllers::node {

namespace rn = resources::network;

std::unique_ptr<runtime::controller::Controller> make_node_address_controller(
    std::shared_ptr<const HostFacts> host, std::chrono::milliseconds refresh) {
  return internal::make_transform<rn::NodeAddressSpec>({
      "node.NodeAddressController",
      std::string(rn::kNamespace),
      std::string(rn::kNodeAddressType),
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
        return std::map<std::string, rn::NodeAddressSpec>{
            {std::string(rn::kRoutedNoK8sId), spec}, {std::string(rn::kCurrentNoK8sId), spec}};
      },
      refresh,
  });
}

}  // namespace controllers::node
