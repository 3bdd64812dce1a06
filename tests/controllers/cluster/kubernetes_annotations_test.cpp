// The Kubernetes registry's annotations both ways, with the cases Talos's own registry tests use:
// a zero affiliate, a KubeSpan worker, a control plane, and Nodes with and without annotations.
#include "controllers/cluster/kubernetes_annotations.h"

#include <gtest/gtest.h>

#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
namespace enums = talos::resource::definitions::enums;
namespace net = values::net;
using Annotations = kubernetes::Annotations;

constexpr char kNodeId[] = "29QQTc97U5ZyFTIX33Dp9NlfdOt4DDnmMSDXq8rMhV";
constexpr char kPublicKey[] = "PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=";

// Every key of the registry, each with its value (nullopt: removed from the Node).
Annotations all_keys(Annotations values) {
  for (auto key : {kNodeIdAnnotation, kSelfIpsAnnotation, kApiServerPortAnnotation,
                   kKubeSpanIpAnnotation, kKubeSpanPublicKeyAnnotation, kAssignedPrefixesAnnotation,
                   kKubeSpanEndpointsAnnotation, kExcludeAdvertisedNetworksAnnotation}) {
    values.try_emplace(std::string(key), std::nullopt);
  }
  return values;
}

TEST(KubernetesAnnotations, ZeroAffiliateRemovesEveryAnnotation) {
  const auto annotations = annotations_from_affiliate("", rc::AffiliateSpec());
  EXPECT_EQ(annotations.size(), 8u);
  EXPECT_EQ(annotations, all_keys({}));
}

TEST(KubernetesAnnotations, KubeSpanWorker) {
  rc::AffiliateSpec spec;
  spec.set_node_id(kNodeId);
  *spec.add_addresses() = net::ip("10.0.0.2");
  *spec.add_addresses() = net::ip("192.168.3.4");
  auto& ks = *spec.mutable_kube_span();
  ks.set_public_key(kPublicKey);
  *ks.mutable_address() = net::ip("fd50:8d60:4238:6302:f857:23ff:fe21:d1e0");
  *ks.add_additional_addresses() = net::prefix("10.244.3.1/24");
  *ks.add_endpoints() = net::ip_port("10.0.0.2:51820");
  *ks.add_endpoints() = net::ip_port("192.168.3.4:51820");
  *ks.add_exclude_advertised_networks() = net::prefix("0.0.0.0/0");
  *ks.add_exclude_advertised_networks() = net::prefix("::/0");

  EXPECT_EQ(annotations_from_affiliate(kNodeId, spec),
            all_keys({
                {"cluster.talos.dev/node-id", kNodeId},
                {"networking.talos.dev/self-ips", "10.0.0.2,192.168.3.4"},
                {"networking.talos.dev/kubespan-public-key", kPublicKey},
                {"networking.talos.dev/kubespan-ip", "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0"},
                {"networking.talos.dev/assigned-prefixes", "10.244.3.1/24"},
                {"networking.talos.dev/kubespan-endpoints", "10.0.0.2:51820,192.168.3.4:51820"},
                {"networking.talos.dev/kubespan-exclude-advertised-networks", "0.0.0.0/0,::/0"},
            }));
}

TEST(KubernetesAnnotations, ControlPlaneAnnouncesItsApiServerPort) {
  rc::AffiliateSpec spec;
  spec.set_node_id(kNodeId);
  *spec.add_addresses() = net::ip("fd00::1");
  spec.mutable_control_plane()->set_api_server_port(443);
  const auto annotations = annotations_from_affiliate("other-id", spec);
  // The node-id annotation is the resource ID, which is the node ID for the local affiliate.
  EXPECT_EQ(annotations, all_keys({{"cluster.talos.dev/node-id", "other-id"},
                                   {"networking.talos.dev/self-ips", "fd00::1"},
                                   {"networking.talos.dev/api-server-port", "443"}}));
}

kubernetes::Node discovered_node() {
  kubernetes::Node node;
  node.name = "foo";
  node.hostname = "foo.com";
  node.os_image = "Talos (v1.0.0)";
  node.labels = {{"node-role.kubernetes.io/control-plane", ""}};
  node.annotations = {
      {"cluster.talos.dev/node-id", kNodeId},
      {"networking.talos.dev/self-ips", "10.0.0.2,192.168.3.4"},
      {"networking.talos.dev/kubespan-public-key", kPublicKey},
      {"networking.talos.dev/kubespan-ip", "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0"},
      {"networking.talos.dev/assigned-prefixes", "10.244.3.1/24"},
      {"networking.talos.dev/kubespan-endpoints", "10.0.0.2:51820,[fd00::2]:51820"},
      {"networking.talos.dev/kubespan-exclude-advertised-networks", "0.0.0.0/0,::/0"},
  };
  return node;
}

TEST(KubernetesAnnotations, NodeWithoutNodeIdIsNoAffiliate) {
  auto node = discovered_node();
  node.annotations.erase("cluster.talos.dev/node-id");
  EXPECT_FALSE(affiliate_from_node(node));
  kubernetes::Node bare;
  bare.name = "bare";
  EXPECT_FALSE(affiliate_from_node(bare));
}

TEST(KubernetesAnnotations, DiscoveredNode) {
  const auto spec = affiliate_from_node(discovered_node());
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->node_id(), kNodeId);
  EXPECT_EQ(spec->nodename(), "foo");
  EXPECT_EQ(spec->hostname(), "foo.com");
  EXPECT_EQ(spec->operating_system(), "Talos (v1.0.0)");
  EXPECT_EQ(spec->machine_type(), enums::TYPE_CONTROL_PLANE);
  EXPECT_FALSE(spec->has_control_plane());
  ASSERT_EQ(spec->addresses_size(), 2);
  EXPECT_EQ(net::ip_text(spec->addresses(0).ip()), "10.0.0.2");
  EXPECT_EQ(net::ip_text(spec->addresses(1).ip()), "192.168.3.4");
  const auto& ks = spec->kube_span();
  EXPECT_EQ(ks.public_key(), kPublicKey);
  EXPECT_EQ(net::ip_text(ks.address().ip()), "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0");
  ASSERT_EQ(ks.additional_addresses_size(), 1);
  EXPECT_EQ(net::text(ks.additional_addresses(0)), "10.244.3.1/24");
  ASSERT_EQ(ks.endpoints_size(), 2);
  EXPECT_EQ(net::text(ks.endpoints(0)), "10.0.0.2:51820");
  EXPECT_EQ(net::text(ks.endpoints(1)), "[fd00::2]:51820");
  ASSERT_EQ(ks.exclude_advertised_networks_size(), 2);
  EXPECT_EQ(net::text(ks.exclude_advertised_networks(1)), "::/0");

  // Back to annotations: the same strings (the node-id is the affiliate's resource ID).
  auto again = annotations_from_affiliate(kNodeId, *spec);
  for (const auto& [key, value] : discovered_node().annotations) {
    EXPECT_EQ(again[key], value) << key;
  }
}

TEST(KubernetesAnnotations, ControlPlaneNodeWithoutKubeSpan) {
  kubernetes::Node node;
  node.name = "cp";
  node.annotations = {{"cluster.talos.dev/node-id", kNodeId},
                      {"networking.talos.dev/api-server-port", "6443"}};
  const auto spec = affiliate_from_node(node);
  ASSERT_TRUE(spec);
  ASSERT_TRUE(spec->has_control_plane());
  EXPECT_EQ(spec->control_plane().api_server_port(), 6443);
  // No label: a worker, whatever the port says (a Node cannot say "init" either).
  EXPECT_EQ(spec->machine_type(), enums::TYPE_WORKER);
  EXPECT_FALSE(spec->has_kube_span());
  EXPECT_EQ(spec->addresses_size(), 0);
}

TEST(KubernetesAnnotations, UnparsableItemsAreSkipped) {
  kubernetes::Node node;
  node.name = "odd";
  node.annotations = {
      {"cluster.talos.dev/node-id", kNodeId},
      {"networking.talos.dev/self-ips", "10.0.0.1,,nonsense,10.0.0.300,fd00::1"},
      {"networking.talos.dev/api-server-port", "64x3"},
      {"networking.talos.dev/kubespan-ip", "not-an-ip"},
      // A bare address is not a prefix (Go's netip.ParsePrefix wants the bits).
      {"networking.talos.dev/assigned-prefixes", "10.1.0.0/16,10.2.0.0,10.3.0.0/33"},
      {"networking.talos.dev/kubespan-endpoints", "10.0.0.1:51820,fd00::1:51820,10.0.0.1:99999"},
  };
  const auto spec = affiliate_from_node(node);
  ASSERT_TRUE(spec);
  ASSERT_EQ(spec->addresses_size(), 2);
  EXPECT_EQ(net::ip_text(spec->addresses(1).ip()), "fd00::1");
  EXPECT_FALSE(spec->has_control_plane());
  ASSERT_TRUE(spec->has_kube_span());
  EXPECT_TRUE(spec->kube_span().address().ip().empty());
  ASSERT_EQ(spec->kube_span().additional_addresses_size(), 1);
  EXPECT_EQ(net::text(spec->kube_span().additional_addresses(0)), "10.1.0.0/16");
  ASSERT_EQ(spec->kube_span().endpoints_size(), 1);
  EXPECT_EQ(net::text(spec->kube_span().endpoints(0)), "10.0.0.1:51820");
}

}  // namespace
}  // namespace controllers::cluster
