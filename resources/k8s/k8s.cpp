// Registration of the Kubernetes group.
#include "resources/k8s/k8s.h"

#include "resources/internal/net_yaml.h"
#include "resources/internal/resource_type.h"
#include "resources/internal/yaml_shape.h"

namespace resources::k8s {

void register_k8s_resources(runtime::registry::Registry& registry) {
  internal::register_net_yaml_codecs();
  internal::render_like_go(NodenameSpec::descriptor());
  internal::render_like_go(NodeStatusSpec::descriptor(), {}, {{"pod_cid_rs", "podCIDRs"}});
  internal::render_like_go(EndpointSpec::descriptor());
  registry.add_namespace(kNamespace, "Kubernetes all node types resources.");
  registry.add_namespace(kControlPlaneNamespace, "Kubernetes control plane resources.");
  registry.add_type(internal::typed<Nodename>({{"Nodename", "{.nodename}"}}));
  registry.add_type(internal::typed<NodeStatus>(
      {{"Ready", "{.nodeReady}"}, {"Unschedulable", "{.unschedulable}"}}));
  registry.add_type(
      internal::typed<Endpoint>({{"Addresses", "{.addresses}"}, {"Hosts", "{.hosts}"}}));
  registry.add_type(internal::typed<APIServerConfig>());
}

}  // namespace resources::k8s
