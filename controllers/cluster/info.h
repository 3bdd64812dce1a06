// cluster.InfoController: machine config -> Info cluster/current (reference 3.3).
#pragma once

#include <memory>

namespace runtime::controller {
class Controller;
}

namespace controllers::cluster {

std::unique_ptr<runtime::controller::Controller> make_info_controller();

}  // namespace controllers::cluster
