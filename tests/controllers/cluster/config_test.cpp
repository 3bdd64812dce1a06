// ConfigController with the cases of Talos's config_test.go.
#include "controllers/cluster/controllers.h"

#include <gtest/gtest.h>

#include "resources/cluster/cluster.h"
#include "tests/controllers/harness.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
using Spec = rc::ConfigSpec;
constexpr const char* kSecret = "kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=";
constexpr const char* kKeyHex = "90242c2abe01dbc55497bab0d6c5644c3345f5f147fbe56222e2acb2cf82ea47";

std::string hex(const std::string& b) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(k[c >> 4]);
    out.push_back(k[c & 15]);
  }
  return out;
}

const runtime::resource::Pointer kOut{"config", std::string(rc::kConfigType), "cluster"};

class ConfigController : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.add(make_config_controller());
    h_.start();
  }
  std::optional<Spec> wait(std::function<bool(const Spec&)> pred) {
    return h_.wait_for<Spec>(kOut, std::move(pred));
  }
  testing::Harness h_;
};

std::string legacy(const std::string& discovery) {
  return std::string("version: v1alpha1\ncluster:\n  id: cluster1\n  secret: ") + kSecret +
         "\n  discovery:\n" + discovery;
}

TEST_F(ConfigController, LegacyDefaults) {
  h_.put_config(legacy("    enabled: true\n"));
  auto s = wait([](const Spec& s) { return s.service_endpoints_size() == 1; });
  ASSERT_TRUE(s);
  // On in Talos, which uses the kubelet's credentials; here it needs a credential source.
  EXPECT_FALSE(s->registry_kubernetes_enabled());
  EXPECT_EQ(s->service_endpoints(0).name(), "legacy");
  EXPECT_EQ(s->service_endpoints(0).endpoint(), "discovery.talos.dev:443");
  EXPECT_FALSE(s->service_endpoints(0).insecure());
  EXPECT_EQ(s->service_cluster_id(), "cluster1");
  EXPECT_EQ(hex(s->service_encryption_key()), kKeyHex);
  EXPECT_TRUE(s->registry_service_enabled());
  EXPECT_EQ(s->service_endpoint(), "discovery.talos.dev:443");
  EXPECT_FALSE(s->discovery_enabled());

  h_.remove(testing::Harness::config_ptr());
  EXPECT_TRUE(h_.wait_gone(kOut));
}

TEST_F(ConfigController, KubernetesRegistryWithKubeconfig) {
  h_.put_config(legacy(
      "    enabled: true\n    registries:\n      kubernetes: {kubeconfig: /etc/k.yaml}\n"));
  EXPECT_TRUE(wait([](const Spec& s) { return s.registry_kubernetes_enabled(); }));
}

TEST_F(ConfigController, CustomIpv6EndpointKubernetesDisabled) {
  h_.put_config(legacy(
      "    enabled: true\n    registries:\n      kubernetes: {disabled: true}\n"
      "      service: {endpoint: 'https://[2001:470:6d:30e:565d:e162:e2a0:cf5a]:3456/'}\n"));
  auto s = wait([](const Spec& s) { return s.service_endpoints_size() == 1; });
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->registry_kubernetes_enabled());
  EXPECT_EQ(s->service_endpoints(0).endpoint(), "[2001:470:6d:30e:565d:e162:e2a0:cf5a]:3456");
}

TEST_F(ConfigController, InsecureEndpoint) {
  h_.put_config(legacy(
      "    enabled: true\n    registries:\n      service: {endpoint: 'http://localhost:3000'}\n"));
  auto s = wait([](const Spec& s) { return s.service_endpoints_size() == 1; });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service_endpoints(0).endpoint(), "localhost:3000");
  EXPECT_TRUE(s->service_endpoints(0).insecure());
  EXPECT_TRUE(s->service_endpoint_insecure());
}

TEST_F(ConfigController, DisabledThenPartialConfigDestroysOutput) {
  h_.put_config("version: v1alpha1\nmachine: {}\ncluster: {}\n");
  auto s = wait(nullptr);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service_endpoints_size(), 0);
  EXPECT_FALSE(s->registry_kubernetes_enabled());
  EXPECT_FALSE(s->registry_service_enabled());
  EXPECT_EQ(s->service_endpoint(), "");

  h_.put_config(std::string("apiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\n"
                            "clusterID: c\nclusterSecret: ") +
                kSecret + "\n");
  EXPECT_TRUE(h_.wait_gone(kOut));
}

TEST_F(ConfigController, MultidocIdentity) {
  h_.put_config(std::string("version: v1alpha1\ncluster: {}\n---\napiVersion: v1alpha1\n"
                            "kind: DiscoveryServiceConfig\nname: default\n"
                            "endpoint: https://discovery.talos.dev/\n---\napiVersion: v1alpha1\n"
                            "kind: DiscoveryIdentityConfig\nclusterID: cluster1\nclusterSecret: ") +
                kSecret + "\n");
  auto s = wait([](const Spec& s) { return s.service_endpoints_size() == 1; });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service_endpoints(0).name(), "default");
  EXPECT_EQ(s->service_endpoints(0).endpoint(), "discovery.talos.dev:443");
  EXPECT_EQ(s->service_cluster_id(), "cluster1");
  EXPECT_EQ(hex(s->service_encryption_key()), kKeyHex);
  EXPECT_FALSE(s->registry_kubernetes_enabled());
  h_.remove(testing::Harness::config_ptr());
  EXPECT_TRUE(h_.wait_gone(kOut));
}

TEST_F(ConfigController, NoOpReconcileKeepsTheVersion) {
  h_.put_config(legacy("    enabled: true\n"));
  ASSERT_TRUE(wait([](const Spec& s) { return s.service_endpoints_size() == 1; }));
  auto v = h_.state().get(kOut)->metadata.version;
  // Same content, new config version: the output must not be rewritten.
  h_.put_config(legacy("    enabled: true\n") + "\n");
  h_.put_config(legacy("    enabled: true\n    registries:\n      kubernetes: {kubeconfig: /k}\n"));
  ASSERT_TRUE(wait([](const Spec& s) { return s.registry_kubernetes_enabled(); }));
  EXPECT_EQ(h_.state().get(kOut)->metadata.version, v + 1);
}

}  // namespace
}  // namespace controllers::cluster
