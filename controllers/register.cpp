// The built-in controllers, in one place.
#include "controllers/register.h"

#include "controllers/cluster/controllers.h"
#include "controllers/cluster/discovery_service.h"
#include "controllers/kubespan/controllers.h"
#include "controllers/node/host_facts.h"
#include "controllers/node/node_inputs.h"
#include "runtime/controller/controller.h"
#include "runtime/controller/engine.h"

namespace controllers {

void register_controllers(runtime::controller::Engine& engine, const Dependencies& deps) {
  engine.register_controller(cluster::make_node_identity_controller(deps.state_dir));
  engine.register_controller(cluster::make_config_controller());
  engine.register_controller(cluster::make_info_controller());
  engine.register_controller(
      cluster::make_local_affiliate_controller(deps.host->operating_system()));
  engine.register_controller(cluster::make_discovery_service_controller(deps.discovery_service));
  engine.register_controller(cluster::make_kubernetes_push_controller());
  engine.register_controller(cluster::make_kubernetes_pull_controller());
  engine.register_controller(cluster::make_affiliate_merge_controller());
  engine.register_controller(cluster::make_member_controller());
  engine.register_controller(cluster::make_endpoint_controller());
  engine.register_controller(node::make_hostname_status_controller(deps.host));
  engine.register_controller(node::make_nodename_controller(deps.host));
  engine.register_controller(node::make_node_address_controller(deps.host));
  engine.register_controller(node::make_machine_type_controller());
  engine.register_controller(kubespan::make_config_controller());
  engine.register_controller(kubespan::make_identity_controller(deps.state_dir, deps.host));
  engine.register_controller(kubespan::make_peer_spec_controller());
  engine.register_controller(kubespan::make_endpoint_controller());
}

}  // namespace controllers
