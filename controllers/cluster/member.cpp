// Members from affiliates: keyed by nodename; affiliates without one are not members, and of two
// sharing a nodename the later in ID order wins.
#include "controllers/cluster/member.h"

#include <map>

#include "resources/cluster/cluster.h"
#include "runtime/controller/controller.h"
#include "runtime/controller/modify.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;

class MemberController final : public runtime::controller::Controller {
 public:
  std::string name() const override { return "cluster.MemberController"; }
  std::vector<runtime::controller::Input> inputs() const override {
    return {{std::string(rc::kNamespace), std::string(rc::kAffiliateType), std::nullopt,
             runtime::controller::InputKind::kWeak}};
  }
  std::vector<runtime::controller::Output> outputs() const override {
    return {{std::string(rc::kMemberType), runtime::controller::OutputKind::kExclusive}};
  }

  void reconcile(runtime::controller::Runtime& rt) override {
    std::map<std::string, rc::MemberSpec> members;
    for (const auto& r : rt.list({std::string(rc::kNamespace), std::string(rc::kAffiliateType)})) {
      const auto* a = runtime::resource::spec_as<rc::AffiliateSpec>(*r);
      if (a == nullptr || a->nodename().empty()) continue;
      rc::MemberSpec m;
      m.set_node_id(a->node_id());
      *m.mutable_addresses() = a->addresses();
      m.set_hostname(a->hostname());
      m.set_machine_type(a->machine_type());
      m.set_operating_system(a->operating_system());
      if (a->has_control_plane()) *m.mutable_control_plane() = a->control_plane();
      members[a->nodename()] = std::move(m);
    }
    rt.start_tracking_outputs();
    for (const auto& [nodename, spec] : members) {
      runtime::controller::modify<rc::MemberSpec>(
          rt, {std::string(rc::kNamespace), std::string(rc::kMemberType), nodename},
          [&](rc::MemberSpec& current, runtime::resource::Metadata&) { current = spec; });
    }
    rt.cleanup_outputs({{std::string(rc::kNamespace), std::string(rc::kMemberType)}});
  }
};

}  // namespace

std::unique_ptr<runtime::controller::Controller> make_member_controller() {
  return std::make_unique<MemberController>();
}

}  // namespace controllers::cluster
