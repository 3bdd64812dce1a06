// MemberController, as Talos's MemberController behaves.
#include "controllers/cluster/controllers.h"

#include <gtest/gtest.h>

#include "resources/cluster/cluster.h"
#include "tests/controllers/harness.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
namespace enums = talos::resource::definitions::enums;
using runtime::resource::Pointer;

TEST(MemberController, OneMemberPerNodename) {
  testing::Harness h;
  h.add(make_member_controller());
  h.start();
  auto put = [&](const char* id, const char* node, const char* ip, enums::MachineType type) {
    rc::AffiliateSpec a;
    a.set_node_id(id);
    a.set_nodename(node);
    a.set_hostname("foo.com");
    a.set_machine_type(type);
    a.set_operating_system("Talos (v1.0.0)");
    *a.add_addresses() = values::net::ip(ip);
    if (type == enums::TYPE_CONTROL_PLANE) a.mutable_control_plane()->set_api_server_port(6443);
    h.put(Pointer{"cluster", std::string(rc::kAffiliateType), id}, a);
  };
  put("7x1Su", "bar", "192.168.3.4", enums::TYPE_CONTROL_PLANE);
  put("9dwH", "worker-1", "192.168.3.5", enums::TYPE_WORKER);
  put("xCnF", "", "192.168.3.6", enums::TYPE_WORKER);

  const Pointer bar{"cluster", std::string(rc::kMemberType), "bar"};
  auto m = h.wait_for<rc::MemberSpec>(bar);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->node_id(), "7x1Su");
  EXPECT_EQ(values::net::ip_text(m->addresses(0).ip()), "192.168.3.4");
  EXPECT_EQ(m->hostname(), "foo.com");
  EXPECT_EQ(m->machine_type(), enums::TYPE_CONTROL_PLANE);
  EXPECT_EQ(m->operating_system(), "Talos (v1.0.0)");
  EXPECT_EQ(m->control_plane().api_server_port(), 6443);
  const Pointer worker{"cluster", std::string(rc::kMemberType), "worker-1"};
  ASSERT_TRUE(h.wait_for<rc::MemberSpec>(worker));
  EXPECT_EQ(h.state().list({"cluster", std::string(rc::kMemberType)}).size(), 2u);

  h.remove({"cluster", std::string(rc::kAffiliateType), "9dwH"});
  EXPECT_TRUE(h.wait_gone(worker));
  EXPECT_NE(h.state().get(bar), nullptr);
}

}  // namespace
}  // namespace controllers::cluster
