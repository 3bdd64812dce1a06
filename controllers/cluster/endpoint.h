// cluster.EndpointController: the control plane members' addresses as k8s Endpoint
// controlplane/discovery (reference 3.10).
#pragma once

#include <memory>

namespace runtime::controller {
class Controller;
}

namespace controllers::cluster {

std::unique_ptr<runtime::controller::Controller> make_endpoint_controller();

}  // namespace controllers::cluster
