// cluster.AffiliateMergeController: cluster-raw Affiliates merged by node ID into
// cluster/<nodeId> (reference 3.8).
#pragma once

#include <memory>

namespace runtime::controller {
class Controller;
}

namespace controllers::cluster {

std::unique_ptr<runtime::controller::Controller> make_affiliate_merge_controller();

}  // namespace controllers::cluster
