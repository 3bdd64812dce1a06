// Merging raw affiliates, as Talos's AffiliateMergeController: grouped by spec node ID, in ID
// order, so `k8s/` is the base and `service/` overlays it.
#include "controllers/cluster/controllers.h"
#include "controllers/internal/names.h"
#include "resources/cluster/affiliate.h"
#include "runtime/controller/transform.h"

namespace controllers::cluster {

ControllerPtr make_affiliate_merge_controller() {
  return ctl::make_transform<rc::Affiliate>({
      .name = "cluster.AffiliateMergeController",
      .inputs = {ctl::input<rc::Affiliate>(ctl::InputKind::kWeak, std::nullopt, rc::kRawNamespace)},
      .map =
          [](ctl::Runtime& rt) {
            ctl::Transform<rc::Affiliate>::Outputs merged;
            for (const auto& raw : ctl::list<rc::Affiliate>(rt, rc::kRawNamespace)) {
              if (raw->node_id().empty()) continue;
              auto [it, first] = merged.try_emplace(raw->node_id(), *raw);
              if (!first) rc::merge_affiliate(it->second, *raw);
            }
            return std::optional(std::move(merged));
          },
      // The local affiliate controller writes this node's own.
      .output_kind = ctl::OutputKind::kShared,
  });
}

}  // namespace controllers::cluster
