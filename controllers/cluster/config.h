// cluster.ConfigController: machine config -> DiscoveryConfig config/cluster (reference 3.2).
#pragma once

#include <memory>

namespace runtime::controller {
class Controller;
}

namespace controllers::cluster {

std::unique_ptr<runtime::controller::Controller> make_config_controller();

}  // namespace controllers::cluster
