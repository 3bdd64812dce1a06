// What the local affiliate controller needs besides its factory (controllers.h).
#pragma once

#include <string>
#include <vector>

namespace controllers::cluster {

// siderolabs/net's FilterIPs, which Talos applies to KubeSpan endpoints: filters in order, "!"
// removes. IPs are raw bytes. Throws std::invalid_argument naming a filter that is not a CIDR or
// IP.
std::vector<std::string> filter_ips(const std::vector<std::string>& ips,
                                    const std::vector<std::string>& filters);

}  // namespace controllers::cluster
