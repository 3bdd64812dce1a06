// kubespan.PeerSpecController with the cases of Talos's peer_spec_test.go, the
// excluded-networks case included.
#include "controllers/kubespan/controllers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "resources/cluster/affiliate.h"
#include "resources/cluster/cluster.h"
#include "resources/kubespan/kubespan.h"
#include "tests/controllers/harness.h"
#include "values/net.h"

namespace controllers::kubespan {
namespace {

namespace rc = resources::cluster;
namespace rks = resources::kubespan;
namespace net = values::net;
namespace enums = talos::resource::definitions::enums;
using runtime::resource::Pointer;
using ::testing::ElementsAre;

constexpr const char* kLocalId = "sou7yy34ykX3n373Zw1DXKb8zD7UnyKT6HT3QDsGH6L";
constexpr const char* kId1 = "7x1SuC8Ege5BGXdAfTEff5iQnlWZLfv9h1LGMxA2pYkC";
constexpr const char* kId2 = "9dwHNUViZlPlIervqX9Qo256RUhrfhgO0xBBnKcKl4F";
constexpr const char* kId3 = "xCnFFfxylOf9i5ynhAkt6ZbfcqaLDGKfIa3gwpuaxe7F";
constexpr const char* kKey1 = "PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=";
constexpr const char* kKey2 = "Zr5ewpUm2Ywo1c+/59WFKIBjZ3c/nVbIWsT5elbjwCU=";
constexpr const char* kKey3 = "mB6WlFOR66Jx5rtPMIpxJ3s4XHyer9NCzqWPP7idGRo";
constexpr const char* kLocalKey = "27E8I+ekrqT21cq2iW6+fDe+H7WBw6q9J7vqLCeswiM=";

Pointer affiliate_ptr(const std::string& id) {
  return {"cluster", std::string(rc::kAffiliateType), id};
}
Pointer peer_ptr(const std::string& key) {
  return {"kubespan", std::string(rks::kPeerSpecType), key};
}

struct KubeSpanData {
  std::string key;
  std::string address;
  std::vector<std::string> additional;
  std::vector<std::string> endpoints;
  std::vector<std::string> exclude;
};

rc::AffiliateSpec affiliate(const std::string& id, const std::string& nodename,
                            std::vector<std::string> addresses,
                            std::optional<KubeSpanData> ks = std::nullopt) {
  rc::AffiliateSpec a;
  a.set_node_id(id);
  a.set_nodename(nodename);
  a.set_machine_type(enums::TYPE_WORKER);
  for (const auto& ip : addresses) *a.add_addresses() = net::ip(ip);
  if (ks) {
    auto* k = a.mutable_kube_span();
    k->set_public_key(ks->key);
    *k->mutable_address() = net::ip(ks->address);
    for (const auto& p : ks->additional) *k->add_additional_addresses() = net::prefix(p);
    for (const auto& e : ks->endpoints) *k->add_endpoints() = net::ip_port(e);
    for (const auto& p : ks->exclude) *k->add_exclude_advertised_networks() = net::prefix(p);
  }
  return a;
}

std::vector<std::string> allowed(const rks::PeerSpecSpec& s) {
  std::vector<std::string> out;
  for (const auto& p : s.allowed_ips()) out.push_back(net::text(p));
  return out;
}
std::vector<std::string> endpoints(const rks::PeerSpecSpec& s) {
  std::vector<std::string> out;
  for (const auto& e : s.endpoints()) out.push_back(net::text(e));
  return out;
}

class PeerSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.add(make_peer_spec_controller());
    h_.start();
    set_enabled(true);
    rc::IdentitySpec id;
    id.set_node_id(kLocalId);
    h_.put(Pointer{"cluster", std::string(rc::kIdentityType), "local"}, id);
  }
  void set_enabled(bool on) {
    rks::ConfigSpec c;
    c.set_enabled(on);
    h_.put(Pointer{"config", std::string(rks::kConfigType), "kubespan"}, c);
  }
  testing::Harness h_;
};

TEST_F(PeerSpec, Reconcile) {
  h_.put(affiliate_ptr(kId1), affiliate(kId1, "bar", {"192.168.3.4"},
                                        KubeSpanData{kKey1,
                                                     "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0",
                                                     {"10.244.3.1/24", "10.244.3.0/32"},
                                                     {"10.0.0.2:51820", "192.168.3.4:51820"},
                                                     {"10.244.3.128/25"}}));
  h_.put(affiliate_ptr(kId2), affiliate(kId2, "worker-1", {"192.168.3.5"}));
  h_.put(affiliate_ptr(kId3), affiliate(kId3, "worker-2", {"192.168.3.6"},
                                        KubeSpanData{kKey3,
                                                     "fdc8:8aee:4e2d:1202:f073:9cff:fe6c:4d67",
                                                     {"10.244.4.1/24"},
                                                     {"192.168.3.6:51820"},
                                                     {}}));
  // The local affiliate is not a peer.
  h_.put(affiliate_ptr(kLocalId), affiliate(kLocalId, "local", {"192.168.3.7"},
                                            KubeSpanData{kLocalKey,
                                                         "fdc8:8aee:4e2d:1202:f073:9cff:fe6c:4d68",
                                                         {"10.244.5.1/24"},
                                                         {"192.168.3.7:51820"},
                                                         {}}));

  auto p1 = h_.wait_for<rks::PeerSpecSpec>(peer_ptr(kKey1));
  ASSERT_TRUE(p1);
  EXPECT_EQ(net::ip_text(p1->address().ip()), "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0");
  EXPECT_THAT(allowed(*p1), ElementsAre("10.244.3.0/25", "192.168.3.4/32",
                                        "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0/128"));
  EXPECT_THAT(endpoints(*p1), ElementsAre("10.0.0.2:51820", "192.168.3.4:51820"));
  EXPECT_EQ(p1->label(), "bar");

  auto p3 = h_.wait_for<rks::PeerSpecSpec>(peer_ptr(kKey3));
  ASSERT_TRUE(p3);
  EXPECT_EQ(net::ip_text(p3->address().ip()), "fdc8:8aee:4e2d:1202:f073:9cff:fe6c:4d67");
  EXPECT_THAT(allowed(*p3), ElementsAre("10.244.4.0/24", "192.168.3.6/32",
                                        "fdc8:8aee:4e2d:1202:f073:9cff:fe6c:4d67/128"));
  EXPECT_THAT(endpoints(*p3), ElementsAre("192.168.3.6:51820"));
  EXPECT_EQ(p3->label(), "worker-2");

  // Exactly the two peers: no spec for the affiliate without KubeSpan nor for the local one.
  const runtime::resource::Kind kind{"kubespan", std::string(rks::kPeerSpecType)};
  EXPECT_EQ(h_.state().list(kind).size(), 2u);
  EXPECT_EQ(h_.state().get(peer_ptr(kLocalKey)), nullptr);

  // A peer that leaves takes its spec with it.
  h_.remove(affiliate_ptr(kId3));
  EXPECT_TRUE(h_.wait_gone(peer_ptr(kKey3)));

  set_enabled(false);
  EXPECT_TRUE(h_.wait_gone(peer_ptr(kKey1)));
  EXPECT_TRUE(h_.state().list(kind).empty());
}

// The later peer (in affiliate ID order) loses the ranges an earlier one claims.
TEST_F(PeerSpec, IpOverlap) {
  h_.put(affiliate_ptr(kId1), affiliate(kId1, "bar", {},
                                        KubeSpanData{kKey1,
                                                     "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0",
                                                     {"10.244.3.1/24", "10.244.3.0/32"},
                                                     {"10.0.0.2:51820", "192.168.3.4:51820"},
                                                     {}}));
  h_.put(affiliate_ptr(kId2), affiliate(kId2, "worker-1", {},
                                        KubeSpanData{kKey2,
                                                     "fd50:8d60:4238:6302:f857:23ff:fe21:d1e1",
                                                     {"10.244.2.0/23", "192.168.3.0/24"},
                                                     {"10.0.0.2:51820", "192.168.3.4:51820"},
                                                     {}}));
  auto p1 = h_.wait_for<rks::PeerSpecSpec>(peer_ptr(kKey1));
  auto p2 = h_.wait_for<rks::PeerSpecSpec>(peer_ptr(kKey2));
  ASSERT_TRUE(p1 && p2);
  EXPECT_THAT(allowed(*p1),
              ElementsAre("10.244.3.0/24", "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0/128"));
  EXPECT_THAT(allowed(*p2), ElementsAre("10.244.2.0/24", "192.168.3.0/24",
                                        "fd50:8d60:4238:6302:f857:23ff:fe21:d1e1/128"));
}

// Nothing without the local identity: the controller cannot tell which affiliate is itself.
TEST_F(PeerSpec, NeedsLocalIdentity) {
  h_.put(affiliate_ptr(kId1),
         affiliate(kId1, "bar", {"192.168.3.4"},
                   KubeSpanData{kKey1, "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0", {}, {}, {}}));
  ASSERT_TRUE(h_.wait_for<rks::PeerSpecSpec>(peer_ptr(kKey1)));
  h_.remove(Pointer{"cluster", std::string(rc::kIdentityType), "local"});
  EXPECT_TRUE(h_.wait_gone(peer_ptr(kKey1)));
}

}  // namespace
}  // namespace controllers::kubespan
