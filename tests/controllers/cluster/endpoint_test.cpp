// EndpointController, as Talos's cluster EndpointController behaves.
#include "controllers/cluster/controllers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "resources/cluster/cluster.h"
#include "resources/k8s/k8s.h"
#include "tests/controllers/harness.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
namespace rk = resources::k8s;
namespace enums = talos::resource::definitions::enums;
using runtime::resource::Pointer;

TEST(EndpointController, ControlPlaneAddressesSorted) {
  testing::Harness h;
  h.add(make_endpoint_controller());
  h.start();
  auto put = [&](const char* name, enums::MachineType type,
                 std::initializer_list<const char*> ips) {
    rc::MemberSpec m;
    m.set_machine_type(type);
    for (auto ip : ips) *m.add_addresses() = values::net::ip(ip);
    h.put(Pointer{"cluster", std::string(rc::kMemberType), name}, m);
  };
  put("cp-1", enums::TYPE_CONTROL_PLANE, {"172.20.0.2", "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0"});
  put("cp-2", enums::TYPE_INIT, {"fd50:8d60:4238:6302:f857:23ff:fe21:d1e1", "172.20.0.3"});
  put("worker", enums::TYPE_WORKER, {"172.20.0.4"});

  auto texts = [](const rk::EndpointSpec& s) {
    std::vector<std::string> out;
    for (const auto& a : s.addresses()) out.push_back(values::net::ip_text(a.ip()));
    return out;
  };
  auto e = h.wait_for<rk::EndpointSpec>(
      {"controlplane", std::string(rk::kEndpointType), "discovery"},
      [](const rk::EndpointSpec& s) { return s.addresses_size() == 4; });
  ASSERT_TRUE(e);
  EXPECT_THAT(texts(*e), ::testing::ElementsAre("172.20.0.2", "172.20.0.3",
                                                "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0",
                                                "fd50:8d60:4238:6302:f857:23ff:fe21:d1e1"));
}

}  // namespace
}  // namespace controllers::cluster
