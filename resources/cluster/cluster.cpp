// Registration of the cluster discovery group.
#include "resources/cluster/cluster.h"

#include "resources/config/config.h"
#include "resources/internal/net_yaml.h"
#include "resources/internal/resource_type.h"
#include "resources/internal/yaml_shape.h"
#include "runtime/registry/registry.h"

namespace resources::cluster {
namespace {

using internal::typed;
using runtime::resource::Sensitivity;

void register_yaml() {
  internal::register_net_yaml_codecs();
  internal::register_enum_texts();
  internal::render_like_go(AffiliateSpec::descriptor(), {"nodename", "kube_span", "control_plane"},
                           {{"kube_span", "kubespan"}});
  internal::render_like_go(pb::KubeSpanAffiliateSpec::descriptor());
  internal::render_like_go(pb::ControlPlane::descriptor(), {}, {{"api_server_port", "port"}});
  internal::render_like_go(ConfigSpec::descriptor(), {"service_endpoint_insecure"},
                           {{"service_cluster_id", "serviceClusterID"}});
  internal::render_like_go(pb::ServiceEndpoint::descriptor());
  internal::render_like_go(IdentitySpec::descriptor());
  internal::render_like_go(InfoSpec::descriptor());
  internal::render_like_go(MemberSpec::descriptor(), {"control_plane"});
}

}  // namespace

void register_cluster_resources(runtime::registry::Registry& registry) {
  register_yaml();
  registry.add_namespace(kNamespace, "Cluster configuration and discovery resources.");
  registry.add_namespace(kRawNamespace, "Cluster unmerged raw resources.");
  config::register_config_namespace(registry);
  registry.add_type(typed<Affiliate>({{"Hostname", "{.hostname}"},
                                      {"Machine Type", "{.machineType}"},
                                      {"Addresses", "{.addresses}"}}));
  registry.add_type(typed<Config>({}, Sensitivity::kSensitive));
  registry.add_type(typed<Identity>({{"ID", "{.nodeId}"}}));
  registry.add_type(
      typed<Info>({{"Cluster ID", "{.clusterId}"}, {"Cluster Name", "{.clusterName}"}}));
  registry.add_type(typed<Member>({{"Hostname", "{.hostname}"},
                                   {"Machine Type", "{.machineType}"},
                                   {"OS", "{.operatingSystem}"},
                                   {"Addresses", "{.addresses}"}}));
}

}  // namespace resources::cluster
