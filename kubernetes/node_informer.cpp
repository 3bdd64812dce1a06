// The informer's loop on a thread of its own, over the blocking Client: list, watch from the
// list's version, watch again when the server ends the stream, list again after a 410 or an error.
// Destruction cancels the client, which ends whatever call the loop is in.
#include "kubernetes/node_informer.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "kubernetes/internal/background.h"
#include "platform/backoff.h"
#include "platform/log_value.h"

namespace kubernetes {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A watch that the server ends this soon without a single event is taken as a failure, so a
// server that keeps closing streams at once is retried with backoff instead of in a tight loop.
constexpr auto kShortWatch = std::chrono::seconds(1);

class InformerImpl final : public NodeInformer {
 public:
  InformerImpl(std::unique_ptr<Client> client, std::string server, InformerOptions options,
               boost::asio::any_io_executor notify, std::function<void()> on_change)
      : client_(std::move(client)),
        options_(std::move(options)),
        notifier_(std::move(notify), std::move(on_change)),
        backoff_(options_.backoff_initial, options_.backoff_max, 2.0),
        log_("kubernetes_node_informer", "server=" + server + " selector=\"" +
                                             platform::log_value(options_.field_selector) + "\""),
        nodes_(std::make_shared<const NodeMap>()),
        thread_([this] { run(); }) {}

  ~InformerImpl() override {
    notifier_.stop();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    client_->cancel();
    thread_.join();
  }

  std::shared_ptr<const NodeMap> nodes() const override {
    std::lock_guard lock(mu_);
    return nodes_;
  }
  bool synced() const override {
    std::lock_guard lock(mu_);
    return synced_;
  }
  std::optional<std::string> last_error() const override {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  // An error that is not the API's: it is handled as a failed call.
  struct WatchTooShort {};

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Sleeps for `delay` unless the informer is being destroyed; false then.
  bool sleep(std::chrono::milliseconds delay) {
    std::unique_lock lock(mu_);
    return !wake_.wait_for(lock, delay, [this] { return stopping_; });
  }

  void run() {
    std::string version;  // where the next watch starts; empty: list first
    bool relisted_after_gone = false;
    while (!stopping()) {
      try {
        if (version.empty()) version = list();
        watch(version, relisted_after_gone);
      } catch (const ApiError& e) {
        if (stopping()) break;
        // A 410 means the version is too old to watch from: list again at once, but only once in
        // a row, so a server that answers every watch with 410 still backs off.
        if (e.status() == 410 && !version.empty() && !relisted_after_gone) {
          spdlog::debug("kubernetes_node_informer_relist reason=\"{}\"", e.reason());
          version.clear();
          relisted_after_gone = true;
          continue;
        }
        if (!fail(e.what())) break;
        version.clear();
      } catch (const WatchTooShort&) {
        if (!fail("the watch ended at once without an event")) break;
        version.clear();
      } catch (const std::exception& e) {
        // Not the API's (allocation, OpenSSL): the loop must outlive it like any failure.
        if (stopping() || !fail(e.what())) break;
        version.clear();
      }
    }
  }

  // Lists and publishes everything; returns the list's version.
  std::string list() {
    NodeList list = client_->list_nodes(options_.field_selector);
    auto next = std::make_shared<NodeMap>();
    for (auto& node : list.items) {
      if (!node.name.empty()) (*next)[node.name] = std::move(node);
    }
    succeed(std::move(next));
    return list.resource_version;
  }

  // Watches from `version` (kept current) until the server ends the stream.
  void watch(std::string& version, bool& relisted_after_gone) {
    const auto started = SteadyClock::now();
    bool any = false;
    client_->watch_nodes(version, options_.field_selector, [&](const WatchEvent& event) {
      any = true;
      relisted_after_gone = false;
      if (!event.node.resource_version.empty()) version = event.node.resource_version;
      if (event.type == WatchEvent::Type::kBookmark || event.node.name.empty()) return;
      auto next = std::make_shared<NodeMap>(*current_);
      if (event.type == WatchEvent::Type::kDeleted) {
        next->erase(event.node.name);
      } else {
        (*next)[event.node.name] = event.node;
      }
      succeed(std::move(next));
    });
    if (!any && !stopping() && SteadyClock::now() - started < kShortWatch) throw WatchTooShort{};
  }

  // On the loop's thread: the mirror is current as `next` (null: unchanged).
  void succeed(std::shared_ptr<const NodeMap> next) {
    backoff_.reset();
    log_.succeeded();
    bool changed = false;
    {
      std::lock_guard lock(mu_);
      if (next) {
        changed = *next != *nodes_;
        nodes_ = next;
      }
      changed = changed || !synced_ || last_error_.has_value();
      synced_ = true;
      last_error_.reset();
    }
    if (next) current_ = std::move(next);
    if (changed) notifier_.notify();
  }

  // On the loop's thread: records the error and sleeps before the next try; false when the
  // informer is being destroyed.
  bool fail(const std::string& error) {
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(backoff_.next());
    log_.failed(error, delay);
    bool changed = false;
    {
      std::lock_guard lock(mu_);
      changed = synced_ || last_error_ != error;
      synced_ = false;
      last_error_ = error;
    }
    if (changed) notifier_.notify();
    return sleep(delay);
  }

  const std::unique_ptr<Client> client_;
  const InformerOptions options_;
  internal::Notifier notifier_;

  // Owned by the loop's thread.
  platform::Backoff backoff_;
  internal::FailureLog log_;
  std::shared_ptr<const NodeMap> current_ = std::make_shared<const NodeMap>();

  mutable std::mutex mu_;         // guards what the getters read and stopping_
  std::condition_variable wake_;  // ends a backoff sleep at destruction
  bool stopping_ = false;
  std::shared_ptr<const NodeMap> nodes_;
  bool synced_ = false;
  std::optional<std::string> last_error_;

  std::thread thread_;  // last: it starts once everything above is constructed
};

}  // namespace

std::unique_ptr<NodeInformer> start_node_informer(Credentials credentials, InformerOptions options,
                                                  boost::asio::any_io_executor notify,
                                                  std::function<void()> on_change) {
  std::string server = credentials.server;
  auto client = make_client(std::move(credentials), options.client);
  return std::make_unique<InformerImpl>(std::move(client), std::move(server), std::move(options),
                                        std::move(notify), std::move(on_change));
}

}  // namespace kubernetes
