// The generic transform's machinery: the pass (write what changed, destroy what is gone) and the
// optional refresh timer.
#include "runtime/controller/transform.h"

#include <boost/asio/steady_timer.hpp>

namespace runtime::controller::internal {
namespace {

class TransformController final : public Controller {
 public:
  explicit TransformController(SpecTransform t) : t_(std::move(t)) {}

  std::string name() const override { return t_.name; }
  std::vector<Input> inputs() const override { return t_.inputs; }
  std::vector<Output> outputs() const override { return {t_.output}; }

  void start(Runtime& rt) override {
    if (t_.refresh.count() > 0) {
      timer_.emplace(rt.executor());
      schedule_refresh(rt);
    }
  }

  void stop() override {
    stopped_ = true;
    if (timer_) timer_->cancel();
  }

  void reconcile(Runtime& rt) override {
    auto outputs = t_.map(rt);
    if (!outputs) return;
    rt.start_tracking_outputs();
    // Not a structured binding: clang before 16 cannot capture one in a lambda.
    for (const auto& output : *outputs) {
      const auto& id = output.first;
      const auto& spec = output.second;
      rt.modify(resource::Pointer{t_.ns, t_.output.type, id}, [&](const ResourcePtr& current) {
        return Resource{
            current ? current->metadata : resource::Metadata({t_.ns, t_.output.type, id}), spec};
      });
    }
    rt.cleanup_outputs({resource::Kind{t_.ns, t_.output.type}});
  }

 private:
  void schedule_refresh(Runtime& rt) {
    timer_->expires_after(t_.refresh);
    timer_->async_wait([this, &rt](const boost::system::error_code& ec) {
      // A completion already queued when stop() cancelled still arrives with success.
      if (ec || stopped_) return;
      rt.queue_reconcile();
      schedule_refresh(rt);
    });
  }

  const SpecTransform t_;
  // On the controller's strand, as start(), stop() and the timer's handler are.
  std::optional<boost::asio::steady_timer> timer_;  // with a refresh period only
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Controller> make_spec_transform(SpecTransform t) {
  return std::make_unique<TransformController>(std::move(t));
}

}  // namespace runtime::controller::internal
