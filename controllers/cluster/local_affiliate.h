// cluster.LocalAffiliateController: the local node's Affiliate cluster/<nodeId> from the discovery
// config, the identity and the host inputs (reference 3.4).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace runtime::controller {
class Controller;
}

namespace controllers::cluster {

// `operating_system` is what the affiliate announces (Talos: "Talos (v1.15.0)").
std::unique_ptr<runtime::controller::Controller> make_local_affiliate_controller(
    std::string operating_system);

// siderolabs/net FilterIPs (reference 9.4): filters in order, "!" removes. IPs are raw bytes.
// Throws std::invalid_argument naming a filter that is not a CIDR or IP.
std::vector<std::string> filter_ips(const std::vector<std::string>& ips,
                                    const std::vector<std::string>& filters);

}  // namespace controllers::cluster
