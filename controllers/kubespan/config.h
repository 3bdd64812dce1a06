// kubespan.ConfigController: machine config -> KubeSpanConfig config/kubespan (reference 6).
#pragma once

#include <memory>

namespace runtime::controller {
class Controller;
}

namespace controllers::kubespan {

std::unique_ptr<runtime::controller::Controller> make_config_controller();

}  // namespace controllers::kubespan
