// Nodename k8s/nodename: the HostConfig nodename, else the short hostname (as the kubelet
// registers it by default).
#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "controllers/node/host_facts.h"
#include "controllers/node/node_inputs.h"
#include "resources/k8s/k8s.h"

namespace controllers::node {

runtime::controller::ControllerPtr make_nodename_controller(std::shared_ptr<const HostFacts> host,
                                                            std::chrono::milliseconds refresh) {
  return internal::make_config_transform<rk::Nodename>(
      "node.NodenameController",
      [host](const config::MachineConfig* cfg) {
        runtime::controller::Transform<rk::Nodename>::Outputs out;
        std::string name;
        if (cfg != nullptr) name = !cfg->nodename.empty() ? cfg->nodename : cfg->hostname;
        if (name.empty()) name = host->hostname();
        if (cfg == nullptr || cfg->nodename.empty()) name = name.substr(0, name.find('.'));
        if (name.empty()) return out;
        rk::NodenameSpec spec;
        spec.set_nodename(name);
        out.emplace(rk::kNodenameId, std::move(spec));
        return out;
      },
      refresh);
}

}  // namespace controllers::node
