// The KubeSpan group's definitions (names nodectl resolves, Talos's columns, the identity's
// sensitivity) and the peer spec's YAML keys.
#include "resources/kubespan/kubespan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cosi/v1alpha1/meta.pb.h"
#include "resources/register.h"
#include "runtime/registry/registry.h"
#include "runtime/resource/proto_spec.h"
#include "runtime/resource/yaml_codec.h"
#include "runtime/state/inmem_state.h"
#include "values/net.h"

namespace resources::kubespan {
namespace {

namespace net = values::net;

using ::testing::ElementsAre;
using RdSpec = cosi::resource::meta::ResourceDefinitionSpec;

struct Row {
  std::string type;
  std::vector<std::string> all_aliases;
  std::vector<std::string> columns;  // name=jsonPath
  bool sensitive;
};

TEST(KubeSpanResources, DefinitionsAsTalos) {
  runtime::state::InMemoryState state;
  auto registry = runtime::registry::make_state_registry(state);
  register_all(*registry);
  const std::vector<Row> rows = {
      {"kubespanpeerspecs.kubespan.talos.dev",
       {"kubespanpeerspecs", "kubespanpeerspecs.kubespan", "kubespanpeerspecs.kubespan.talos",
        "kubespanpeerspec", "ksps"},  // capitals end in S: no "kspss"
       {"Label={.label}", "Endpoints={.endpoints}"},
       false},
      {"kubespanidentities.kubespan.talos.dev",
       {"kubespanidentities", "kubespanidentities.kubespan", "kubespanidentities.kubespan.talos",
        "kubespanidentity", "ksi", "ksis"},
       {"Address={.address}", "PublicKey={.publicKey}"},
       true},
      {"kubespanpeerstatuses.kubespan.talos.dev",
       {"kubespanpeerstatuses", "kubespanpeerstatuses.kubespan",
        "kubespanpeerstatuses.kubespan.talos", "kubespanpeerstatus", "ksps"},
       {"Label={.label}", "Endpoint={.endpoint}", "State={.state}", "Rx={.receiveBytes}",
        "Tx={.transmitBytes}"},
       false},
  };
  for (const auto& row : rows) {
    auto rd = state.get({"meta", "ResourceDefinitions.meta.cosi.dev", row.type});
    ASSERT_NE(rd, nullptr) << row.type;
    RdSpec spec;
    ASSERT_TRUE(spec.ParseFromString(rd->spec->proto_bytes()));
    EXPECT_EQ(spec.default_namespace(), "kubespan");
    EXPECT_EQ(std::vector<std::string>(spec.all_aliases().begin(), spec.all_aliases().end()),
              row.all_aliases);
    std::vector<std::string> columns;
    for (const auto& c : spec.print_columns()) columns.push_back(c.name() + "=" + c.json_path());
    EXPECT_EQ(columns, row.columns);
    EXPECT_EQ(spec.sensitivity() == RdSpec::SENSITIVE, row.sensitive) << row.type;
  }
}

TEST(KubeSpanResources, PeerSpecYaml) {
  runtime::state::InMemoryState state;
  auto registry = runtime::registry::make_state_registry(state);
  register_all(*registry);
  PeerSpecSpec s;
  *s.mutable_address() = net::ip("fd50:8d60:4238:6302:f857:23ff:fe21:d1e0");
  *s.add_allowed_ips() = net::prefix("10.244.3.0/25");
  *s.add_endpoints() = net::ip_port("10.0.0.2:51820");
  s.set_label("bar");
  EXPECT_EQ(runtime::resource::spec_to_yaml(s),
            "address: fd50:8d60:4238:6302:f857:23ff:fe21:d1e0\nallowedIPs:\n  - 10.244.3.0/25\n"
            "endpoints:\n  - 10.0.0.2:51820\nlabel: bar\n");
}

// Talos tags mtu, endpointFilters, extraEndpoints and excludeAdvertisedNetworks omitempty: empty,
// they are left out; the other fields always print.
TEST(KubeSpanResources, ConfigYamlOmitsWhatTalosOmits) {
  runtime::state::InMemoryState state;
  auto registry = runtime::registry::make_state_registry(state);
  register_all(*registry);
  ConfigSpec s;
  s.set_enabled(true);
  s.set_cluster_id("c1");
  EXPECT_EQ(runtime::resource::spec_to_yaml(s),
            "enabled: true\nclusterId: c1\nsharedSecret: \"\"\nforceRouting: false\n"
            "advertiseKubernetesNetworks: false\nharvestExtraEndpoints: false\n");
  s.set_mtu(1420);
  s.add_endpoint_filters("0.0.0.0/0");
  *s.add_extra_endpoints() = net::ip_port("192.0.2.1:51820");
  *s.add_exclude_advertised_networks() = net::prefix("10.0.0.0/8");
  EXPECT_EQ(runtime::resource::spec_to_yaml(s),
            "enabled: true\nclusterId: c1\nsharedSecret: \"\"\nforceRouting: false\n"
            "advertiseKubernetesNetworks: false\nmtu: 1420\nendpointFilters:\n  - 0.0.0.0/0\n"
            "harvestExtraEndpoints: false\nextraEndpoints:\n  - 192.0.2.1:51820\n"
            "excludeAdvertisedNetworks:\n  - 10.0.0.0/8\n");
}

// What a WireGuard operator writes back: the state as Talos prints it, times as RFC 3339.
TEST(KubeSpanResources, PeerStatusYamlRoundTrips) {
  runtime::state::InMemoryState state;
  auto registry = runtime::registry::make_state_registry(state);
  register_all(*registry);
  const std::string yaml =
      "endpoint: 10.0.0.1:51820\nlabel: bar\nstate: up\nreceiveBytes: 10\ntransmitBytes: 20\n"
      "lastHandshakeTime: 2026-11-27T16:43:14Z\nlastUsedEndpoint: 10.0.0.1:51820\n"
      "lastEndpointChange: 2026-11-27T16:40:00Z\n";
  PeerStatusSpec s;
  runtime::resource::spec_from_yaml(yaml, &s);
  EXPECT_EQ(s.state(), talos::resource::definitions::enums::PEER_STATE_UP);
  EXPECT_EQ(net::text(s.endpoint()), "10.0.0.1:51820");
  EXPECT_EQ(s.last_handshake_time().seconds(), 1795797794);
  EXPECT_EQ(runtime::resource::spec_to_yaml(s), yaml);
  EXPECT_THROW(runtime::resource::spec_from_yaml("lastHandshakeTime: yesterday\n", &s),
               std::invalid_argument);
}

}  // namespace
}  // namespace resources::kubespan
