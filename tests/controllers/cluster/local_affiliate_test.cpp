// LocalAffiliateController with the fixture of Talos's local_affiliate_test.go.
#include "controllers/cluster/local_affiliate.h"
#include "controllers/cluster/controllers.h"
#include "controllers/internal/names.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "resources/cluster/affiliate.h"
#include "resources/cluster/cluster.h"
#include "resources/config/config.h"
#include "resources/k8s/k8s.h"
#include "resources/kubespan/kubespan.h"
#include "resources/network/network.h"
#include "tests/controllers/harness.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace net = values::net;
namespace enums = talos::resource::definitions::enums;
using runtime::resource::Pointer;
using ::testing::ElementsAre;

constexpr const char* kNodeId = "sou7yy34ykX3n373Zw1DXKb8zD7UnyKT6HT3QDsGH6L";
const Pointer kDiscovery{"config", std::string(rc::kConfigType), "cluster"};
const Pointer kAffiliate{"cluster", std::string(rc::kAffiliateType), kNodeId};
const Pointer kRouted{"network", std::string(rn::kNodeAddressType), "routed-no-k8s"};
const Pointer kMachineType{"config", std::string(rcfg::kMachineTypeType), "machine-type"};
const Pointer kKsConfig{"config", std::string(rks::kConfigType), "kubespan"};

std::vector<std::string> ips(const rc::AffiliateSpec& a) {
  std::vector<std::string> out;
  for (const auto& ip : a.addresses()) out.push_back(net::ip_text(ip.ip()));
  return out;
}

std::vector<std::string> endpoints(const rc::AffiliateSpec& a) {
  std::vector<std::string> out;
  for (const auto& e : a.kube_span().endpoints()) out.push_back(net::text(e));
  return out;
}

rn::NodeAddressSpec addresses(std::initializer_list<const char*> prefixes) {
  rn::NodeAddressSpec s;
  for (auto p : prefixes) *s.add_addresses() = net::prefix(p);
  return s;
}

class LocalAffiliate : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.add(make_local_affiliate_controller("Linux (1)"));
    h_.start();
    rc::ConfigSpec discovery;
    discovery.set_registry_kubernetes_enabled(true);
    h_.put(kDiscovery, discovery);
    rc::IdentitySpec id;
    id.set_node_id(kNodeId);
    h_.put(Pointer{"cluster", std::string(rc::kIdentityType), "local"}, id);
    rn::HostnameStatusSpec host;
    host.set_hostname("example1");
    h_.put(Pointer{"network", std::string(rn::kHostnameStatusType), "hostname"}, host);
    rk::NodenameSpec node;
    node.set_nodename("example1.com");
    h_.put(Pointer{"k8s", std::string(rk::kNodenameType), "nodename"}, node);
    h_.put(Pointer{"network", std::string(rn::kNodeAddressType), "current-no-k8s"},
           addresses({"172.20.0.2/24", "10.5.0.1/32", "192.168.192.168/24", "2001:123:4567::1/64",
                      "2001:123:4567::1/128", "fdae:41e4:649b:9303:60be:7e36:c270:3238/128"}));
    h_.put(kRouted, addresses({"172.20.0.2/24", "10.5.0.1/32", "192.168.192.168/24",
                               "2001:123:4567::1/64", "2001:123:4567::1/128"}));
  }
  void set_type(enums::MachineType t) {
    rcfg::MachineTypeSpec mt;
    mt.set_machine_type(t);
    h_.put(kMachineType, mt);
  }

  testing::Harness h_;
};

TEST_F(LocalAffiliate, WorkerThenKubeSpanThenDisabled) {
  set_type(enums::TYPE_WORKER);
  auto a = h_.wait_for<rc::AffiliateSpec>(kAffiliate);
  ASSERT_TRUE(a);
  EXPECT_THAT(ips(*a),
              ElementsAre("172.20.0.2", "10.5.0.1", "192.168.192.168", "2001:123:4567::1"));
  EXPECT_EQ(a->hostname(), "example1");
  EXPECT_EQ(a->nodename(), "example1.com");
  EXPECT_EQ(a->machine_type(), enums::TYPE_WORKER);
  EXPECT_EQ(a->operating_system(), "Linux (1)");
  EXPECT_FALSE(a->has_kube_span());
  EXPECT_FALSE(a->has_control_plane());

  const auto ks_addr = net::ip("fd7f:175a:b97c:5602:e871:1bff:feb2:ccee");
  rks::IdentitySpec ksid;
  ksid.mutable_address()->set_ip(ks_addr.ip());
  ksid.mutable_address()->set_prefix_length(128);
  ksid.set_public_key("PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=");
  h_.put(Pointer{"kubespan", std::string(rks::kIdentityType), "local"}, ksid);
  rks::ConfigSpec ksc;
  ksc.set_enabled(true);
  for (auto f : {"0.0.0.0/0", "!192.168.0.0/16", "2001::/16"}) ksc.add_endpoint_filters(f);
  ksc.set_advertise_kubernetes_networks(true);
  *ksc.add_extra_endpoints() = net::ip_port("10.5.0.1:51820");
  *ksc.add_extra_endpoints() = net::ip_port("1.2.3.4:5678");
  *ksc.add_exclude_advertised_networks() = net::prefix("2001:123:4567::/64");
  h_.put(kKsConfig, ksc);
  h_.put(kRouted, addresses({"172.20.0.2/24", "10.5.0.1/32", "192.168.192.168/24",
                             "2001:123:4567::1/64", "2001:123:4567::1/128",
                             "fd7f:175a:b97c:5602:e871:1bff:feb2:ccee/128"}));
  rk::NodeStatusSpec status;
  *status.add_pod_cid_rs() = net::prefix("10.244.1.0/24");
  h_.put(Pointer{"k8s", std::string(rk::kNodeStatusType), "example1.com"}, status);
  for (auto [id, ip] : {std::pair{"a", "1.1.1.1/32"}, std::pair{"b", "2001:123:4567::1/128"}}) {
    rn::AddressStatusSpec s;
    *s.mutable_address() = net::prefix(ip);
    h_.put(Pointer{"cluster", std::string(rn::kAddressStatusType), id}, s);
  }

  a = h_.wait_for<rc::AffiliateSpec>(kAffiliate, [](const rc::AffiliateSpec& s) {
    return s.addresses_size() == 5 && s.kube_span().additional_addresses_size() == 1 &&
           s.kube_span().endpoints_size() == 5;
  });
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kube_span().address().ip(), ks_addr.ip());
  EXPECT_EQ(a->kube_span().public_key(), "PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=");
  EXPECT_EQ(net::text(a->kube_span().additional_addresses(0)), "10.244.1.0/24");
  EXPECT_EQ(a->kube_span().exclude_advertised_networks_size(), 1);
  EXPECT_THAT(endpoints(*a), ElementsAre("172.20.0.2:51820", "10.5.0.1:51820", "1.1.1.1:51820",
                                         "[2001:123:4567::1]:51820", "1.2.3.4:5678"));

  ksc.set_advertise_kubernetes_networks(false);
  h_.put(kKsConfig, ksc);
  ASSERT_TRUE(h_.wait_for<rc::AffiliateSpec>(kAffiliate, [](const rc::AffiliateSpec& s) {
    return s.kube_span().additional_addresses_size() == 0;
  }));

  h_.put(kDiscovery, rc::ConfigSpec());
  EXPECT_TRUE(h_.wait_gone(kAffiliate));
}

TEST_F(LocalAffiliate, ControlPlanePort) {
  set_type(enums::TYPE_CONTROL_PLANE);
  rk::APIServerConfigSpec api;
  api.set_local_port(6445);
  h_.put(Pointer{"controlplane", std::string(rk::kAPIServerConfigType), "final-kube-apiserver"},
         api);
  auto a = h_.wait_for<rc::AffiliateSpec>(
      kAffiliate, [](const rc::AffiliateSpec& s) { return s.has_control_plane(); });
  ASSERT_TRUE(a);
  EXPECT_EQ(a->control_plane().api_server_port(), 6445);
  EXPECT_FALSE(a->has_kube_span());
  h_.put(kDiscovery, rc::ConfigSpec());
  EXPECT_TRUE(h_.wait_gone(kAffiliate));
}

TEST(FilterIps, FollowsFilterOrder) {
  std::vector<std::string> in;
  for (auto ip : {"172.20.0.2", "2001:123:4567::1", "192.168.1.1", "10.0.0.1"}) {
    in.push_back(net::ip(ip).ip());
  }
  auto out = filter_ips(in, {"0.0.0.0/0", "!192.168.0.0/16", "2001::/16"});
  std::vector<std::string> texts;
  for (const auto& ip : out) texts.push_back(net::ip_text(ip));
  EXPECT_THAT(texts, ElementsAre("172.20.0.2", "10.0.0.1", "2001:123:4567::1"));
  EXPECT_THROW(filter_ips(in, {"nonsense"}), std::invalid_argument);
}

}  // namespace
}  // namespace controllers::cluster
