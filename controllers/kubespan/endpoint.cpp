// Harvested endpoints: peer statuses (Up, with an endpoint) joined to affiliates by public key.
#include "controllers/kubespan/endpoint.h"

#include <map>
#include <string>

#include "controllers/internal/get_spec.h"
#include "controllers/internal/inputs.h"
#include "resources/cluster/affiliate.h"
#include "resources/cluster/cluster.h"
#include "resources/kubespan/kubespan.h"
#include "runtime/controller/modify.h"
#include "runtime/controller/runtime.h"

namespace controllers::kubespan {
namespace {

namespace rc = resources::cluster;
namespace rks = resources::kubespan;
namespace enums = talos::resource::definitions::enums;

class EndpointController final : public runtime::controller::Controller {
 public:
  std::string name() const override { return "kubespan.EndpointController"; }

  std::vector<runtime::controller::Input> inputs() const override {
    return {
        internal::weak_input(rks::kConfigNamespace, rks::kConfigType, rks::kConfigId),
        internal::weak_input(rc::kNamespace, rc::kAffiliateType, std::nullopt),
        internal::weak_input(rks::kNamespace, rks::kPeerStatusType, std::nullopt),
    };
  }

  std::vector<runtime::controller::Output> outputs() const override {
    return {{std::string(rks::kEndpointType), runtime::controller::OutputKind::kExclusive}};
  }

  void reconcile(runtime::controller::Runtime& rt) override {
    auto cfg = internal::get_spec<rks::ConfigSpec>(rt, rks::kConfigNamespace, rks::kConfigType,
                                                   rks::kConfigId);
    rt.start_tracking_outputs();
    if (cfg && cfg->harvest_extra_endpoints()) harvest(rt);
    rt.cleanup_outputs({{std::string(rks::kNamespace), std::string(rks::kEndpointType)}});
  }

 private:
  static void harvest(runtime::controller::Runtime& rt) {
    std::map<std::string, std::string> node_by_key;  // KubeSpan public key -> node ID
    for (const auto& r : rt.list({std::string(rc::kNamespace), std::string(rc::kAffiliateType)})) {
      const auto* a = runtime::resource::spec_as<rc::AffiliateSpec>(*r);
      if (a != nullptr && !a->kube_span().public_key().empty()) {
        node_by_key[a->kube_span().public_key()] = a->node_id();
      }
    }
    for (const auto& r :
         rt.list({std::string(rks::kNamespace), std::string(rks::kPeerStatusType)})) {
      const auto* status = runtime::resource::spec_as<rks::PeerStatusSpec>(*r);
      if (status == nullptr || status->state() != enums::PEER_STATE_UP) continue;
      if (status->endpoint().ip().empty()) continue;  // no endpoint seen yet
      auto node = node_by_key.find(r->metadata.id);
      if (node == node_by_key.end()) continue;
      rks::EndpointSpec spec;
      spec.set_affiliate_id(node->second);
      *spec.mutable_endpoint() = status->endpoint();
      runtime::controller::modify<rks::EndpointSpec>(
          rt, {std::string(rks::kNamespace), std::string(rks::kEndpointType), r->metadata.id},
          [&](rks::EndpointSpec& current, runtime::resource::Metadata&) { current = spec; });
    }
  }
};

}  // namespace

std::unique_ptr<runtime::controller::Controller> make_endpoint_controller() {
  return std::make_unique<EndpointController>();
}

}  // namespace controllers::kubespan
