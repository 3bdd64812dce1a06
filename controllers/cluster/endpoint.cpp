// Control plane endpoints, as Talos's cluster EndpointController: addresses of init and
// controlplane members, IPv4 first then bytewise, not deduplicated; the output is kept (empty)
// when there are none.
#include <algorithm>

#include "controllers/cluster/controllers.h"
#include "controllers/internal/names.h"
#include "resources/cluster/cluster.h"
#include "resources/k8s/k8s.h"
#include "runtime/controller/transform.h"
#include "values/machine_type.h"
#include "values/net.h"

namespace controllers::cluster {

ControllerPtr make_endpoint_controller() {
  return ctl::make_transform<rk::Endpoint>({
      .name = "cluster.EndpointController",
      .inputs = {ctl::input<rc::Member>()},
      .map =
          [](ctl::Runtime& rt) {
            std::vector<std::string> ips;
            for (const auto& m : ctl::list<rc::Member>(rt)) {
              if (!values::is_control_plane(m->machine_type())) continue;
              for (const auto& a : m->addresses()) ips.push_back(a.ip());
            }
            std::stable_sort(ips.begin(), ips.end(),
                             [](const std::string& a, const std::string& b) {
                               return values::net::compare(a, b) < 0;
                             });
            rk::EndpointSpec spec;
            for (const auto& ip : ips) spec.add_addresses()->set_ip(ip);
            return std::optional(ctl::Transform<rk::Endpoint>::Outputs{
                {std::string(rk::kDiscoveryEndpointId), spec}});
          },
      // Kubernetes' own endpoint controller writes the others.
      .output_kind = ctl::OutputKind::kShared,
  });
}

}  // namespace controllers::cluster
