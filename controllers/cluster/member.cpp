// Members from affiliates, as Talos's MemberController: keyed by nodename; affiliates without one
// are not members, and of two sharing a nodename the later in ID order wins.
#include "controllers/cluster/controllers.h"
#include "controllers/internal/names.h"
#include "resources/cluster/cluster.h"
#include "runtime/controller/keyed_transform.h"

namespace controllers::cluster {

ControllerPtr make_member_controller() {
  return ctl::make_keyed_transform<rc::Affiliate, rc::Member>({
      .name = "cluster.MemberController",
      .map = [](const ctl::Typed<rc::Affiliate>& a)
          -> std::optional<std::pair<std::string, rc::MemberSpec>> {
        if (a->nodename().empty()) return std::nullopt;
        rc::MemberSpec m;
        m.set_node_id(a->node_id());
        *m.mutable_addresses() = a->addresses();
        m.set_hostname(a->hostname());
        m.set_machine_type(a->machine_type());
        m.set_operating_system(a->operating_system());
        if (a->has_control_plane()) *m.mutable_control_plane() = a->control_plane();
        return std::pair(a->nodename(), std::move(m));
      },
  });
}

}  // namespace controllers::cluster
