// What the local affiliate controller needs besides its factory (controllers.h).
#pragma once

#include <string>
#include <vector>

#include "runtime/controller/controller.h"

namespace runtime::controller {
class Runtime;
}

namespace controllers::cluster {

// For the controllers that publish the local affiliate (the discovery service and Kubernetes
// registries): keeps `node_id` equal to cluster/Identities/local's node ID and, when it changes,
// makes `inputs` plus the local Affiliate cluster/<nodeId> the controller's inputs. False while
// there is no identity yet.
bool follow_local_affiliate(runtime::controller::Runtime& rt,
                            std::vector<runtime::controller::Input> inputs, std::string& node_id);

// siderolabs/net's FilterIPs, which Talos applies to KubeSpan endpoints: filters in order, "!"
// removes. IPs are raw bytes. Throws std::invalid_argument naming a filter that is not a CIDR or
// IP.
std::vector<std::string> filter_ips(const std::vector<std::string>& ips,
                                    const std::vector<std::string>& filters);

}  // namespace controllers::cluster
