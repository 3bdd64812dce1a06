// kubespan.ConfigController: the machine config's KubeSpan settings, the cluster identity and the
// KubeSpanEndpointsConfig endpoints end up in KubeSpanConfig config/kubespan.
#include "controllers/kubespan/controllers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "resources/kubespan/kubespan.h"
#include "tests/controllers/harness.h"
#include "values/net.h"

namespace controllers::kubespan {
namespace {

namespace rks = resources::kubespan;
namespace net = values::net;
using ::testing::ElementsAre;

constexpr const char* kClusterId = "8XuV9TZHW08DOk3bVxQjH9ih_TBKjnh-j44tsCLSBzo=";
constexpr const char* kSecret = "kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=";
const runtime::resource::Pointer kOut{"config", std::string(rks::kConfigType), "kubespan"};

std::string identity_doc() {
  return std::string("---\napiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterID: ") +
         kClusterId + "\nclusterSecret: " + kSecret + "\n";
}
std::string service_doc() {
  return "---\napiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: default\n"
         "endpoint: http://127.0.0.1:1\n";
}

class KubeSpanConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.add(make_config_controller());
    h_.start();
  }
  testing::Harness h_;
};

TEST_F(KubeSpanConfig, EverySetting) {
  h_.put_config(
      "version: v1alpha1\nmachine:\n  network:\n    kubespan:\n      enabled: true\n"
      "      advertiseKubernetesNetworks: true\n      harvestExtraEndpoints: true\n"
      "      allowDownPeerBypass: true\n      mtu: 1380\n      filters:\n"
      "        endpoints: [\"0.0.0.0/0\", \"!192.168.0.0/16\", \"2001::/16\"]\n"
      "        excludeAdvertisedNetworks: [\"2001:123:4567::/64\"]\ncluster:\n"
      "  clusterName: c\n" +
      service_doc() + identity_doc() +
      "---\napiVersion: v1alpha1\nkind: KubeSpanEndpointsConfig\n"
      "extraAnnouncedEndpoints: [\"10.5.0.1:51820\", \"[2001:db8::1]:5678\"]\n");
  auto s = h_.wait_for<rks::ConfigSpec>(kOut);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->enabled());
  EXPECT_EQ(s->cluster_id(), kClusterId);
  EXPECT_EQ(s->shared_secret(), kSecret);
  EXPECT_FALSE(s->force_routing());
  EXPECT_TRUE(s->advertise_kubernetes_networks());
  EXPECT_TRUE(s->harvest_extra_endpoints());
  EXPECT_EQ(s->mtu(), 1380u);
  EXPECT_THAT(s->endpoint_filters(), ElementsAre("0.0.0.0/0", "!192.168.0.0/16", "2001::/16"));
  ASSERT_EQ(s->extra_endpoints_size(), 2);
  EXPECT_EQ(net::text(s->extra_endpoints(0)), "10.5.0.1:51820");
  EXPECT_EQ(net::text(s->extra_endpoints(1)), "[2001:db8::1]:5678");
  ASSERT_EQ(s->exclude_advertised_networks_size(), 1);
  EXPECT_EQ(net::text(s->exclude_advertised_networks(0)), "2001:123:4567::/64");
}

TEST_F(KubeSpanConfig, DefaultsWhenOnlyTheIdentityIsSet) {
  h_.put_config("version: v1alpha1\nmachine:\n  type: worker\ncluster:\n  clusterName: c\n" +
                identity_doc());
  auto s = h_.wait_for<rks::ConfigSpec>(kOut);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->enabled());
  EXPECT_TRUE(s->force_routing());
  EXPECT_EQ(s->mtu(), 1420u);
  EXPECT_EQ(s->endpoint_filters_size(), 0);
  EXPECT_EQ(s->cluster_id(), kClusterId);
}

// Talos emits the config only with a cluster section and a cluster identity.
TEST_F(KubeSpanConfig, NoneWithoutClusterOrIdentity) {
  const std::string full =
      "version: v1alpha1\nmachine:\n  type: worker\ncluster:\n  clusterName: c\n" + identity_doc();
  h_.put_config(full);
  ASSERT_TRUE(h_.wait_for<rks::ConfigSpec>(kOut));
  h_.put_config("version: v1alpha1\nmachine:\n  type: worker\ncluster:\n  clusterName: c\n");
  EXPECT_TRUE(h_.wait_gone(kOut));
  h_.put_config(full);
  ASSERT_TRUE(h_.wait_for<rks::ConfigSpec>(kOut));
  h_.put_config("version: v1alpha1\nmachine:\n  type: worker\n" + identity_doc());
  EXPECT_TRUE(h_.wait_gone(kOut));
  h_.put_config(full);
  ASSERT_TRUE(h_.wait_for<rks::ConfigSpec>(kOut));
  h_.remove(testing::Harness::config_ptr());
  EXPECT_TRUE(h_.wait_gone(kOut));
}

}  // namespace
}  // namespace controllers::kubespan
