// HostnameStatus network/hostname: the config's .machine.network.hostname, else the host's name;
// text after the first dot is the domain.
#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "controllers/node/host_facts.h"
#include "controllers/node/node_inputs.h"
#include "resources/network/network.h"

namespace controllers::node {

runtime::controller::ControllerPtr make_hostname_status_controller(
    std::shared_ptr<const HostFacts> host, std::chrono::milliseconds refresh) {
  return internal::make_config_transform<rn::HostnameStatus>(
      "node.HostnameStatusController",
      [host](const config::MachineConfig* cfg) {
        runtime::controller::Transform<rn::HostnameStatus>::Outputs out;
        std::string name =
            cfg != nullptr && !cfg->hostname.empty() ? cfg->hostname : host->hostname();
        if (name.empty()) return out;
        rn::HostnameStatusSpec spec;
        auto dot = name.find('.');
        spec.set_hostname(name.substr(0, dot));
        if (dot != std::string::npos) spec.set_domainname(name.substr(dot + 1));
        out.emplace(rn::kHostnameId, std::move(spec));
        return out;
      },
      refresh);
}

}  // namespace controllers::node
