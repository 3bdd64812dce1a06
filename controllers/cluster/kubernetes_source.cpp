// The Kubernetes registry's credential source.
#include "controllers/cluster/kubernetes_source.h"

#include "controllers/internal/config_transform.h"

namespace controllers::cluster {

std::optional<config::KubernetesRegistry> kubernetes_source(runtime::controller::Runtime& rt) {
  const auto cfg = internal::active_config(rt);
  return cfg ? config::kubernetes_registry(*cfg) : std::nullopt;
}

kubernetes::Credentials load_credentials(const config::KubernetesRegistry& source) {
  return source.kubeconfig.empty() ? kubernetes::load_in_cluster()
                                   : kubernetes::load_kubeconfig(source.kubeconfig);
}

}  // namespace controllers::cluster
