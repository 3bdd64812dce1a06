// DiscoveryConfig from the machine config: normalized service endpoints, the decoded cluster
// key, the legacy single-endpoint fields Omni still reads, and the Kubernetes registry switch.
#include <stdexcept>

#include "controllers/cluster/controllers.h"
#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "resources/cluster/cluster.h"
#include "values/base64.h"

namespace controllers::cluster {
namespace {

rc::ConfigSpec discovery_config(const config::MachineConfig& cfg) {
  rc::ConfigSpec spec;
  auto services = config::discovery_services(cfg);
  if (!services.empty()) {
    for (const auto& svc : services) {
      auto e = config::normalize_endpoint(svc.endpoint);
      auto* out = spec.add_service_endpoints();
      out->set_name(svc.name);
      out->set_endpoint(e.host_port);
      out->set_insecure(e.insecure);
    }
    auto identity = config::discovery_identity(cfg);
    if (!identity) {
      throw std::runtime_error("cluster identity is required when discovery service is configured");
    }
    auto key = values::base64_decode(identity->cluster_secret);
    if (!key) throw std::runtime_error("cluster secret: illegal base64 data");
    spec.set_service_encryption_key(*key);
    spec.set_service_cluster_id(identity->cluster_id);
    spec.set_registry_service_enabled(true);
    spec.set_service_endpoint(spec.service_endpoints(0).endpoint());
    spec.set_service_endpoint_insecure(spec.service_endpoints(0).insecure());
  }
  spec.set_registry_kubernetes_enabled(config::kubernetes_registry_enabled(cfg));
  return spec;
}

}  // namespace

ControllerPtr make_config_controller() {
  return internal::make_config_transform<rc::Config>(
      "cluster.ConfigController", [](const config::MachineConfig* cfg) {
        runtime::controller::Transform<rc::Config>::Outputs out;
        if (cfg != nullptr && cfg->has_v1alpha1) {
          out.emplace(rc::kConfigId, discovery_config(*cfg));
        }
        return out;
      });
}

}  // namespace controllers::cluster
