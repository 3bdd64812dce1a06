// The cluster group's resource definitions (aliases, columns, sensitivity) and its YAML, which
// must read like Talos's.
#include "resources/cluster/cluster.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cosi/v1alpha1/meta.pb.h"
#include "resources/register.h"
#include "runtime/registry/registry.h"
#include "runtime/resource/proto_spec.h"
#include "runtime/resource/yaml_codec.h"
#include "runtime/state/inmem_state.h"
#include "values/net.h"

namespace resources::cluster {
namespace {

namespace net = values::net;

using ::testing::ElementsAre;
using RdSpec = cosi::resource::meta::ResourceDefinitionSpec;
namespace enums = talos::resource::definitions::enums;

class ClusterResources : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = runtime::registry::make_state_registry(state_);
    register_all(*registry_);
  }

  RdSpec definition(std::string_view type) {
    std::string id(type);
    for (auto& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto rd = state_.get({"meta", "ResourceDefinitions.meta.cosi.dev", id});
    RdSpec spec;
    EXPECT_NE(rd, nullptr) << type;
    if (rd) {
      EXPECT_TRUE(spec.ParseFromString(rd->spec->proto_bytes()));
    }
    return spec;
  }

  static std::vector<std::string> columns(const RdSpec& rd) {
    std::vector<std::string> out;
    for (const auto& c : rd.print_columns()) out.push_back(c.name() + "=" + c.json_path());
    return out;
  }

  runtime::state::InMemoryState state_;
  std::unique_ptr<runtime::registry::Registry> registry_;
};

TEST_F(ClusterResources, Affiliates) {
  auto rd = definition(kAffiliateType);
  EXPECT_EQ(rd.display_type(), "Affiliate");
  EXPECT_EQ(rd.default_namespace(), "cluster");
  EXPECT_THAT(rd.aliases(), ElementsAre("affiliate"));
  EXPECT_THAT(rd.all_aliases(), ElementsAre("affiliates", "affiliates.cluster",
                                            "affiliates.cluster.talos", "affiliate"));
  EXPECT_THAT(columns(rd), ElementsAre("Hostname={.hostname}", "Machine Type={.machineType}",
                                       "Addresses={.addresses}"));
  EXPECT_EQ(rd.sensitivity(), RdSpec::NON_SENSITIVE);
}

TEST_F(ClusterResources, Members) {
  auto rd = definition(kMemberType);
  EXPECT_EQ(rd.display_type(), "Member");
  EXPECT_EQ(rd.default_namespace(), "cluster");
  EXPECT_THAT(rd.aliases(), ElementsAre("member"));
  EXPECT_THAT(rd.all_aliases(),
              ElementsAre("members", "members.cluster", "members.cluster.talos", "member"));
  EXPECT_THAT(columns(rd),
              ElementsAre("Hostname={.hostname}", "Machine Type={.machineType}",
                          "OS={.operatingSystem}", "Addresses={.addresses}"));
}

TEST_F(ClusterResources, Identities) {
  auto rd = definition(kIdentityType);
  EXPECT_EQ(rd.display_type(), "Identity");
  EXPECT_THAT(rd.aliases(), ElementsAre("identity"));
  EXPECT_THAT(columns(rd), ElementsAre("ID={.nodeId}"));
}

TEST_F(ClusterResources, Infos) {
  auto rd = definition(kInfoType);
  EXPECT_EQ(rd.display_type(), "Info");
  EXPECT_THAT(rd.aliases(), ElementsAre("info"));
  EXPECT_THAT(columns(rd), ElementsAre("Cluster ID={.clusterId}", "Cluster Name={.clusterName}"));
}

TEST_F(ClusterResources, DiscoveryConfigsAreSensitiveAndLiveInConfig) {
  auto rd = definition(kConfigType);
  EXPECT_EQ(rd.display_type(), "DiscoveryConfig");
  EXPECT_EQ(rd.default_namespace(), "config");
  EXPECT_EQ(rd.sensitivity(), RdSpec::SENSITIVE);
  EXPECT_THAT(rd.aliases(), ElementsAre("discoveryconfig", "dc", "dcs"));
  EXPECT_THAT(rd.all_aliases(),
              ElementsAre("discoveryconfigs", "discoveryconfigs.cluster",
                          "discoveryconfigs.cluster.talos", "discoveryconfig", "dc", "dcs"));
  EXPECT_TRUE(columns(rd).empty());
}

TEST_F(ClusterResources, NamespacesAreDeclared) {
  auto ns = state_.get({"meta", "Namespaces.meta.cosi.dev", "cluster-raw"});
  ASSERT_NE(ns, nullptr);
  EXPECT_NE(ns->spec->yaml().find("Cluster unmerged raw resources."), std::string::npos);
  EXPECT_NE(state_.get({"meta", "Namespaces.meta.cosi.dev", "cluster"}), nullptr);
}

AffiliateSpec full_affiliate() {
  AffiliateSpec a;
  a.set_node_id("7x1SuC8Ege5BGXdAfTEff5iQnlWZLfv9h1LGMxA2pYkC");
  *a.add_addresses() = net::ip("192.168.3.4");
  *a.add_addresses() = net::ip("fd50::1");
  a.set_hostname("foo.com");
  a.set_nodename("bar");
  a.set_operating_system("Talos (v1.15.0)");
  a.set_machine_type(enums::TYPE_CONTROL_PLANE);
  auto* ks = a.mutable_kube_span();
  ks->set_public_key("PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=");
  *ks->mutable_address() = net::ip("fd50:8d60:4238:6302:f857:23ff:fe21:d1e0");
  *ks->add_additional_addresses() = net::prefix("10.244.3.1/24");
  *ks->add_endpoints() = net::ip_port("10.0.0.2:51820");
  *ks->add_endpoints() = net::ip_port("[2001:123:4567::1]:51820");
  *ks->add_exclude_advertised_networks() = net::prefix("0.0.0.0/0");
  a.mutable_control_plane()->set_api_server_port(6443);
  return a;
}

TEST_F(ClusterResources, AffiliateYamlMatchesTalos) {
  EXPECT_EQ(runtime::resource::spec_to_yaml(full_affiliate()),
            "nodeId: 7x1SuC8Ege5BGXdAfTEff5iQnlWZLfv9h1LGMxA2pYkC\n"
            "addresses:\n"
            "  - 192.168.3.4\n"
            "  - fd50::1\n"
            "hostname: foo.com\n"
            "nodename: bar\n"
            "operatingSystem: Talos (v1.15.0)\n"
            "machineType: controlplane\n"
            "kubespan:\n"
            "  publicKey: PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=\n"
            "  address: fd50:8d60:4238:6302:f857:23ff:fe21:d1e0\n"
            "  additionalAddresses:\n"
            "    - 10.244.3.1/24\n"
            "  endpoints:\n"
            "    - 10.0.0.2:51820\n"
            "    - \"[2001:123:4567::1]:51820\"\n"
            "  excludeAdvertisedNetworks:\n"
            "    - 0.0.0.0/0\n"
            "controlPlane:\n"
            "  port: 6443\n");
}

TEST_F(ClusterResources, AffiliateYamlRoundTrips) {
  AffiliateSpec back;
  runtime::resource::spec_from_yaml(runtime::resource::spec_to_yaml(full_affiliate()), &back);
  EXPECT_EQ(back.SerializeAsString(), full_affiliate().SerializeAsString());
}

TEST_F(ClusterResources, EmptyAffiliateKeepsGoFieldsAndOmitsOmitempty) {
  AffiliateSpec a;
  a.set_node_id("x");
  a.set_machine_type(enums::TYPE_WORKER);
  EXPECT_EQ(runtime::resource::spec_to_yaml(a),
            "nodeId: x\n"
            "addresses: []\n"
            "hostname: \"\"\n"
            "operatingSystem: \"\"\n"
            "machineType: worker\n");
}

TEST_F(ClusterResources, DiscoveryConfigYamlUsesTalosKeys) {
  ConfigSpec c;
  c.set_registry_service_enabled(true);
  c.set_service_endpoint("discovery.talos.dev:443");
  c.set_service_cluster_id("cluster1");
  auto* e = c.add_service_endpoints();
  e->set_name("default");
  e->set_endpoint("discovery.talos.dev:443");
  auto yaml = runtime::resource::spec_to_yaml(c);
  EXPECT_NE(yaml.find("serviceClusterID: cluster1\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("discoveryEnabled: false\n"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("serviceEndpointInsecure"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("insecure: false\n"), std::string::npos) << yaml;
}

// The key is a Go []byte, which yaml.v3 writes as a list of byte values (empty: []), not base64.
TEST_F(ClusterResources, DiscoveryConfigKeyIsAByteList) {
  ConfigSpec c;
  EXPECT_NE(runtime::resource::spec_to_yaml(c).find("\nserviceEncryptionKey: []\n"),
            std::string::npos);
  c.set_service_encryption_key(std::string("\x00\x7f\x80\xff", 4));
  const auto yaml = runtime::resource::spec_to_yaml(c);
  EXPECT_NE(yaml.find("\nserviceEncryptionKey:\n  - 0\n  - 127\n  - 128\n  - 255\n"),
            std::string::npos)
      << yaml;
  ConfigSpec back;
  runtime::resource::spec_from_yaml(yaml, &back);
  EXPECT_EQ(back.SerializeAsString(), c.SerializeAsString());
  EXPECT_THROW(runtime::resource::spec_from_yaml("serviceEncryptionKey: [256]\n", &back),
               std::invalid_argument);
  EXPECT_THROW(runtime::resource::spec_from_yaml("serviceEncryptionKey: AH+A/w==\n", &back),
               std::invalid_argument);
}

}  // namespace
}  // namespace resources::cluster
