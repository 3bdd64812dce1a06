// kubespan.EndpointController with the cases of Talos's endpoint_test.go: a peer Up
// with an endpoint and a matching affiliate is harvested; Unknown peers and peers without an
// affiliate are not; turning harvesting off removes what was harvested.
#include "controllers/kubespan/controllers.h"

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

constexpr const char* kNodeId = "7x1SuC8Ege5BGXdAfTEff5iQnlWZLfv9h1LGMxA2pYkC";
constexpr const char* kKeyUp = "PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=";
constexpr const char* kKeyUnknown = "Zr5ewpUm2Ywo1c+/59WFKIBjZ3c/nVbIWsT5elbjwCU=";
constexpr const char* kKeyStranger = "mB6WlFOR66Jx5rtPMIpxJ3s4XHyer9NCzqWPP7idGRo=";

Pointer endpoint_ptr(const std::string& key) {
  return {"kubespan", std::string(rks::kEndpointType), key};
}

class Harvest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.add(make_endpoint_controller());
    h_.start();
  }
  void set_harvest(bool on) {
    rks::ConfigSpec c;
    c.set_enabled(true);
    c.set_harvest_extra_endpoints(on);
    h_.put(Pointer{"config", std::string(rks::kConfigType), "kubespan"}, c);
  }
  void put_status(const std::string& key, enums::KubespanPeerState state,
                  const std::string& endpoint) {
    rks::PeerStatusSpec s;
    s.set_state(state);
    *s.mutable_endpoint() = net::ip_port(endpoint);
    h_.put(Pointer{"kubespan", std::string(rks::kPeerStatusType), key}, s);
  }
  testing::Harness h_;
};

TEST_F(Harvest, UpPeersWithAnAffiliate) {
  set_harvest(true);
  rc::AffiliateSpec a;
  a.set_node_id(kNodeId);
  a.mutable_kube_span()->set_public_key(kKeyUp);
  h_.put(Pointer{"cluster", std::string(rc::kAffiliateType), kNodeId}, a);
  rc::AffiliateSpec b;  // the Unknown peer's affiliate
  b.set_node_id("9dwHNUViZlPlIervqX9Qo256RUhrfhgO0xBBnKcKl4F");
  b.mutable_kube_span()->set_public_key(kKeyUnknown);
  h_.put(Pointer{"cluster", std::string(rc::kAffiliateType), b.node_id()}, b);

  put_status(kKeyUnknown, enums::PEER_STATE_UNKNOWN, "10.0.0.2:51820");
  put_status(kKeyStranger, enums::PEER_STATE_UP, "10.0.0.3:51820");
  put_status(kKeyUp, enums::PEER_STATE_UP, "10.0.0.1:51820");

  auto e = h_.wait_for<rks::EndpointSpec>(endpoint_ptr(kKeyUp));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->affiliate_id(), kNodeId);
  EXPECT_EQ(net::text(e->endpoint()), "10.0.0.1:51820");
  // The whole kind holds only that one: nothing for Unknown, nothing without an affiliate.
  EXPECT_EQ(h_.state().list({"kubespan", std::string(rks::kEndpointType)}).size(), 1u);

  // The peer goes down: its endpoint is no longer harvested.
  put_status(kKeyUp, enums::PEER_STATE_DOWN, "10.0.0.1:51820");
  EXPECT_TRUE(h_.wait_gone(endpoint_ptr(kKeyUp)));
  put_status(kKeyUp, enums::PEER_STATE_UP, "10.0.0.1:51821");
  ASSERT_TRUE(h_.wait_for<rks::EndpointSpec>(endpoint_ptr(kKeyUp)));

  set_harvest(false);
  EXPECT_TRUE(h_.wait_gone(endpoint_ptr(kKeyUp)));
}

}  // namespace
}  // namespace controllers::kubespan
