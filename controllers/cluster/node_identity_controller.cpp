// The node identity controller: publishes the ID of the state directory's identity file.
#include <spdlog/spdlog.h>

#include "controllers/cluster/controllers.h"
#include "controllers/cluster/node_identity.h"
#include "controllers/internal/names.h"
#include "resources/cluster/cluster.h"
#include "runtime/controller/typed.h"

namespace controllers::cluster {
namespace {

class NodeIdentityController final : public ctl::Controller {
 public:
  explicit NodeIdentityController(std::filesystem::path dir) : dir_(std::move(dir)) {}

  std::string name() const override { return "cluster.NodeIdentityController"; }
  std::vector<ctl::Input> inputs() const override { return {}; }
  std::vector<ctl::Output> outputs() const override {
    return {ctl::output<rc::Identity>(ctl::OutputKind::kShared)};
  }
  std::vector<std::filesystem::path> node_state() const override {
    return {dir_ / kNodeIdentityFile};
  }

  void reconcile(ctl::Runtime& rt) override {
    // Established once per process, as Talos does; the file is the source of truth.
    if (node_id_.empty()) {
      node_id_ = load_or_create_node_id(dir_);
      spdlog::info("node identity established node_id={}", node_id_);
    }
    ctl::modify<rc::Identity>(rt, rc::kLocalIdentityId,
                              [&](rc::IdentitySpec& spec) { spec.set_node_id(node_id_); });
  }

 private:
  const std::filesystem::path dir_;
  std::string node_id_;  // controller strand
};

}  // namespace

ControllerPtr make_node_identity_controller(std::filesystem::path state_dir) {
  return std::make_unique<NodeIdentityController>(std::move(state_dir));
}

}  // namespace controllers::cluster
