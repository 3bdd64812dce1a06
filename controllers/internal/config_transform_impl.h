// make_transform's definition, included by the files that instantiate it.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <optional>

#include "controllers/internal/config_transform.h"
#include "runtime/controller/modify.h"
#include "runtime/controller/runtime.h"
#include "resources/config/config.h"

namespace controllers::internal {

template <class Spec>
class TransformController final : public runtime::controller::Controller {
 public:
  explicit TransformController(Transform<Spec> t) : t_(std::move(t)) {}

  std::string name() const override { return t_.name; }
  std::vector<runtime::controller::Input> inputs() const override {
    return {{std::string(resources::config::kNamespace),
             std::string(resources::config::kMachineConfigType),
             std::string(resources::config::kActiveId), runtime::controller::InputKind::kWeak}};
  }
  std::vector<runtime::controller::Output> outputs() const override {
    return {{t_.type, runtime::controller::OutputKind::kExclusive}};
  }

  void start(runtime::controller::Runtime& rt) override {
    if (t_.refresh.count() > 0) {
      timer_.emplace(rt.executor());
      schedule_refresh(rt);
    }
  }
  void stop() override {
    stopped_ = true;
    if (timer_) timer_->cancel();
  }

  void reconcile(runtime::controller::Runtime& rt) override {
    auto cfg = active_config(rt);
    auto wanted = t_.outputs(cfg.get());
    rt.start_tracking_outputs();
    for (auto& [id, spec] : wanted) {
      runtime::controller::modify<Spec>(
          rt, runtime::resource::Pointer{t_.ns, t_.type, id},
          [&](Spec& current, runtime::resource::Metadata&) { current = spec; });
    }
    rt.cleanup_outputs({runtime::resource::Kind{t_.ns, t_.type}});
  }

 private:
  void schedule_refresh(runtime::controller::Runtime& rt) {
    timer_->expires_after(t_.refresh);
    timer_->async_wait([this, &rt](const boost::system::error_code& ec) {
      // A completion already queued when stop() cancelled still arrives with success.
      if (ec || stopped_) return;
      rt.queue_reconcile();
      schedule_refresh(rt);
    });
  }

  Transform<Spec> t_;
  // On the controller's strand, as start(), stop() and the timer's handler are.
  std::optional<boost::asio::steady_timer> timer_;  // with a refresh period only
  bool stopped_ = false;
};

template <class Spec>
std::unique_ptr<runtime::controller::Controller> make_transform(Transform<Spec> t) {
  return std::make_unique<TransformController<Spec>>(std::move(t));
}

}  // namespace controllers::internal
