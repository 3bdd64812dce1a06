// KubeSpan's controllers (Talos's kubespan controllers), one file each, named after what it
// produces.
#pragma once

#include <filesystem>
#include <memory>

#include "runtime/controller/controller.h"

namespace controllers::node {
class HostFacts;
}

namespace controllers::kubespan {

using runtime::controller::ControllerPtr;

// KubeSpanConfig config/kubespan from the machine config.
ControllerPtr make_config_controller();

// KubeSpanIdentity kubespan/local while KubeSpan is enabled: a WireGuard key pair kept in
// <state_dir>/kubespan-identity.yaml and the KubeSpan address derived from the cluster ID and the
// MAC (HostConfig's hardwareAddress, else host->first_mac(); without either it fails and retries).
ControllerPtr make_identity_controller(std::filesystem::path state_dir,
                                       std::shared_ptr<const node::HostFacts> host);

// KubeSpanPeerSpec kubespan/<public key> for every other affiliate with KubeSpan.
ControllerPtr make_peer_spec_controller();

// KubeSpanEndpoint kubespan/<peer public key> {affiliateID, endpoint} while
// harvestExtraEndpoints is on: each peer that WireGuard reports Up with an endpoint. The peer
// statuses come from whatever runs WireGuard (a plugin, or an operator writing
// KubeSpanPeerStatuses over the socket); machined writes none itself.
ControllerPtr make_endpoint_controller();

}  // namespace controllers::kubespan
