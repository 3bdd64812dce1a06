// The short names every controller uses for the resource groups and the controller runtime, so
// that a controller's code reads as its mapping and not as a list of aliases.
#pragma once

namespace resources::cluster {}
namespace resources::config {}
namespace resources::k8s {}
namespace resources::kubespan {}
namespace resources::machine {}
namespace resources::network {}
namespace runtime::controller {}

namespace controllers {

namespace rc = resources::cluster;
namespace rcfg = resources::config;
namespace rk = resources::k8s;
namespace rks = resources::kubespan;
namespace rm = resources::machine;
namespace rn = resources::network;
namespace ctl = runtime::controller;

}  // namespace controllers
