// Control plane endpoints: addresses of init and controlplane members, IPv4 first then bytewise,
// not deduplicated; the output is kept (empty) when there are none, as in Talos.
#include "controllers/cluster/endpoint.h"

#include <algorithm>

#include "resources/cluster/cluster.h"
#include "resources/k8s/k8s.h"
#include "runtime/controller/controller.h"
#include "runtime/controller/modify.h"
#include "values/machine_type.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
namespace rk = resources::k8s;

class EndpointController final : public runtime::controller::Controller {
 public:
  std::string name() const override { return "cluster.EndpointController"; }
  std::vector<runtime::controller::Input> inputs() const override {
    return {{std::string(rc::kNamespace), std::string(rc::kMemberType), std::nullopt,
             runtime::controller::InputKind::kWeak}};
  }
  std::vector<runtime::controller::Output> outputs() const override {
    return {{std::string(rk::kEndpointType), runtime::controller::OutputKind::kShared}};
  }

  void reconcile(runtime::controller::Runtime& rt) override {
    std::vector<std::string> ips;
    for (const auto& r : rt.list({std::string(rc::kNamespace), std::string(rc::kMemberType)})) {
      const auto* m = runtime::resource::spec_as<rc::MemberSpec>(*r);
      if (m == nullptr || !values::is_control_plane(m->machine_type())) continue;
      for (const auto& a : m->addresses()) ips.push_back(a.ip());
    }
    std::stable_sort(ips.begin(), ips.end(), [](const std::string& a, const std::string& b) {
      return values::net::compare(a, b) < 0;
    });
    runtime::controller::modify<rk::EndpointSpec>(
        rt,
        {std::string(rk::kControlPlaneNamespace), std::string(rk::kEndpointType),
         std::string(rk::kDiscoveryEndpointId)},
        [&](rk::EndpointSpec& spec, runtime::resource::Metadata&) {
          spec.clear_addresses();
          for (const auto& ip : ips) spec.add_addresses()->set_ip(ip);
        });
  }
};

}  // namespace

std::unique_ptr<runtime::controller::Controller> make_endpoint_controller() {
  return std::make_unique<EndpointController>();
}

}  // namespace controllers::cluster
