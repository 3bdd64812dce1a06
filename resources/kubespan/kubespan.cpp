// Registration of the KubeSpan group.
#include "resources/kubespan/kubespan.h"

#include "resources/config/config.h"
#include "resources/internal/resource_type.h"
#include "resources/internal/yaml_shape.h"

namespace resources::kubespan {

void register_kubespan_resources(runtime::registry::Registry& registry) {
  internal::render_like_go(IdentitySpec::descriptor());
  internal::render_like_go(ConfigSpec::descriptor(), {}, {{"cluster_id", "clusterId"}});
  internal::render_like_go(EndpointSpec::descriptor(), {}, {{"affiliate_id", "affiliateID"}});
  registry.add_namespace(kNamespace, "KubeSpan resources.");
  config::register_config_namespace(registry);
  registry.add_type(internal::typed<IdentitySpec>(
      kIdentityType, kNamespace, {{"Address", "{.address}"}, {"Public Key", "{.publicKey}"}}));
  // The KubeSpan config carries the cluster's shared secret.
  registry.add_type(internal::typed<ConfigSpec>(kConfigType, kConfigNamespace, {},
                                                runtime::resource::Sensitivity::kSensitive));
  registry.add_type(internal::typed<EndpointSpec>(
      kEndpointType, kNamespace,
      {{"Endpoint", "{.endpoint}"}, {"Affiliate ID", "{.affiliateID}"}}));
}

}  // namespace resources::kubespan
