// Every built-in resource group, in one place.
#include "resources/register.h"

#include "resources/cluster/cluster.h"
#include "resources/config/config.h"
#include "resources/k8s/k8s.h"
#include "resources/kubespan/kubespan.h"
#include "resources/machine/machine.h"
#include "resources/network/network.h"

namespace resources {

void register_all(runtime::registry::Registry& registry) {
  config::register_config_resources(registry);
  cluster::register_cluster_resources(registry);
  network::register_network_resources(registry);
  k8s::register_k8s_resources(registry);
  kubespan::register_kubespan_resources(registry);
  machine::register_machine_resources(registry);
}

}  // namespace resources
