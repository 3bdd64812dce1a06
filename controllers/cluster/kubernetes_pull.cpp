// The Kubernetes registry's pull side: every other Node that carries a node-id annotation
// becomes a raw affiliate cluster-raw/k8s/<nodeId>, kept current by a Node watch.
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controllers/cluster/controllers.h"
#include "controllers/cluster/kubernetes_annotations.h"
#include "controllers/cluster/kubernetes_source.h"
#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "kubernetes/node_informer.h"
#include "resources/k8s/k8s.h"
#include "runtime/controller/typed.h"

namespace controllers::cluster {
namespace {

class KubernetesPullController final : public ctl::Controller {
 public:
  explicit KubernetesPullController(KubernetesApi api) : api_(std::move(api)) {}

  std::string name() const override { return "cluster.KubernetesPullController"; }

  std::vector<ctl::Input> inputs() const override {
    return {internal::active_config_input(),
            ctl::input<rk::Nodename>(ctl::InputKind::kWeak, rk::kNodenameId)};
  }

  std::vector<ctl::Output> outputs() const override {
    return {ctl::output<rc::Affiliate>(ctl::OutputKind::kShared)};
  }

  void reconcile(ctl::Runtime& rt) override {
    const auto source = kubernetes_source(rt);
    if (source != source_) {
      informer_.reset();
      source_.reset();
      if (source) start(rt, *source);
      source_ = source;
    }
    if (!informer_) {
      // Off: nothing of this registry stays (Talos removes the affiliates too, but keeps
      // watching; here the watch stops as well).
      rt.start_tracking_outputs();
      rt.cleanup_outputs({runtime::resource::kind_of<rc::Affiliate>(rc::kRawNamespace)});
      return;
    }
    const auto nodename = ctl::get<rk::Nodename>(rt, rk::kNodenameId);
    const auto nodes = informer_->nodes();
    // Before the first list there is nothing to say; afterwards the mirror holds the last
    // known Nodes through API server outages, so the affiliates stay.
    if (!nodename || (!informer_->synced() && nodes->empty())) return;

    rt.start_tracking_outputs();
    for (const auto& [name, node] : *nodes) {
      if (name == nodename->nodename()) continue;  // the local node comes from LocalAffiliate
      auto affiliate = affiliate_from_node(node);
      if (!affiliate) continue;
      ctl::modify<rc::Affiliate>(
          rt, std::string(rc::kRawKubernetesPrefix) + affiliate->node_id(),
          [&](rc::AffiliateSpec& current) { current = *affiliate; }, rc::kRawNamespace);
    }
    rt.cleanup_outputs({runtime::resource::kind_of<rc::Affiliate>(rc::kRawNamespace)});
  }

  // Destroying the informer on this strand guarantees its on_change never runs afterwards.
  void stop() override { informer_.reset(); }

 private:
  void start(ctl::Runtime& rt, const config::KubernetesRegistry& source) {
    auto credentials = api_.load_credentials(source);  // throws: the engine retries with backoff
    spdlog::info("kubernetes registry watching nodes credentials=\"{}\"", credentials.description);
    informer_ = api_.start_informer(std::move(credentials), {}, rt.executor(),
                                    [rt = &rt] { rt->queue_reconcile(); });
  }

  const KubernetesApi api_;
  // Owned by the controller's strand (all methods run there).
  std::optional<config::KubernetesRegistry> source_;
  std::unique_ptr<kubernetes::NodeInformer> informer_;
};

}  // namespace

ControllerPtr make_kubernetes_pull_controller(KubernetesApi api) {
  return std::make_unique<KubernetesPullController>(std::move(api));
}

ControllerPtr make_kubernetes_pull_controller() { return make_kubernetes_pull_controller({}); }

}  // namespace controllers::cluster
