// An example plugin: one resource, cluster/MemberSummaries.example.tds.dev/members, counting the
// cluster's members by machine type (`nodectl get membersummaries`). It shows the whole plugin
// surface: a new resource type with print columns, and a controller that reads a built-in type
// (through its YAML, so the plugin needs none of machined's protobuf code) and writes its own.
#include <yaml-cpp/yaml.h>

#include "runtime/controller/controller.h"
#include "runtime/controller/runtime.h"
#include "runtime/plugin/plugin.h"
#include "runtime/registry/registry.h"

namespace {

namespace rc = runtime::controller;
namespace rr = runtime::resource;

constexpr char kNamespace[] = "cluster";
constexpr char kSummaryType[] = "MemberSummaries.example.tds.dev";
constexpr char kSummaryId[] = "members";
constexpr char kMemberType[] = "Members.cluster.talos.dev";

class MemberSummaryController final : public rc::Controller {
 public:
  std::string name() const override { return "example.MemberSummaryController"; }
  std::vector<rc::Input> inputs() const override {
    return {{kNamespace, kMemberType, std::nullopt, rc::InputKind::kWeak}};
  }
  std::vector<rc::Output> outputs() const override {
    return {{kSummaryType, rc::OutputKind::kExclusive}};
  }

  void reconcile(rc::Runtime& rt) override {
    int total = 0, control_planes = 0, workers = 0;
    for (const auto& member : rt.list(rr::Kind{kNamespace, kMemberType})) {
      if (!member->spec) continue;
      const auto type = YAML::Load(member->spec->yaml())["machineType"].as<std::string>("");
      ++total;
      if (type == "controlplane" || type == "init") ++control_planes;
      if (type == "worker") ++workers;
    }
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "total" << YAML::Value << total << YAML::Key
        << "controlPlanes" << YAML::Value << control_planes << YAML::Key << "workers"
        << YAML::Value << workers << YAML::EndMap;
    const rr::Pointer ptr{kNamespace, kSummaryType, kSummaryId};
    const std::string yaml = std::string(out.c_str()) + "\n";
    rt.modify(ptr, [&](const rr::ResourcePtr& current) {
      rr::Resource next{current ? current->metadata : rr::Metadata(ptr),
                        std::make_shared<rr::OpaqueSpec>("", yaml)};
      return next;
    });
  }
};

void register_plugin(runtime::plugin::Host& host) {
  runtime::registry::ResourceType type;
  type.definition.type = kSummaryType;
  type.definition.default_namespace = kNamespace;
  type.definition.print_columns = {{"Total", "{.total}"},
                                   {"Control Planes", "{.controlPlanes}"},
                                   {"Workers", "{.workers}"}};
  host.registry().add_type(std::move(type));
  host.register_controller(std::make_unique<MemberSummaryController>());
}

const tds_plugin_descriptor kDescriptor{runtime::plugin::kAbiVersion, "member-summary",
                                        &register_plugin};

}  // namespace

extern "C" const tds_plugin_descriptor* tds_plugin_v1() { return &kDescriptor; }
