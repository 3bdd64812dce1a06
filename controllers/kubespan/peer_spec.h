// kubespan.PeerSpecController: one KubeSpanPeerSpec kubespan/<public key> per remote affiliate that
// announces KubeSpan, while KubeSpan is enabled (reference 6). What a WireGuard peer needs:
// address, allowed IPs, endpoints and a label (the nodename).
#pragma once

#include <memory>

namespace runtime::controller {
class Controller;
}

namespace controllers::kubespan {

std::unique_ptr<runtime::controller::Controller> make_peer_spec_controller();

}  // namespace controllers::kubespan
