// register_controllers wires every controller; end to end, one node with a config and a host
// becomes a Member of its own cluster.
#include "controllers/register.h"

#include <gtest/gtest.h>

#include "controllers/node/host_facts.h"
#include "resources/cluster/cluster.h"
#include "tests/controllers/harness.h"
#include "values/net.h"

namespace controllers {
namespace {

namespace rc = resources::cluster;

class FakeHost final : public node::HostFacts {
 public:
  std::string hostname() const override { return "box"; }
  std::vector<node::HostAddress> addresses() const override {
    return {{values::net::ip("10.1.2.3").ip(), 24}};
  }
  std::string operating_system() const override { return "Fake (1)"; }
  std::string first_mac() const override { return std::string("\x2e\x1a\xb6\x53\x81\x69", 6); }
};

TEST(RegisterControllers, SingleNodeBecomesItsOwnMember) {
  auto dir = std::filesystem::temp_directory_path() /
             ("tds-register-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    testing::Harness h;
    h.put_config(
        "version: v1alpha1\nmachine:\n  type: worker\ncluster:\n  clusterName: c\n---\n"
        "apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: default\n"
        "endpoint: http://127.0.0.1:1\n---\napiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\n"
        "clusterID: id\nclusterSecret: kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=\n");
    h.register_with([&](runtime::controller::Engine& e) {
      register_controllers(e, Dependencies{dir, std::make_shared<FakeHost>()});
    });
    h.start();
    auto m = h.wait_for<rc::MemberSpec>({"cluster", std::string(rc::kMemberType), "box"});
    ASSERT_TRUE(m);
    EXPECT_EQ(m->operating_system(), "Fake (1)");
    EXPECT_EQ(m->addresses_size(), 1);
    EXPECT_FALSE(m->node_id().empty());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace controllers
