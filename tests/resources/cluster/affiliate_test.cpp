// AffiliateSpec merge, with the fixtures of Talos's TestAffiliateSpec_Merge.
#include "resources/cluster/affiliate.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "values/net.h"

namespace resources::cluster {
namespace {

namespace net = values::net;

using google::protobuf::util::MessageDifferencer;
namespace enums = talos::resource::definitions::enums;

void add_ip(AffiliateSpec& a, const char* ip) { *a.add_addresses() = net::ip(ip); }

pb::KubeSpanAffiliateSpec full_kubespan() {
  pb::KubeSpanAffiliateSpec ks;
  ks.set_public_key("PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=");
  *ks.mutable_address() = net::ip("fd50:8d60:4238:6302:f857:23ff:fe21:d1e0");
  *ks.add_additional_addresses() = net::prefix("10.244.3.1/24");
  *ks.add_endpoints() = net::ip_port("10.0.0.2:51820");
  *ks.add_endpoints() = net::ip_port("192.168.3.4:51820");
  return ks;
}

TEST(AffiliateMerge, ZeroPlusZeroIsZero) {
  AffiliateSpec a, b;
  merge_affiliate(a, b);
  EXPECT_TRUE(MessageDifferencer::Equals(a, AffiliateSpec()));
  EXPECT_FALSE(a.has_kube_span());
}

TEST(AffiliateMerge, MergeKubeSpan) {
  AffiliateSpec a;
  a.mutable_control_plane()->set_api_server_port(6443);
  AffiliateSpec b;
  add_ip(b, "10.0.0.2");
  add_ip(b, "192.168.3.4");
  *b.mutable_kube_span() = full_kubespan();

  merge_affiliate(a, b);
  ASSERT_EQ(a.addresses_size(), 2);
  EXPECT_EQ(net::ip_text(a.addresses(0).ip()), "10.0.0.2");
  EXPECT_EQ(net::ip_text(a.addresses(1).ip()), "192.168.3.4");
  EXPECT_TRUE(MessageDifferencer::Equals(a.kube_span(), full_kubespan()));
  EXPECT_EQ(a.control_plane().api_server_port(), 6443);
}

TEST(AffiliateMerge, MergeMixed) {
  AffiliateSpec a;
  add_ip(a, "10.0.0.2");
  *a.mutable_kube_span()->add_endpoints() = net::ip_port("192.168.3.4:51820");
  *a.mutable_kube_span()->add_exclude_advertised_networks() = net::prefix("0.0.0.0/0");
  *a.mutable_kube_span()->add_exclude_advertised_networks() = net::prefix("2007::/64");

  AffiliateSpec b;
  b.set_hostname("foo.com");
  b.set_nodename("bar");
  b.set_machine_type(enums::TYPE_CONTROL_PLANE);
  b.mutable_control_plane()->set_api_server_port(6443);
  add_ip(b, "192.168.3.4");
  *b.mutable_kube_span()->add_endpoints() = net::ip_port("10.0.0.2:51820");
  *b.mutable_kube_span()->add_endpoints() = net::ip_port("192.168.3.4:51820");
  *b.mutable_kube_span()->add_exclude_advertised_networks() = net::prefix("2007::/64");
  *b.mutable_kube_span()->add_additional_addresses() = net::prefix("10.244.3.1/24");

  merge_affiliate(a, b);
  ASSERT_EQ(a.addresses_size(), 2);
  EXPECT_EQ(net::ip_text(a.addresses(1).ip()), "192.168.3.4");
  const auto& ks = a.kube_span();
  ASSERT_EQ(ks.endpoints_size(), 2);
  EXPECT_EQ(net::text(ks.endpoints(0)), "192.168.3.4:51820");
  EXPECT_EQ(net::text(ks.endpoints(1)), "10.0.0.2:51820");
  ASSERT_EQ(ks.exclude_advertised_networks_size(), 2);
  EXPECT_EQ(net::text(ks.exclude_advertised_networks(0)), "0.0.0.0/0");
  EXPECT_EQ(net::text(ks.exclude_advertised_networks(1)), "2007::/64");
  ASSERT_EQ(ks.additional_addresses_size(), 1);
  EXPECT_EQ(net::text(ks.additional_addresses(0)), "10.244.3.1/24");
  EXPECT_EQ(a.hostname(), "foo.com");
  EXPECT_EQ(a.nodename(), "bar");
  EXPECT_EQ(a.machine_type(), enums::TYPE_CONTROL_PLANE);
  EXPECT_EQ(a.control_plane().api_server_port(), 6443);
}

TEST(AffiliateMerge, NeverTakesNodeIdOrOperatingSystemFromOther) {
  AffiliateSpec a;
  a.set_node_id("a");
  AffiliateSpec b;
  b.set_node_id("b");
  b.set_operating_system("Talos (v1.15.0)");
  b.set_machine_type(enums::TYPE_UNKNOWN);
  a.set_machine_type(enums::TYPE_WORKER);
  merge_affiliate(a, b);
  EXPECT_EQ(a.node_id(), "a");
  EXPECT_EQ(a.operating_system(), "");
  EXPECT_EQ(a.machine_type(), enums::TYPE_WORKER);  // unknown does not replace
}

}  // namespace
}  // namespace resources::cluster
