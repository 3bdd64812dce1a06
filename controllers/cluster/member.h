// cluster.MemberController: a Member cluster/<nodename> for every Affiliate with a nodename
// (reference 3.9).
#pragma once

#include <memory>

namespace runtime::controller {
class Controller;
}

namespace controllers::cluster {

std::unique_ptr<runtime::controller::Controller> make_member_controller();

}  // namespace controllers::cluster
