// The Kubernetes registry's push side: the local affiliate as annotations on this node's own
// Node, put back whenever the Node is re-created or the annotations are edited away.
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controllers/cluster/controllers.h"
#include "controllers/cluster/kubernetes_annotations.h"
#include "controllers/cluster/kubernetes_source.h"
#include "controllers/cluster/local_affiliate.h"
#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "kubernetes/node_annotator.h"
#include "runtime/controller/typed.h"

namespace controllers::cluster {
namespace {

class KubernetesPushController final : public ctl::Controller {
 public:
  explicit KubernetesPushController(KubernetesApi api) : api_(std::move(api)) {}

  std::string name() const override { return "cluster.KubernetesPushController"; }

  std::vector<ctl::Input> inputs() const override {
    return {internal::active_config_input(),
            ctl::input<rc::Identity>(ctl::InputKind::kWeak, rc::kLocalIdentityId)};
  }

  std::vector<ctl::Output> outputs() const override { return {}; }

  void reconcile(ctl::Runtime& rt) override {
    const auto source = kubernetes_source(rt);
    if (!source) {
      // As in Talos, turning the registry off leaves the annotations on the Node.
      stop();
      return;
    }
    if (!follow_local_affiliate(rt, inputs(), node_id_)) return;
    const auto local = ctl::get<rc::Affiliate>(rt, node_id_);
    if (!local || local->nodename().empty()) return;

    if (source != source_ || local->nodename() != nodename_) {
      stop();
      auto credentials = api_.load_credentials(*source);  // throws: the engine retries with backoff
      spdlog::info("kubernetes registry annotating node node={} credentials=\"{}\"",
                   local->nodename(), credentials.description);
      annotator_ =
          api_.start_annotator(std::move(credentials), local->nodename(), {}, rt.executor(), [] {});
      source_ = source;
      nodename_ = local->nodename();
    }
    annotator_->set(annotations_from_affiliate(node_id_, *local));
  }

  void stop() override {
    annotator_.reset();
    source_.reset();
    nodename_.clear();
  }

 private:
  const KubernetesApi api_;
  // Owned by the controller's strand (all methods run there).
  std::string node_id_;
  std::optional<config::KubernetesRegistry> source_;
  std::string nodename_;
  std::unique_ptr<kubernetes::NodeAnnotator> annotator_;
};

}  // namespace

ControllerPtr make_kubernetes_push_controller(KubernetesApi api) {
  return std::make_unique<KubernetesPushController>(std::move(api));
}

ControllerPtr make_kubernetes_push_controller() { return make_kubernetes_push_controller({}); }

}  // namespace controllers::cluster
