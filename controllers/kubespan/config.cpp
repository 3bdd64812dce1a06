// KubeSpanConfig from the machine config: the `.machine.network.kubespan` settings, the cluster
// identity (the KubeSpan address derives from its ID) and the KubeSpanEndpointsConfig endpoints.
#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "controllers/kubespan/controllers.h"
#include "resources/kubespan/kubespan.h"
#include "values/net.h"

namespace controllers::kubespan {
namespace {

// Talos emits the config only with a machine and a cluster section and a cluster identity; the
// lists were validated when the config was parsed, so parsing them again cannot throw.
runtime::controller::Transform<rks::Config>::Outputs kubespan_config(
    const config::MachineConfig* cfg) {
  runtime::controller::Transform<rks::Config>::Outputs out;
  if (cfg == nullptr || !cfg->has_v1alpha1 || !cfg->has_cluster) return out;
  auto identity = config::discovery_identity(*cfg);
  if (!identity) return out;

  const auto& ks = cfg->kubespan;
  rks::ConfigSpec spec;
  spec.set_enabled(ks.enabled);
  spec.set_cluster_id(identity->cluster_id);
  spec.set_shared_secret(identity->cluster_secret);
  spec.set_force_routing(ks.force_routing);
  spec.set_advertise_kubernetes_networks(ks.advertise_kubernetes_networks);
  spec.set_mtu(ks.mtu);
  for (const auto& f : ks.endpoint_filters) spec.add_endpoint_filters(f);
  spec.set_harvest_extra_endpoints(ks.harvest_extra_endpoints);
  for (const auto& e : ks.extra_announced_endpoints) {
    *spec.add_extra_endpoints() = values::net::ip_port(e);
  }
  for (const auto& n : ks.exclude_advertised_networks) {
    *spec.add_exclude_advertised_networks() = values::net::prefix(n);
  }
  out.emplace(rks::kConfigId, std::move(spec));
  return out;
}

}  // namespace

ControllerPtr make_config_controller() {
  return internal::make_config_transform<rks::Config>("kubespan.ConfigController", kubespan_config);
}

}  // namespace controllers::kubespan
