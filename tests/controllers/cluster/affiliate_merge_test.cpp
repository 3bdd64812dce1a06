// AffiliateMergeController, as Talos's AffiliateMergeController behaves.
#include "controllers/cluster/controllers.h"

#include <gtest/gtest.h>

#include "resources/cluster/affiliate.h"
#include "tests/controllers/harness.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
namespace net = values::net;
namespace enums = talos::resource::definitions::enums;
using runtime::resource::Pointer;

constexpr const char* kA = "7x1SuC8Ege5BGXdAfTEff5iQnlWZLfv9h1LGMxA2pYkC";
constexpr const char* kB = "9dwHNUViZlPlIervqX9Qo256RUhrfhgO0xBBnKcKl4F";

Pointer raw(const std::string& id) { return {"cluster-raw", std::string(rc::kAffiliateType), id}; }
Pointer merged(const std::string& id) { return {"cluster", std::string(rc::kAffiliateType), id}; }

rc::AffiliateSpec affiliate(const char* id, const char* host, const char* node,
                            enums::MachineType type, std::initializer_list<const char*> ips) {
  rc::AffiliateSpec a;
  a.set_node_id(id);
  a.set_hostname(host);
  a.set_nodename(node);
  a.set_machine_type(type);
  for (auto ip : ips) *a.add_addresses() = net::ip(ip);
  return a;
}

TEST(AffiliateMergeController, MergesByNodeIdAndCleansUp) {
  testing::Harness h;
  h.add(make_affiliate_merge_controller());
  h.start();

  auto k8s = affiliate(kA, "foo.com", "bar", enums::TYPE_CONTROL_PLANE, {"192.168.3.4"});
  auto* ks = k8s.mutable_kube_span();
  ks->set_public_key("PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=");
  *ks->mutable_address() = net::ip("fd50:8d60:4238:6302:f857:23ff:fe21:d1e0");
  *ks->add_additional_addresses() = net::prefix("10.244.3.1/24");
  *ks->add_endpoints() = net::ip_port("10.0.0.2:51820");
  *ks->add_endpoints() = net::ip_port("192.168.3.4:51820");
  k8s.mutable_control_plane()->set_api_server_port(6443);
  h.put(raw(std::string("k8s/") + kA), k8s);
  h.put(raw(std::string("service/") + kA),
        affiliate(kA, "foo.com", "bar", enums::TYPE_CONTROL_PLANE, {"192.168.3.4", "10.5.0.2"}));
  h.put(raw(std::string("service/") + kB),
        affiliate(kB, "worker-1", "worker-1", enums::TYPE_WORKER, {"192.168.3.5"}));

  auto a = h.wait_for<rc::AffiliateSpec>(
      merged(kA), [](const rc::AffiliateSpec& s) { return s.addresses_size() == 2; });
  ASSERT_TRUE(a);
  EXPECT_EQ(net::ip_text(a->addresses(1).ip()), "10.5.0.2");
  EXPECT_EQ(a->kube_span().public_key(), "PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=");
  EXPECT_EQ(a->kube_span().endpoints_size(), 2);
  EXPECT_EQ(a->control_plane().api_server_port(), 6443);
  auto b = h.wait_for<rc::AffiliateSpec>(merged(kB));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->kube_span().public_key(), "");
  EXPECT_FALSE(b->has_control_plane());

  h.remove(raw(std::string("k8s/") + kA));
  a = h.wait_for<rc::AffiliateSpec>(
      merged(kA), [](const rc::AffiliateSpec& s) { return !s.has_kube_span(); });
  ASSERT_TRUE(a);
  EXPECT_FALSE(resources::cluster::has_kubespan(a->kube_span()));
  EXPECT_FALSE(a->has_control_plane());

  h.remove(raw(std::string("service/") + kB));
  EXPECT_TRUE(h.wait_gone(merged(kB)));
}

}  // namespace
}  // namespace controllers::cluster
