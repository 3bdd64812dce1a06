// Merging raw affiliates, as Talos's AffiliateMergeController: grouped by spec node ID, in ID
// order, so `k8s/` is the base and `service/` overlays it.
#include "controllers/cluster/controllers.h"
#include "controllers/internal/names.h"
#include "resources/cluster/affiliate.h"
#include "runtime/controller/keyed_transform.h"

namespace controllers::cluster {

ControllerPtr make_affiliate_merge_controller() {
  return ctl::make_keyed_transform<rc::Affiliate, rc::Affiliate>({
      .name = "cluster.AffiliateMergeController",
      .input_ns = rc::kRawNamespace,
      .map = [](const ctl::Typed<rc::Affiliate>& raw)
          -> std::optional<std::pair<std::string, rc::AffiliateSpec>> {
        if (raw->node_id().empty()) return std::nullopt;
        return std::pair(raw->node_id(), *raw);
      },
      .fold = rc::merge_affiliate,
      // The local affiliate controller writes this node's own.
      .output_kind = ctl::OutputKind::kShared,
  });
}

}  // namespace controllers::cluster
