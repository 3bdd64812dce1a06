// Harvested endpoints: peer statuses (Up, with an endpoint) joined to affiliates by public key.
#include <map>
#include <string>

#include "controllers/internal/names.h"
#include "controllers/kubespan/controllers.h"
#include "resources/cluster/cluster.h"
#include "resources/kubespan/kubespan.h"
#include "runtime/controller/transform.h"

namespace controllers::kubespan {

namespace enums = talos::resource::definitions::enums;

ControllerPtr make_endpoint_controller() {
  return ctl::make_transform<rks::Endpoint>({
      .name = "kubespan.EndpointController",
      .inputs = {ctl::input<rks::Config>(ctl::InputKind::kWeak, rks::kConfigId),
                 ctl::input<rc::Affiliate>(), ctl::input<rks::PeerStatus>()},
      .map =
          [](ctl::Runtime& rt) {
            ctl::Transform<rks::Endpoint>::Outputs out;
            auto cfg = ctl::get<rks::Config>(rt, rks::kConfigId);
            if (!cfg || !cfg->harvest_extra_endpoints()) return std::optional(std::move(out));
            std::map<std::string, std::string> node_by_key;  // KubeSpan public key -> node ID
            for (const auto& a : ctl::list<rc::Affiliate>(rt)) {
              if (!a->kube_span().public_key().empty()) {
                node_by_key[a->kube_span().public_key()] = a->node_id();
              }
            }
            for (const auto& status : ctl::list<rks::PeerStatus>(rt)) {
              if (status->state() != enums::PEER_STATE_UP) continue;
              if (status->endpoint().ip().empty()) continue;  // no endpoint seen yet
              auto node = node_by_key.find(status.id());
              if (node == node_by_key.end()) continue;
              rks::EndpointSpec& spec = out[status.id()];
              spec.set_affiliate_id(node->second);
              *spec.mutable_endpoint() = status->endpoint();
            }
            return std::optional(std::move(out));
          },
  });
}

}  // namespace controllers::kubespan
