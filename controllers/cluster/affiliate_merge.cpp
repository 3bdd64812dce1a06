// Merging raw affiliates: grouped by spec node ID; in ID order, so `k8s/` is the base and
// `service/` overlays it.
#include "controllers/cluster/affiliate_merge.h"

#include <map>

#include "resources/cluster/affiliate.h"
#include "runtime/controller/controller.h"
#include "runtime/controller/modify.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;

class AffiliateMergeController final : public runtime::controller::Controller {
 public:
  std::string name() const override { return "cluster.AffiliateMergeController"; }
  std::vector<runtime::controller::Input> inputs() const override {
    return {{std::string(rc::kRawNamespace), std::string(rc::kAffiliateType), std::nullopt,
             runtime::controller::InputKind::kWeak}};
  }
  std::vector<runtime::controller::Output> outputs() const override {
    return {{std::string(rc::kAffiliateType), runtime::controller::OutputKind::kShared}};
  }

  void reconcile(runtime::controller::Runtime& rt) override {
    std::map<std::string, rc::AffiliateSpec> merged;
    for (const auto& r :
         rt.list({std::string(rc::kRawNamespace), std::string(rc::kAffiliateType)})) {
      const auto* spec = runtime::resource::spec_as<rc::AffiliateSpec>(*r);
      if (spec == nullptr || spec->node_id().empty()) continue;
      auto [it, first] = merged.try_emplace(spec->node_id(), *spec);
      if (!first) rc::merge_affiliate(it->second, *spec);
    }
    rt.start_tracking_outputs();
    for (const auto& [id, spec] : merged) {
      runtime::controller::modify<rc::AffiliateSpec>(
          rt, {std::string(rc::kNamespace), std::string(rc::kAffiliateType), id},
          [&](rc::AffiliateSpec& current, runtime::resource::Metadata&) { current = spec; });
    }
    rt.cleanup_outputs({{std::string(rc::kNamespace), std::string(rc::kAffiliateType)}});
  }
};

}  // namespace

std::unique_ptr<runtime::controller::Controller> make_affiliate_merge_controller() {
  return std::make_unique<AffiliateMergeController>();
}

}  // namespace controllers::cluster
