// kubespan.EndpointController, endpoint harvesting (reference 6): while harvestExtraEndpoints is
// on, each peer that WireGuard reports Up with an endpoint becomes a KubeSpanEndpoint
// kubespan/<peer public key> {affiliateID, endpoint}, which the discovery service controller
// publishes for that affiliate. The peer statuses come from whatever runs WireGuard (a plugin or
// an operator writing KubeSpanPeerStatuses over the socket); machined writes none itself.
#pragma once

#include <memory>

namespace runtime::controller {
class Controller;
}

namespace controllers::kubespan {

std::unique_ptr<runtime::controller::Controller> make_endpoint_controller();

}  // namespace controllers::kubespan
