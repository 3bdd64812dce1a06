// The Kubernetes registry's credential source.
#include "controllers/cluster/kubernetes_source.h"

#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "resources/cluster/cluster.h"
#include "runtime/controller/typed.h"

namespace controllers::cluster {

std::vector<ctl::Input> kubernetes_source_inputs() {
  return {ctl::input<rc::Config>(ctl::InputKind::kWeak, rc::kConfigId),
          internal::active_config_input()};
}

std::optional<config::KubernetesRegistry> kubernetes_source(ctl::Runtime& rt) {
  const auto discovery = ctl::get<rc::Config>(rt, rc::kConfigId);
  const auto cfg = internal::active_config(rt);
  if (!discovery || !discovery->registry_kubernetes_enabled() || !cfg) return std::nullopt;
  return config::kubernetes_registry(*cfg);
}

kubernetes::Credentials load_credentials(const config::KubernetesRegistry& source) {
  return source.kubeconfig.empty() ? kubernetes::load_in_cluster()
                                   : kubernetes::load_kubeconfig(source.kubeconfig);
}

}  // namespace controllers::cluster
