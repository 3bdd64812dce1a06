// The controller engine: watches every input kind once, maps changes to dependent controllers,
// and runs each controller on its own strand with coalesced wake-ups and restart backoff.
#include "runtime/controller/engine.h"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange under C++20

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <map>
#include <mutex>
#include <set>
#include <spdlog/spdlog.h>

#include "platform/log_value.h"
#include "runtime/controller/internal/backoff.h"
#include "runtime/controller/internal/controller_runtime.h"
#include "runtime/controller/internal/counting_executor.h"
#include "runtime/controller/internal/dependency_db.h"

namespace runtime::controller {
namespace {

using internal::WorkCounter;
using state::Error;
using state::ErrorCode;

using Strand = boost::asio::strand<state::Executor>;

// A strand of `executor` whose queued and pending work is counted by `counter`.
state::Executor counted_strand(const state::Executor& executor,
                               const std::shared_ptr<WorkCounter>& counter) {
  return internal::CountingExecutor<Strand>(boost::asio::make_strand(executor), counter);
}

// Waits for a counter to drain, saying every few seconds who is still busy.
void wait_quiet(WorkCounter& counter, const std::string& who) {
  constexpr auto kReport = std::chrono::seconds(5);
  while (!counter.wait_idle(std::chrono::steady_clock::now() + kReport)) {
    spdlog::warn("controller engine stop waiting who={} (stop() left work pending)", who);
  }
}

std::string format_ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

// One registered controller: its strand, scheduling state and Runtime.
class Runner final : public std::enable_shared_from_this<Runner>, public internal::SchedulerHooks {
 public:
  using InputsChanged = std::function<void(const std::string&, const std::vector<Input>&)>;

  Runner(std::unique_ptr<Controller> controller, std::string name, state::State& state,
         const state::Executor& executor, const BackoffOptions& backoff,
         InputsChanged inputs_changed)
      : controller_(std::move(controller)),
        name_(std::move(name)),
        work_(std::make_shared<WorkCounter>()),
        strand_(counted_strand(executor, work_)),
        inputs_changed_(std::move(inputs_changed)),
        runtime_(state, name_, controller_->inputs(), controller_->outputs(), *this),
        backoff_(backoff),
        backoff_timer_(strand_) {}

  const std::string& name() const { return name_; }

  // Any thread: start() and the first reconcile.
  void start() {
    launched_.store(true);
    queue_reconcile();
  }

  // Any thread: after this no reconcile starts; stop() runs on the strand after any pass in
  // flight. wait_quiet() then blocks until the controller has nothing pending.
  void stop() {
    if (stopping_.exchange(true) || !launched_.load()) return;
    boost::asio::post(strand_, [self = shared_from_this()] { self->stop_on_strand(); });
  }
  void wait_quiet() { controller::wait_quiet(*work_, "controller=" + name_); }

  ControllerStats stats() const {
    return {name_, wakeups_.load(), reconciles_.load(), crashes_.load()};
  }
  std::vector<std::filesystem::path> node_state() const { return controller_->node_state(); }

  // SchedulerHooks.
  state::Executor executor() const override { return strand_; }
  void queue_reconcile() override {
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    if (stopping_.load(std::memory_order_relaxed)) return;
    // Only the first trigger posts; triggers while a pass is queued collapse into it, and
    // triggers during a pass (the flag is cleared as it begins) queue exactly one more.
    if (queued_.exchange(true)) return;
    boost::asio::post(strand_, [self = shared_from_this()] { self->run(); });
  }
  void update_inputs(const std::vector<Input>& inputs) override { inputs_changed_(name_, inputs); }
  void reset_restart_backoff() override { backoff_.reset(); }

 private:
  // Everything below runs on strand_.
  void run() {
    queued_.store(false);
    if (stopped_ || in_backoff_) return;  // the backoff timer queues the next pass
    if (!started_) {
      spdlog::info("controller starting controller={}", name_);
      try {
        controller_->start(runtime_);
        started_ = true;
      } catch (const std::exception& e) {
        crash(e.what(), "start");
        return;
      } catch (...) {
        crash("unknown exception", "start");
        return;
      }
    }
    reconciles_.fetch_add(1, std::memory_order_relaxed);
    try {
      controller_->reconcile(runtime_);
      runtime_.end_pass();
      backoff_.reset();
    } catch (const std::exception& e) {
      runtime_.end_pass();
      crash(e.what(), "reconcile");
    } catch (...) {
      runtime_.end_pass();
      crash("unknown exception", "reconcile");
    }
  }

  void crash(const std::string& error, const char* stage) {
    crashes_.fetch_add(1, std::memory_order_relaxed);
    const auto delay = backoff_.next();
    spdlog::error("controller crashed controller={} stage={} error=\"{}\" backoff={}", name_, stage,
                  platform::log_value(error), format_ms(delay));
    in_backoff_ = true;
    backoff_timer_.expires_after(delay);
    backoff_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped_) return;
      spdlog::info("controller restarting controller={}", self->name_);
      self->in_backoff_ = false;
      self->queue_reconcile();
    });
  }

  void stop_on_strand() {
    stopped_ = true;
    backoff_timer_.cancel();
    if (!started_) return;
    try {
      controller_->stop();
    } catch (const std::exception& e) {
      spdlog::error("controller stop failed controller={} error=\"{}\"", name_,
                    platform::log_value(e.what()));
    }
    spdlog::info("controller stopped controller={}", name_);
  }

  const std::unique_ptr<Controller> controller_;
  const std::string name_;
  const std::shared_ptr<WorkCounter> work_;
  const state::Executor strand_;
  const InputsChanged inputs_changed_;
  std::atomic<bool> queued_{false};
  std::atomic<bool> launched_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> wakeups_{0};
  std::atomic<std::uint64_t> reconciles_{0};
  std::atomic<std::uint64_t> crashes_{0};

  // Owned by strand_.
  internal::ControllerRuntime runtime_;
  bool started_ = false;
  bool stopped_ = false;
  bool in_backoff_ = false;
  internal::Backoff backoff_;
  boost::asio::steady_timer backoff_timer_;
};

}  // namespace

class Engine::Impl {
 public:
  Impl(state::State& state, state::Executor executor, EngineOptions opts)
      : state_(state),
        executor_(std::move(executor)),
        opts_(opts),
        dispatch_work_(std::make_shared<WorkCounter>()),
        dispatch_(counted_strand(executor_, dispatch_work_)) {}

  void register_controller(std::unique_ptr<Controller> controller) {
    if (!controller) {
      throw Error(ErrorCode::kInvalidArgument, "register_controller: null controller");
    }
    std::string name = controller->name();
    {
      std::lock_guard lock(mu_);
      if (stopped_) {
        throw Error(ErrorCode::kInvalidArgument,
                    "register_controller " + name + ": the engine is stopped");
      }
    }
    db_.add_controller(name, controller->inputs(), controller->outputs());
    auto runner =
        std::make_shared<Runner>(std::move(controller), name, state_, executor_, opts_.backoff,
                                 [this](const std::string& who, const std::vector<Input>& inputs) {
                                   change_inputs(who, inputs);
                                 });
    bool started;
    {
      std::lock_guard lock(mu_);
      runners_[name] = runner;
      started = started_;
    }
    if (started) {
      open_watches(db_.inputs(name));
      runner->start();
    }
  }

  void start() {
    std::vector<std::shared_ptr<Runner>> runners;
    {
      std::lock_guard lock(mu_);
      if (started_ || stopped_) throw Error(ErrorCode::kInvalidArgument, "engine already started");
      started_ = true;
      for (const auto& [name, runner] : runners_) runners.push_back(runner);
    }
    spdlog::info("controller engine starting controllers={}", runners.size());
    for (const auto& kind : db_.input_kinds()) open_watch(kind);
    for (const auto& runner : runners) runner->start();
  }

  void stop() {
    std::vector<std::shared_ptr<Runner>> runners;
    std::map<resource::Kind, std::unique_ptr<state::Watch>> watches;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      watches.swap(watches_);
      for (const auto& [name, runner] : runners_) runners.push_back(runner);
    }
    // Destroyed on the strand they deliver on, so no batch arrives afterwards.
    if (!watches.empty()) {
      boost::asio::post(
          dispatch_, [w = std::make_shared<decltype(watches)>(std::move(watches))] { w->clear(); });
    }
    for (const auto& runner : runners) runner->stop();
    wait_quiet(*dispatch_work_, "watches");
    for (const auto& runner : runners) runner->wait_quiet();
    spdlog::info("controller engine stopped controllers={}", runners.size());
  }

  std::vector<ControllerStats> stats() const {
    std::lock_guard lock(mu_);
    std::vector<ControllerStats> out;
    out.reserve(runners_.size());
    for (const auto& [name, runner] : runners_) out.push_back(runner->stats());
    return out;
  }

  std::vector<std::filesystem::path> node_state() const {
    std::lock_guard lock(mu_);
    std::vector<std::filesystem::path> out;
    for (const auto& [name, runner] : runners_) {
      auto files = runner->node_state();
      out.insert(out.end(), files.begin(), files.end());
    }
    return out;
  }

 private:
  // On the controller's strand; the database change is checked before anything else happens.
  void change_inputs(const std::string& name, const std::vector<Input>& inputs) {
    db_.update_inputs(name, inputs);
    open_watches(inputs);
  }

  void open_watches(const std::vector<Input>& inputs) {
    std::set<resource::Kind> kinds;
    for (const auto& in : inputs) kinds.insert(resource::Kind{in.ns, in.type});
    for (const auto& kind : kinds) open_watch(kind);
  }

  // Any thread. The state is called without mu_ held; `opening_` keeps a kind from being
  // opened twice meanwhile.
  void open_watch(const resource::Kind& kind) {
    {
      std::lock_guard lock(mu_);
      if (stopped_ || watches_.count(kind) != 0 || !opening_.insert(kind).second) return;
    }
    std::unique_ptr<state::Watch> watch;
    try {
      state::WatchKindOptions opts;
      opts.bootstrap_bookmark = true;
      watch = state_.watch_kind(
          kind, dispatch_, [this, kind](state::WatchBatch batch) { on_batch(kind, batch); }, opts);
    } catch (...) {
      std::lock_guard lock(mu_);
      opening_.erase(kind);
      throw;
    }
    std::lock_guard lock(mu_);
    opening_.erase(kind);
    if (stopped_) {
      boost::asio::post(dispatch_, [w = std::shared_ptr<state::Watch>(std::move(watch))] {});
      return;
    }
    watches_[kind] = std::move(watch);
  }

  // On dispatch_: wake every controller that depends on a changed resource.
  void on_batch(const resource::Kind& kind, const state::WatchBatch& batch) {
    struct Target {
      internal::Dependent dep;
      std::shared_ptr<Runner> runner;
    };
    std::vector<Target> targets;
    {
      auto deps = db_.dependents(kind);
      std::lock_guard lock(mu_);
      if (stopped_) return;
      for (auto& dep : deps) {
        auto it = runners_.find(dep.controller);
        if (it != runners_.end()) targets.push_back({std::move(dep), it->second});
      }
    }
    if (targets.empty()) return;

    // A resync replaces the view: anything may have changed.
    bool wake_all = batch.resync;
    for (const auto& ev : batch.events) {
      if (wake_all) break;
      switch (ev.type) {
        case state::EventType::kBootstrapped:
        case state::EventType::kNoop:
          continue;
        case state::EventType::kErrored:
          spdlog::warn("controller engine watch error ns={} type={} error=\"{}\"", kind.ns,
                       kind.type, platform::log_value(ev.error));
          wake_all = true;
          continue;
        default:
          break;
      }
      if (!ev.resource) continue;
      const auto& md = ev.resource->metadata;
      for (const auto& t : targets) {
        if (t.dep.id && *t.dep.id != md.id) continue;
        if (t.dep.kind == InputKind::kDestroyReady &&
            !(md.phase == resource::Phase::kTearingDown && md.finalizers.empty())) {
          continue;
        }
        t.runner->queue_reconcile();
      }
    }
    if (wake_all) {
      for (const auto& t : targets) t.runner->queue_reconcile();
    }
  }

  state::State& state_;
  const state::Executor executor_;
  const EngineOptions opts_;
  internal::DependencyDatabase db_;
  const std::shared_ptr<WorkCounter> dispatch_work_;
  const state::Executor dispatch_;  // delivers every watch batch

  mutable std::mutex mu_;  // guards the members below
  bool started_ = false;
  bool stopped_ = false;
  std::map<std::string, std::shared_ptr<Runner>> runners_;
  std::map<resource::Kind, std::unique_ptr<state::Watch>> watches_;
  std::set<resource::Kind> opening_;
};

Engine::Engine(state::State& state, state::Executor executor, EngineOptions opts)
    : impl_(std::make_unique<Impl>(state, std::move(executor), opts)) {}

Engine::~Engine() { impl_->stop(); }

void Engine::register_controller(std::unique_ptr<Controller> controller) {
  impl_->register_controller(std::move(controller));
}

void Engine::start() { impl_->start(); }

void Engine::stop() { impl_->stop(); }

std::vector<ControllerStats> Engine::stats() const { return impl_->stats(); }

std::vector<std::filesystem::path> Engine::node_state() const { return impl_->node_state(); }

}  // namespace runtime::controller
