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
  internal::render_like_go(PeerSpecSpec::descriptor(), {}, {{"allowed_ips", "allowedIPs"}});
  registry.add_namespace(kNamespace, "KubeSpan resources.");
  config::register_config_namespace(registry);
  // The identity holds the WireGuard private key: Sensitive, as in Talos.
  registry.add_type(internal::typed<IdentitySpec>(
      kIdentityType, kNamespace, {{"Address", "{.address}"}, {"PublicKey", "{.publicKey}"}},
      runtime::resource::Sensitivity::kSensitive));
  // The KubeSpan config carries the cluster's shared secret.
  registry.add_type(internal::typed<ConfigSpec>(kConfigType, kConfigNamespace, {},
                                                runtime::resource::Sensitivity::kSensitive));
  registry.add_type(internal::typed<EndpointSpec>(
      kEndpointType, kNamespace,
      {{"Endpoint", "{.endpoint}"}, {"Affiliate ID", "{.affiliateID}"}}));
  registry.add_type(internal::typed<PeerSpecSpec>(
      kPeerSpecType, kNamespace, {{"Label", "{.label}"}, {"Endpoints", "{.endpoints}"}}));
}

}  // namespace resources::kubespan
