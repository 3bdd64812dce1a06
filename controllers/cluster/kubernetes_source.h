// Where the Kubernetes registry's two controllers get their credentials: the registry switch of
// the DiscoveryConfig and the credential source of the config the node runs with.
#pragma once

#include <optional>

#include "config/machine_config.h"
#include "kubernetes/credentials.h"
#include "runtime/controller/controller.h"

namespace runtime::controller {
class Runtime;
}

namespace controllers::cluster {

// The inputs kubernetes_source reads.
std::vector<runtime::controller::Input> kubernetes_source_inputs();

// The credential source while the registry is on; nullopt when it is off.
std::optional<config::KubernetesRegistry> kubernetes_source(runtime::controller::Runtime& rt);

// The kubeconfig, or the in-cluster service account when no kubeconfig is named. Throws
// kubernetes::CredentialsError naming the file and what is wrong.
kubernetes::Credentials load_credentials(const config::KubernetesRegistry& source);

}  // namespace controllers::cluster
