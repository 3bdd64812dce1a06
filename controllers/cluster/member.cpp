// Members from affiliates, as Talos's MemberController: keyed by nodename; affiliates without one
// are not members, and of two sharing a nodename the later in ID order wins.
#include "controllers/cluster/controllers.h"
#include "controllers/internal/names.h"
#include "resources/cluster/cluster.h"
#include "runtime/controller/transform.h"

namespace controllers::cluster {

ControllerPtr make_member_controller() {
  return ctl::make_transform<rc::Member>({
      .name = "cluster.MemberController",
      .inputs = {ctl::input<rc::Affiliate>()},
      .map =
          [](ctl::Runtime& rt) {
            ctl::Transform<rc::Member>::Outputs members;
            for (const auto& a : ctl::list<rc::Affiliate>(rt)) {
              if (a->nodename().empty()) continue;
              rc::MemberSpec m;
              m.set_node_id(a->node_id());
              *m.mutable_addresses() = a->addresses();
              m.set_hostname(a->hostname());
              m.set_machine_type(a->machine_type());
              m.set_operating_system(a->operating_system());
              if (a->has_control_plane()) *m.mutable_control_plane() = a->control_plane();
              members[a->nodename()] = std::move(m);
            }
            return std::optional(std::move(members));
          },
  });
}

}  // namespace controllers::cluster
