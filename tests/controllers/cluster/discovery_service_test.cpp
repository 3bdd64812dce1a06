// DiscoveryServiceController against our discovery-service in-process on 127.0.0.1 (ephemeral
// port): nodes in one cluster see each other as cluster-raw `service/<id>`, a reset deletes the
// record remotely, dropping the endpoint drops the raw affiliates, a wrong key isolates a node.
#include "controllers/cluster/discovery_service.h"
#include "controllers/cluster/controllers.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "discovery/server/clock.h"
#include "discovery/server/service.h"
#include "discovery/server/state.h"
#include "resources/cluster/cluster.h"
#include "resources/kubespan/kubespan.h"
#include "resources/machine/machine.h"
#include "resources/network/network.h"
#include "tests/controllers/harness.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
namespace net = values::net;
using google::protobuf::util::MessageDifferencer;
using testing::eventually;
using testing::Harness;
using testing::Pointer;

const std::string kCluster = "dsc-test-cluster";
const std::string kKey(32, 'k');
const std::string kOtherKey(32, 'o');

class TestServer {
 public:
  TestServer() {
    discovery::server::ServerOptions options;
    options.address = "127.0.0.1:0";
    server_ = discovery::server::start_server(state_, options);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  std::size_t registered() const { return state_.list(kCluster).size(); }

 private:
  discovery::server::SteadyClock clock_;
  discovery::server::State state_{clock_};
  std::unique_ptr<discovery::server::Server> server_;
};

Pointer raw(const std::string& node_id) {
  return {std::string(rc::kRawNamespace), std::string(rc::kAffiliateType),
          std::string(rc::kRawServicePrefix) + node_id};
}

Pointer config_ptr() {
  return {std::string(rc::kConfigNamespace), std::string(rc::kConfigType),
          std::string(rc::kConfigId)};
}

rc::ConfigSpec config(const std::string& endpoint, const std::string& key) {
  rc::ConfigSpec c;
  c.set_service_cluster_id(kCluster);
  c.set_service_encryption_key(key);
  if (!endpoint.empty()) {
    auto* e = c.add_service_endpoints();
    e->set_name("default");
    e->set_endpoint(endpoint);
    e->set_insecure(true);
  }
  return c;
}

// A worker with one address and no KubeSpan.
rc::AffiliateSpec plain_affiliate(const std::string& node_id) {
  rc::AffiliateSpec a;
  a.set_node_id(node_id);
  a.set_hostname(node_id + ".example");
  a.set_nodename(node_id);
  a.set_operating_system("Test OS");
  a.set_machine_type(talos::resource::definitions::enums::TYPE_WORKER);
  *a.add_addresses() = net::ip("192.168.3.5");
  return a;
}

// A control plane with every KubeSpan field set.
rc::AffiliateSpec full_affiliate(const std::string& node_id) {
  rc::AffiliateSpec a = plain_affiliate(node_id);
  a.set_machine_type(talos::resource::definitions::enums::TYPE_CONTROL_PLANE);
  *a.add_addresses() = net::ip("fd50::1");
  auto* ks = a.mutable_kube_span();
  ks->set_public_key("PLPNBddmTgHJhOw0vcq3vXJHIUk5xD8QtE1MZwsDvGg=");
  *ks->mutable_address() = net::ip("fd50:8d60:4238:6302:f857:23ff:fe21:d1e0");
  *ks->add_additional_addresses() = net::prefix("10.244.3.1/24");
  *ks->add_endpoints() = net::ip_port("10.0.0.2:51820");
  *ks->add_endpoints() = net::ip_port("[fd50::1]:51820");
  *ks->add_exclude_advertised_networks() = net::prefix("0.0.0.0/0");
  a.mutable_control_plane()->set_api_server_port(6443);
  return a;
}

// One node: its own state and engine running only the controller, with hand-made inputs.
class Node {
 public:
  Node(std::string node_id, const std::string& endpoint, const std::string& key,
       const rc::AffiliateSpec& local, DiscoveryServiceOptions options = {})
      : id_(std::move(node_id)) {
    rc::IdentitySpec identity;
    identity.set_node_id(id_);
    h_.put(Pointer{std::string(rc::kNamespace), std::string(rc::kIdentityType),
                   std::string(rc::kLocalIdentityId)},
           identity);
    h_.put(config_ptr(), config(endpoint, key));
    h_.put(Pointer{std::string(rc::kNamespace), std::string(rc::kAffiliateType), id_}, local);
    h_.add(make_discovery_service_controller(std::move(options)));
    h_.start();
  }

  const std::string& id() const { return id_; }
  Harness& h() { return h_; }

  std::optional<rc::AffiliateSpec> wait_peer(const std::string& id) {
    return h_.wait_for<rc::AffiliateSpec>(raw(id));
  }
  void signal_reset() {
    h_.put(Pointer{std::string(resources::machine::kNamespace),
                   std::string(resources::machine::kResetSignalType),
                   std::string(resources::machine::kResetSignalId)},
           resources::machine::MachineResetSignalSpec{});
  }
  std::size_t raw_count() {
    return h_.state()
        .list({std::string(rc::kRawNamespace), std::string(rc::kAffiliateType)})
        .size();
  }

 private:
  std::string id_;
  Harness h_;
};

TEST(DiscoveryServiceController, NodesSeeEachOtherThenResetAndDisable) {
  TestServer server;
  const auto full = full_affiliate("nodeA");
  const auto plain = plain_affiliate("nodeB");
  Node a("nodeA", server.address(), kKey, full);
  Node b("nodeB", server.address(), kKey, plain);

  auto b_seen_by_a = a.wait_peer("nodeB");
  auto a_seen_by_b = b.wait_peer("nodeA");
  ASSERT_TRUE(b_seen_by_a);
  ASSERT_TRUE(a_seen_by_b);
  // Every field survives spec -> plaintext -> encrypted -> service -> decrypted -> spec.
  EXPECT_TRUE(MessageDifferencer::Equals(*a_seen_by_b, full)) << a_seen_by_b->DebugString();
  EXPECT_TRUE(MessageDifferencer::Equals(*b_seen_by_a, plain)) << b_seen_by_a->DebugString();
  EXPECT_EQ(a_seen_by_b->kube_span().endpoints_size(), 2);
  EXPECT_EQ(a_seen_by_b->control_plane().api_server_port(), 6443);
  EXPECT_FALSE(b_seen_by_a->has_kube_span());
  EXPECT_FALSE(b_seen_by_a->has_control_plane());
  EXPECT_EQ(a.raw_count(), 1u);  // never itself

  auto ip = a.h().wait_for<resources::network::AddressStatusSpec>(
      {std::string(rc::kNamespace), std::string(resources::network::kAddressStatusType),
       "service"});
  ASSERT_TRUE(ip);
  EXPECT_EQ(net::text(ip->address()), "127.0.0.1/32");

  // A reset deletes B's record at the service, so A loses it.
  b.signal_reset();
  EXPECT_TRUE(a.h().wait_gone(raw("nodeB")));

  // No endpoint configured: B stops its client and drops what it learnt from it.
  b.h().put(config_ptr(), config("", kKey));
  EXPECT_TRUE(b.h().wait_gone(raw("nodeA")));
  EXPECT_EQ(b.raw_count(), 0u);
}

TEST(DiscoveryServiceController, ResetReportsLeftOnceTheServiceAcknowledgedTheDelete) {
  TestServer server;
  std::atomic<int> left{0};
  std::atomic<std::size_t> registered_when_left{999};
  DiscoveryServiceOptions options;
  options.on_left = [&] {
    registered_when_left = server.registered();
    ++left;
  };
  Node a("nodeA", server.address(), kKey, plain_affiliate("nodeA"), std::move(options));
  Node b("nodeB", server.address(), kKey, plain_affiliate("nodeB"));
  ASSERT_TRUE(b.wait_peer("nodeA"));
  EXPECT_EQ(left, 0);

  a.signal_reset();
  ASSERT_TRUE(eventually([&] { return left > 0; }));
  // Reported after the service dropped the record, not merely after asking.
  EXPECT_EQ(registered_when_left, 1u);
  EXPECT_TRUE(b.h().wait_gone(raw("nodeA")));
  // Later reconciles (B's record changing A's view) do not report again.
  b.h().put(Pointer{std::string(rc::kNamespace), std::string(rc::kAffiliateType), "nodeB"},
            full_affiliate("nodeB"));
  ASSERT_TRUE(a.wait_peer("nodeB"));
  EXPECT_EQ(left, 1);
}

TEST(DiscoveryServiceController, ResetWithoutServicesReportsLeftAtOnce) {
  std::atomic<int> left{0};
  DiscoveryServiceOptions options;
  options.on_left = [&] { ++left; };
  Node a("nodeA", "", kKey, plain_affiliate("nodeA"), std::move(options));
  a.signal_reset();
  EXPECT_TRUE(eventually([&] { return left == 1; }));
}

TEST(DiscoveryServiceController, ObservedKubeSpanEndpointsReachOtherNodes) {
  TestServer server;
  Node a("nodeA", server.address(), kKey, full_affiliate("nodeA"));
  Node b("nodeB", server.address(), kKey, plain_affiliate("nodeB"));
  ASSERT_TRUE(b.wait_peer("nodeA"));

  // B observed A at 1.1.1.1:343: the service merges it into A's record, which C then reads.
  resources::kubespan::EndpointSpec observed;
  observed.set_affiliate_id("nodeA");
  *observed.mutable_endpoint() = net::ip_port("1.1.1.1:343");
  b.h().put(Pointer{std::string(resources::kubespan::kNamespace),
                    std::string(resources::kubespan::kEndpointType),
                    full_affiliate("nodeA").kube_span().public_key()},
            observed);
  Node c("nodeC", server.address(), kKey, plain_affiliate("nodeC"));
  auto seen = c.h().wait_for<rc::AffiliateSpec>(
      raw("nodeA"), [](const rc::AffiliateSpec& s) { return s.kube_span().endpoints_size() == 3; });
  ASSERT_TRUE(seen);
  EXPECT_EQ(net::text(seen->kube_span().endpoints(2)), "1.1.1.1:343");
}

TEST(DiscoveryServiceController, WrongKeySeesNothingAndIsNotSeen) {
  TestServer server;
  Node a("nodeA", server.address(), kKey, plain_affiliate("nodeA"));
  Node b("nodeB", server.address(), kOtherKey, plain_affiliate("nodeB"));
  Node c("nodeC", server.address(), kKey, plain_affiliate("nodeC"));

  // A and C (same key) find each other and all three are registered, so B's and A's watches
  // have had every record to decrypt.
  ASSERT_TRUE(a.wait_peer("nodeC"));
  ASSERT_TRUE(c.wait_peer("nodeA"));
  ASSERT_TRUE(testing::eventually([&] { return server.registered() == 3; }));
  ASSERT_TRUE(b.h().wait_for<resources::network::AddressStatusSpec>(
      {std::string(rc::kNamespace), std::string(resources::network::kAddressStatusType),
       "service"}));

  EXPECT_EQ(b.raw_count(), 0u);
  EXPECT_FALSE(a.h().get<rc::AffiliateSpec>(raw("nodeB")));
  EXPECT_FALSE(c.h().get<rc::AffiliateSpec>(raw("nodeB")));
}

TEST(DiscoveryServiceController, WireConversionSkipsInvalidData) {
  discovery::client::Affiliate wire;
  wire.data.set_node_id("x");
  wire.data.set_machine_type("");
  wire.data.add_addresses("bad");
  wire.data.add_addresses(std::string("\x0a\x00\x00\x01", 4));
  wire.endpoints.emplace_back().set_ip(std::string("\x0a\x00\x00\x01", 4));
  auto spec = from_discovery_affiliate(wire);
  EXPECT_EQ(spec.machine_type(), talos::resource::definitions::enums::TYPE_WORKER);
  ASSERT_EQ(spec.addresses_size(), 1);
  EXPECT_FALSE(spec.has_kube_span());  // endpoints without KubeSpan are dropped

  auto* ks = wire.data.mutable_kubespan();
  ks->set_address("short");
  auto* p = ks->add_additional_addresses();
  p->set_ip(std::string(4, '\0'));
  p->set_bits(33);
  wire.endpoints.emplace_back().set_ip("x");
  spec = from_discovery_affiliate(wire);
  ASSERT_TRUE(spec.has_kube_span());
  EXPECT_TRUE(spec.kube_span().address().ip().empty());
  EXPECT_EQ(spec.kube_span().additional_addresses_size(), 0);
  EXPECT_EQ(spec.kube_span().endpoints_size(), 1);

  wire.data.set_machine_type("nonsense");
  EXPECT_EQ(from_discovery_affiliate(wire).machine_type(),
            talos::resource::definitions::enums::TYPE_UNKNOWN);
}

}  // namespace
}  // namespace controllers::cluster
