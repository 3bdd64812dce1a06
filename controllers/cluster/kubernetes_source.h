// What the Kubernetes registry's two controllers share: where they get their credentials (the
// config the node runs with, the one input they need besides their own) and how they reach the
// API, which tests replace with fakes.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/machine_config.h"
#include "kubernetes/credentials.h"
#include "kubernetes/node_annotator.h"
#include "kubernetes/node_informer.h"
#include "runtime/controller/controller.h"

namespace runtime::controller {
class Runtime;
}

namespace controllers::cluster {

// The credential source while the registry is on; nullopt when it is off. Read from the active
// machine config (internal::active_config_input()), from which the DiscoveryConfig's
// registryKubernetesEnabled is derived too.
std::optional<config::KubernetesRegistry> kubernetes_source(runtime::controller::Runtime& rt);

// The kubeconfig, or the in-cluster service account when no kubeconfig is named. Throws
// kubernetes::CredentialsError naming the file and what is wrong.
kubernetes::Credentials load_credentials(const config::KubernetesRegistry& source);

// How the controllers reach the Kubernetes API: the real client unless a test says otherwise.
struct KubernetesApi {
  std::function<kubernetes::Credentials(const config::KubernetesRegistry&)> load_credentials =
      cluster::load_credentials;
  std::function<std::unique_ptr<kubernetes::NodeInformer>(
      kubernetes::Credentials, kubernetes::InformerOptions, boost::asio::any_io_executor,
      std::function<void()>)>
      start_informer = kubernetes::start_node_informer;
  std::function<std::unique_ptr<kubernetes::NodeAnnotator>(
      kubernetes::Credentials, std::string, kubernetes::InformerOptions,
      boost::asio::any_io_executor, std::function<void()>)>
      start_annotator = kubernetes::start_node_annotator;
};

// The factories of controllers.h, reaching the API through `api`.
runtime::controller::ControllerPtr make_kubernetes_push_controller(KubernetesApi api);
runtime::controller::ControllerPtr make_kubernetes_pull_controller(KubernetesApi api);

}  // namespace controllers::cluster
