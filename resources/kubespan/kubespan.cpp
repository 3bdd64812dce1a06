// Registration of the KubeSpan group.
#include "resources/kubespan/kubespan.h"

#include <google/protobuf/util/time_util.h>

#include "resources/config/config.h"
#include "resources/internal/net_yaml.h"
#include "resources/internal/resource_type.h"
#include "resources/internal/yaml_shape.h"
#include "runtime/resource/yaml_registry.h"

namespace resources::kubespan {
namespace {

namespace enums = talos::resource::definitions::enums;
using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

// Timestamps as RFC 3339 text, the way Go renders time.Time.
runtime::resource::MessageYamlCodec timestamp_codec() {
  return {
      [](const google::protobuf::Message& m) {
        return YAML::Node(TimeUtil::ToString(static_cast<const Timestamp&>(m)));
      },
      [](const YAML::Node& n, google::protobuf::Message* m) {
        if (!n.IsScalar() || !TimeUtil::FromString(n.Scalar(), static_cast<Timestamp*>(m))) {
          throw std::invalid_argument("expected an RFC 3339 time");
        }
      },
  };
}

}  // namespace

void register_kubespan_resources(runtime::registry::Registry& registry) {
  internal::register_net_yaml_codecs();
  internal::render_like_go(IdentitySpec::descriptor());
  internal::render_like_go(
      ConfigSpec::descriptor(),
      {"mtu", "endpoint_filters", "extra_endpoints", "exclude_advertised_networks"},
      {{"cluster_id", "clusterId"}});
  internal::render_like_go(EndpointSpec::descriptor(), {}, {{"affiliate_id", "affiliateID"}});
  internal::render_like_go(PeerSpecSpec::descriptor(), {}, {{"allowed_ips", "allowedIPs"}});
  internal::render_like_go(PeerStatusSpec::descriptor());
  runtime::resource::register_yaml_enum(
      std::string(enums::KubespanPeerState_descriptor()->full_name()),
      {{enums::PEER_STATE_UNKNOWN, "unknown"},
       {enums::PEER_STATE_UP, "up"},
       {enums::PEER_STATE_DOWN, "down"}});
  runtime::resource::register_yaml_codec(std::string(Timestamp::descriptor()->full_name()),
                                         timestamp_codec());
  registry.add_namespace(kNamespace, "KubeSpan resources.");
  config::register_config_namespace(registry);
  // The identity holds the WireGuard private key: Sensitive, as in Talos.
  registry.add_type(
      internal::typed<Identity>({{"Address", "{.address}"}, {"PublicKey", "{.publicKey}"}},
                                runtime::resource::Sensitivity::kSensitive));
  // The KubeSpan config carries the cluster's shared secret.
  registry.add_type(internal::typed<Config>({}, runtime::resource::Sensitivity::kSensitive));
  registry.add_type(
      internal::typed<Endpoint>({{"Endpoint", "{.endpoint}"}, {"Affiliate ID", "{.affiliateID}"}}));
  registry.add_type(
      internal::typed<PeerSpec>({{"Label", "{.label}"}, {"Endpoints", "{.endpoints}"}}));
  registry.add_type(internal::typed<PeerStatus>({{"Label", "{.label}"},
                                                 {"Endpoint", "{.endpoint}"},
                                                 {"State", "{.state}"},
                                                 {"Rx", "{.receiveBytes}"},
                                                 {"Tx", "{.transmitBytes}"}}));
}

}  // namespace resources::kubespan
