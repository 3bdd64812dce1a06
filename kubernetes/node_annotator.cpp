// The annotator: an informer on the one Node whose changes are posted to the annotator's own
// io_context thread, where every decision and every PATCH happens, one at a time.
#include "kubernetes/node_annotator.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <thread>

#include "kubernetes/internal/background.h"
#include "platform/backoff.h"

namespace kubernetes {
namespace {

namespace asio = boost::asio;

// True when `node` has every wanted value and none of the annotations wanted absent.
bool carries(const Node& node, const Annotations& wanted) {
  for (const auto& [key, value] : wanted) {
    const auto found = node.annotations.find(key);
    if (value ? found == node.annotations.end() || found->second != *value
              : found != node.annotations.end()) {
      return false;
    }
  }
  return true;
}

class AnnotatorImpl final : public NodeAnnotator {
 public:
  AnnotatorImpl(Credentials credentials, std::string node_name, InformerOptions options,
                asio::any_io_executor notify, std::function<void()> on_change)
      : node_name_(std::move(node_name)),
        client_(make_client(credentials, options.client)),
        notifier_(std::move(notify), std::move(on_change)),
        retry_(io_),
        backoff_(options.backoff_initial, options.backoff_max, 2.0),
        log_("kubernetes_node_annotator", "node=" + node_name_) {
    // A node credential may list and watch its own Node, by name.
    options.field_selector = "metadata.name=" + node_name_;
    informer_ = start_node_informer(std::move(credentials), std::move(options), io_.get_executor(),
                                    [this] { reconcile(); });
    thread_ = std::thread([this] { io_.run(); });
  }

  ~AnnotatorImpl() override {
    notifier_.stop();
    stopping_ = true;   // before the cancel, so the cancelled PATCH is not taken as a failure
    client_->cancel();  // ends a PATCH in flight; none follows
    asio::post(io_, [this] {
      retry_.cancel();
      // Here, on its notify executor, so its callback cannot run after this.
      informer_.reset();
      work_.reset();
    });
    thread_.join();
  }

  void set(Annotations wanted) override {
    asio::post(io_, [this, wanted = std::move(wanted)]() mutable {
      wanted_ = std::move(wanted);
      reconcile();
    });
  }

  bool applied() const override {
    std::lock_guard lock(mu_);
    return applied_;
  }
  std::optional<std::string> last_error() const override {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  // On the io thread: compares the Node as last seen with what is wanted, patches when they
  // differ and publishes applied() and last_error().
  void reconcile() {
    if (stopping_) return;
    const auto nodes = informer_->nodes();
    const auto found = nodes->find(node_name_);
    const Node* informed = found == nodes->end() ? nullptr : &found->second;
    const Node* seen = informed;
    // The PATCH answer is newer than an informer that has not seen its event yet; once the
    // informer moves past the version that was patched, it is the newer view again.
    if (patched_ && informed != nullptr && informed->uid == patched_->uid &&
        informed->resource_version == patched_from_) {
      seen = &*patched_;
    } else {
      patched_.reset();
    }
    if (seen != nullptr && !carries(*seen, wanted_) && !retry_pending_) {
      seen = patch(seen, informed->resource_version);
    }
    publish(seen != nullptr && carries(*seen, wanted_));
  }

  // Patches the Node last seen as `seen` (the informer's at `informed_version`); returns the
  // Node as now known, null when it is gone.
  const Node* patch(const Node* seen, const std::string& informed_version) {
    try {
      Node result = client_->patch_node_annotations(node_name_, wanted_);
      if (!carries(result, wanted_)) {
        // Something on the server (an admission webhook) changes what we write: patching again
        // on every event would loop, so this waits like an error.
        throw ApiError(200, "NotApplied",
                       "PATCH node " + node_name_ +
                           ": the answer does not carry the annotations that were sent");
      }
      patch_error_.reset();
      backoff_.reset();
      log_.succeeded();
      patched_from_ = informed_version;
      patched_ = std::move(result);
      return &*patched_;
    } catch (const ApiError& e) {
      if (stopping_) return seen;
      if (e.status() == 404) {
        // Deleted since the informer saw it: its DELETED and then ADDED events bring us back.
        patch_error_.reset();
        return nullptr;
      }
      retry_later(e.what());
      return seen;
    } catch (const std::exception& e) {
      // Not the API's (allocation, OpenSSL): retried like any failure.
      if (!stopping_) retry_later(e.what());
      return seen;
    }
  }

  // Records a failed PATCH and reconciles again after the backoff.
  void retry_later(const std::string& error) {
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(backoff_.next());
    log_.failed(error, delay);
    patch_error_ = error;
    retry_pending_ = true;
    retry_.expires_after(delay);
    retry_.async_wait([this](const boost::system::error_code& ec) {
      retry_pending_ = false;
      if (!ec) reconcile();
    });
  }

  void publish(bool applied) {
    std::optional<std::string> error = patch_error_ ? patch_error_ : informer_->last_error();
    bool changed = false;
    {
      std::lock_guard lock(mu_);
      changed = applied_ != applied || last_error_ != error;
      applied_ = applied;
      last_error_ = std::move(error);
    }
    if (changed) notifier_.notify();
  }

  const std::string node_name_;
  const std::unique_ptr<Client> client_;  // the PATCH calls, on the io thread
  internal::Notifier notifier_;

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);

  // Owned by the io thread.
  std::unique_ptr<NodeInformer> informer_;
  asio::steady_timer retry_;  // the backoff after a failed PATCH
  bool retry_pending_ = false;
  platform::Backoff backoff_;
  internal::FailureLog log_;
  Annotations wanted_;
  std::optional<Node> patched_;  // the PATCH answer, until the informer has caught up
  std::string patched_from_;     // the version the informer showed when it was patched
  std::optional<std::string> patch_error_;
  std::atomic<bool> stopping_{false};  // set by the destructor

  mutable std::mutex mu_;  // guards what the getters read
  bool applied_ = false;
  std::optional<std::string> last_error_;

  std::thread thread_;
};

}  // namespace

std::unique_ptr<NodeAnnotator> start_node_annotator(Credentials credentials, std::string node_name,
                                                    InformerOptions options,
                                                    boost::asio::any_io_executor notify,
                                                    std::function<void()> on_change) {
  return std::make_unique<AnnotatorImpl>(std::move(credentials), std::move(node_name),
                                         std::move(options), std::move(notify),
                                         std::move(on_change));
}

}  // namespace kubernetes
