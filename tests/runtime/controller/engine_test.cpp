// The engine over InMemoryState: convergence through a chain, coalesced wake-ups, restart
// backoff, the destroy-ready teardown flow, long-lived tasks and clean shutdown.
#include "runtime/controller/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "runtime/state/inmem_state.h"
#include "tests/runtime/controller/chain_controller.h"
#include "tests/runtime/controller/test_util.h"

namespace runtime::controller {
namespace {

using ::testing::HasSubstr;
using testing::ChainController;
using testing::eventually;
using testing::kNs;
using testing::opaque;
using testing::value_of;
using std::chrono::milliseconds;

// A switch a reconcile can block on until the test opens it.
class Gate {
 public:
  void close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void pass() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
};

// What a test controller reports back; shared because the engine owns the controller.
struct Probe {
  std::atomic<int> starts{0};
  std::atomic<int> reconciles{0};
  std::atomic<int> finished{0};
  std::atomic<int> stops{0};
  std::atomic<int> fail_budget{0};       // passes left to fail
  std::atomic<bool> reset_before_fail{false};
  std::atomic<bool> reconciled_before_start{false};
  std::atomic<int> finished_at_stop{-1};
  Gate gate;
};

// Watches T0 and reports every step; can block in reconcile and fail on demand.
class ProbeController final : public Controller {
 public:
  ProbeController(std::string name, std::shared_ptr<Probe> probe)
      : name_(std::move(name)), probe_(std::move(probe)) {}

  std::string name() const override { return name_; }
  std::vector<Input> inputs() const override {
    return {Input{kNs, "T0", std::nullopt, InputKind::kWeak}};
  }
  std::vector<Output> outputs() const override {
    return {Output{"P-" + name_, OutputKind::kExclusive}};
  }

  void start(Runtime&) override { ++probe_->starts; }
  void reconcile(Runtime& rt) override {
    if (probe_->starts == 0) probe_->reconciled_before_start = true;
    ++probe_->reconciles;
    probe_->gate.pass();
    if (probe_->fail_budget > 0) {
      --probe_->fail_budget;
      if (probe_->reset_before_fail) rt.reset_restart_backoff();
      throw std::runtime_error("injected failure");
    }
    ++probe_->finished;
  }
  void stop() override {
    probe_->finished_at_stop = probe_->finished.load();
    ++probe_->stops;
  }

 private:
  const std::string name_;
  const std::shared_ptr<Probe> probe_;
};

class EngineTest : public ::testing::Test {
 protected:
  static EngineOptions fast_backoff() {
    EngineOptions opts;
    opts.backoff = BackoffOptions{milliseconds(5), 2.0, 0.5, milliseconds(50)};
    return opts;
  }

  void make_engine(EngineOptions opts = fast_backoff()) {
    engine_ = std::make_unique<Engine>(state_, io_.executor(), opts);
  }

  std::shared_ptr<Probe> add_probe(const std::string& name) {
    auto probe = std::make_shared<Probe>();
    engine_->register_controller(std::make_unique<ProbeController>(name, probe));
    return probe;
  }

  ControllerStats stats(const std::string& name) const {
    for (auto& s : engine_->stats()) {
      if (s.name == name) return s;
    }
    ADD_FAILURE() << "no stats for " << name;
    return {};
  }

  std::map<std::string, std::string> values(const std::string& type) const {
    std::map<std::string, std::string> out;
    for (const auto& r : state_.list({kNs, type})) out[r->metadata.id] = *value_of(r);
    return out;
  }

  void set_t0(const std::string& id, const std::string& value) {
    auto current = state_.get({kNs, "T0", id});
    if (!current) {
      state_.create(opaque("T0", id, value));
      return;
    }
    auto next = opaque("T0", id, value);
    next.metadata.version = current->metadata.version;
    state_.update(next);
  }

  // Declared so that the engine stops before the threads and the state go.
  state::InMemoryState state_;
  testing::IoThreads io_{2};
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, ChainConvergesAndPropagatesUpdatesAndDeletes) {
  make_engine();
  engine_->register_controller(std::make_unique<ChainController>("A", "T0", "T1"));
  engine_->register_controller(std::make_unique<ChainController>("B", "T1", "T2"));
  set_t0("a", "1");
  set_t0("b", "1");
  engine_->start();
  // Registered after start: started at once.
  engine_->register_controller(std::make_unique<ChainController>("C", "T2", "T3"));
  set_t0("c", "1");

  using Values = std::map<std::string, std::string>;
  EXPECT_TRUE(eventually([&] {
    return values("T3") == Values{{"a", "1|A|B|C"}, {"b", "1|A|B|C"}, {"c", "1|A|B|C"}};
  })) << ::testing::PrintToString(values("T3"));

  set_t0("a", "2");
  state_.destroy({kNs, "T0", "b"});
  EXPECT_TRUE(eventually([&] {
    return values("T3") == Values{{"a", "2|A|B|C"}, {"c", "1|A|B|C"}};
  })) << ::testing::PrintToString(values("T3"));
  EXPECT_EQ(values("T1"), (Values{{"a", "2|A"}, {"c", "1|A"}}));
  EXPECT_EQ(state_.get({kNs, "T3", "a"})->metadata.owner, "C");
  for (const char* name : {"A", "B", "C"}) EXPECT_EQ(stats(name).crashes, 0u) << name;
}

TEST_F(EngineTest, ReconcilesOnceAtStartAfterStart) {
  make_engine();
  auto probe = add_probe("P");
  engine_->start();
  ASSERT_TRUE(eventually([&] { return probe->finished == 1; }));
  engine_->stop();
  EXPECT_EQ(probe->starts, 1);
  EXPECT_EQ(probe->reconciles, 1);
  EXPECT_FALSE(probe->reconciled_before_start);
  EXPECT_EQ(probe->stops, 1);
}

TEST_F(EngineTest, TriggersDuringAReconcileCoalesceIntoOneMore) {
  make_engine();
  auto probe = add_probe("P");
  engine_->start();
  ASSERT_TRUE(eventually([&] { return probe->finished == 1; }));

  probe->gate.close();
  set_t0("first", "v");
  ASSERT_TRUE(eventually([&] { return probe->reconciles == 2; }));  // now blocked
  constexpr int kChanges = 50;
  for (int i = 0; i < kChanges; ++i) set_t0("r" + std::to_string(i), "v");
  // Every change has reached the controller (start + first + the rest) before it is released.
  ASSERT_TRUE(eventually([&] { return stats("P").wakeups >= 2u + kChanges; }))
      << stats("P").wakeups;
  probe->gate.open();
  ASSERT_TRUE(eventually([&] { return probe->finished == 3; }));
  // stop() runs after anything already queued on the strand, so an extra pass would show.
  engine_->stop();
  EXPECT_EQ(probe->reconciles, 3);
  EXPECT_EQ(stats("P").reconciles, 3u);
}

TEST_F(EngineTest, FailingControllerBacksOffAndRecovers) {
  make_engine();
  auto probe = std::make_shared<Probe>();
  probe->fail_budget = 3;
  engine_->register_controller(std::make_unique<ProbeController>("P", probe));
  engine_->start();
  ASSERT_TRUE(eventually([&] { return probe->finished == 1; }));
  EXPECT_EQ(probe->reconciles, 4);
  EXPECT_EQ(stats("P").crashes, 3u);
  EXPECT_EQ(probe->starts, 1);  // a restart re-runs reconcile, not start

  // Still reacting to changes after the restarts.
  set_t0("x", "v");
  EXPECT_TRUE(eventually([&] { return probe->finished == 2; }));
}

// The multiplier makes a second un-reset delay 10 s, far past the 5 s wait below: recovering in
// time is only possible when the backoff was reset.
EngineOptions steep_backoff() {
  EngineOptions opts;
  opts.backoff = BackoffOptions{milliseconds(10), 1000.0, 0.0, std::chrono::hours(1)};
  return opts;
}

TEST_F(EngineTest, CleanPassResetsTheBackoff) {
  make_engine(steep_backoff());
  auto probe = std::make_shared<Probe>();
  probe->fail_budget = 1;
  engine_->register_controller(std::make_unique<ProbeController>("P", probe));
  engine_->start();
  ASSERT_TRUE(eventually([&] { return probe->finished == 1; }));

  probe->fail_budget = 1;
  set_t0("x", "v");
  EXPECT_TRUE(eventually([&] { return probe->finished == 2; }, milliseconds(5000)))
      << "the clean pass did not reset the backoff";
  EXPECT_EQ(stats("P").crashes, 2u);
}

TEST_F(EngineTest, ResetRestartBackoffShortensTheNextDelay) {
  make_engine(steep_backoff());
  auto probe = std::make_shared<Probe>();
  probe->fail_budget = 2;
  probe->reset_before_fail = true;
  engine_->register_controller(std::make_unique<ProbeController>("P", probe));
  engine_->start();
  EXPECT_TRUE(eventually([&] { return probe->finished == 1; }, milliseconds(5000)))
      << "reset_restart_backoff did not reset the backoff";
  EXPECT_EQ(stats("P").crashes, 2u);
}

// Fails in start() the first time: the start is retried after the backoff.
class FlakyStartController final : public Controller {
 public:
  explicit FlakyStartController(std::shared_ptr<Probe> probe) : probe_(std::move(probe)) {}
  std::string name() const override { return "flaky"; }
  std::vector<Input> inputs() const override { return {}; }
  std::vector<Output> outputs() const override { return {}; }
  void start(Runtime&) override {
    if (++probe_->starts == 1) throw std::runtime_error("not yet");
  }
  void reconcile(Runtime&) override { ++probe_->finished; }

 private:
  std::shared_ptr<Probe> probe_;
};

TEST_F(EngineTest, FailedStartIsRetried) {
  make_engine();
  auto probe = std::make_shared<Probe>();
  engine_->register_controller(std::make_unique<FlakyStartController>(probe));
  engine_->start();
  ASSERT_TRUE(eventually([&] { return probe->finished == 1; }));
  EXPECT_EQ(probe->starts, 2);
  EXPECT_EQ(stats("flaky").crashes, 1u);
}

TEST_F(EngineTest, RefusesConflictingRegistrationsAndChangesNothing) {
  make_engine();
  auto probe = add_probe("P");
  try {
    add_probe("P");
    FAIL() << "duplicate name accepted";
  } catch (const state::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("already registered"));
  }
  engine_->register_controller(std::make_unique<ChainController>("A", "T0", "T1"));
  EXPECT_THROW(engine_->register_controller(std::make_unique<ChainController>("A2", "T5", "T1")),
               state::Error);
  EXPECT_THROW(engine_->register_controller(nullptr), state::Error);
  EXPECT_EQ(engine_->stats().size(), 2u);
  engine_->start();
  EXPECT_TRUE(eventually([&] { return probe->finished == 1; }));
  engine_->stop();
  EXPECT_THROW(add_probe("late"), state::Error);
}

// A controller that reads what it did not declare: the violation is a crash, not a read.
class TrespassingController final : public Controller {
 public:
  explicit TrespassingController(std::shared_ptr<std::string> error) : error_(std::move(error)) {}
  std::string name() const override { return "trespasser"; }
  std::vector<Input> inputs() const override { return {}; }
  std::vector<Output> outputs() const override { return {}; }
  void reconcile(Runtime& rt) override {
    try {
      rt.list({kNs, "T0"});
    } catch (const state::Error& e) {
      *error_ = e.what();  // written on the strand, read after stop()
      throw;
    }
  }

 private:
  std::shared_ptr<std::string> error_;
};

TEST_F(EngineTest, AccessViolationCrashesTheController) {
  make_engine();
  auto error = std::make_shared<std::string>();
  engine_->register_controller(std::make_unique<TrespassingController>(error));
  engine_->start();
  ASSERT_TRUE(eventually([&] { return stats("trespasser").crashes >= 1u; }));
  engine_->stop();
  EXPECT_THAT(*error, HasSubstr("controller trespasser: list test/T0: not an input or output"));
}

// Starts with no inputs and asks for T0 in its first pass.
class LateInputsController final : public Controller {
 public:
  explicit LateInputsController(std::shared_ptr<std::atomic<int>> seen) : seen_(std::move(seen)) {}
  std::string name() const override { return "late"; }
  std::vector<Input> inputs() const override { return {}; }
  std::vector<Output> outputs() const override { return {}; }
  void reconcile(Runtime& rt) override {
    rt.update_inputs({Input{kNs, "T9", std::nullopt, InputKind::kWeak}});
    *seen_ = static_cast<int>(rt.list({kNs, "T9"}).size());
  }

 private:
  std::shared_ptr<std::atomic<int>> seen_;
};

TEST_F(EngineTest, InputsChangedAtRunTimeTriggerReconciles) {
  make_engine();
  auto seen = std::make_shared<std::atomic<int>>(-1);
  engine_->register_controller(std::make_unique<LateInputsController>(seen));
  engine_->start();
  ASSERT_TRUE(eventually([&] { return *seen == 0; }));
  state_.create(opaque("T9", "x", "v"));
  EXPECT_TRUE(eventually([&] { return *seen == 1; }));
}

// Teardown handshake between two controllers, as in COSI. The producer keeps an R for every Want and tears down the rest, destroying an R
// only once it is destroy-ready; the consumer holds a finalizer on every running R and lets go
// after cleaning up what it derived from it.
class Producer final : public Controller {
 public:
  std::string name() const override { return "producer"; }
  std::vector<Input> inputs() const override {
    return {Input{kNs, "Want", std::nullopt, InputKind::kWeak},
            Input{kNs, "R", std::nullopt, InputKind::kDestroyReady}};
  }
  std::vector<Output> outputs() const override { return {Output{"R", OutputKind::kExclusive}}; }
  void reconcile(Runtime& rt) override {
    for (const auto& want : rt.list({kNs, "Want"})) {
      const auto& id = want->metadata.id;
      rt.modify({kNs, "R", id}, [&](const ResourcePtr&) { return opaque("R", id, "r"); });
    }
    for (const auto& r : rt.list({kNs, "R"})) {
      if (r->metadata.owner != name() || rt.get({kNs, "Want", r->metadata.id})) continue;
      if (rt.teardown(r->pointer())) rt.destroy(r->pointer());
    }
  }
};

class Consumer final : public Controller {
 public:
  std::string name() const override { return "consumer"; }
  std::vector<Input> inputs() const override {
    return {Input{kNs, "R", std::nullopt, InputKind::kStrong}};
  }
  std::vector<Output> outputs() const override {
    return {Output{"Derived", OutputKind::kExclusive}};
  }
  void reconcile(Runtime& rt) override {
    rt.start_tracking_outputs();
    std::vector<Pointer> released;
    for (const auto& r : rt.list({kNs, "R"})) {
      if (r->metadata.phase == resource::Phase::kTearingDown) {
        released.push_back(r->pointer());
        continue;
      }
      if (!r->metadata.finalizers.has(name())) rt.add_finalizer(r->pointer());
      const auto& id = r->metadata.id;
      rt.modify({kNs, "Derived", id},
                [&](const ResourcePtr&) { return opaque("Derived", id, "d"); });
    }
    rt.cleanup_outputs({{kNs, "Derived"}});  // what derived from released inputs goes first
    for (const auto& ptr : released) rt.remove_finalizer(ptr);
  }
};

TEST_F(EngineTest, DestroyReadyTeardownWithFinalizers) {
  make_engine();
  engine_->register_controller(std::make_unique<Producer>());
  engine_->register_controller(std::make_unique<Consumer>());
  engine_->start();
  state_.create(opaque("Want", "x", "w"));
  state_.create(opaque("Want", "y", "w"));

  ASSERT_TRUE(eventually([&] {
    auto r = state_.get({kNs, "R", "x"});
    return r && r->metadata.finalizers.has("consumer") && state_.get({kNs, "Derived", "x"}) &&
           state_.get({kNs, "Derived", "y"});
  }));

  state_.destroy({kNs, "Want", "x"});
  EXPECT_TRUE(eventually([&] {
    return !state_.get({kNs, "R", "x"}) && !state_.get({kNs, "Derived", "x"});
  }));
  // The other pair is untouched, and nobody tried to destroy a finalized resource.
  EXPECT_EQ(state_.get({kNs, "R", "y"})->metadata.phase, resource::Phase::kRunning);
  EXPECT_NE(state_.get({kNs, "Derived", "y"}), nullptr);
  EXPECT_EQ(stats("producer").crashes, 0u);
  EXPECT_EQ(stats("consumer").crashes, 0u);
}

// A long-lived task: a timer on the controller's strand that queues a reconcile on every tick.
class TickingController final : public Controller {
 public:
  explicit TickingController(std::shared_ptr<Probe> probe) : probe_(std::move(probe)) {}
  std::string name() const override { return "ticking"; }
  std::vector<Input> inputs() const override { return {}; }
  std::vector<Output> outputs() const override { return {}; }

  void start(Runtime& rt) override {
    timer_ = std::make_unique<boost::asio::steady_timer>(rt.executor());
    arm(rt);
  }
  void reconcile(Runtime&) override { ++probe_->reconciles; }
  void stop() override {
    stopped_ = true;
    timer_->cancel();
    ++probe_->stops;
  }

  std::shared_ptr<std::atomic<int>> pending_waits = std::make_shared<std::atomic<int>>(0);

 private:
  void arm(Runtime& rt) {
    ++*pending_waits;
    timer_->expires_after(milliseconds(1));
    timer_->async_wait([this, &rt, waits = pending_waits](boost::system::error_code ec) {
      --*waits;
      if (ec || stopped_) return;
      rt.queue_reconcile();
      arm(rt);
    });
  }

  std::shared_ptr<Probe> probe_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  bool stopped_ = false;  // strand-owned
};

TEST_F(EngineTest, TimerTaskQueuesReconcilesAndStopsCleanly) {
  make_engine();
  auto probe = std::make_shared<Probe>();
  auto controller = std::make_unique<TickingController>(probe);
  auto waits = controller->pending_waits;
  engine_->register_controller(std::move(controller));
  engine_->start();
  ASSERT_TRUE(eventually([&] { return probe->reconciles >= 5; }));
  engine_->stop();
  EXPECT_EQ(probe->stops, 1);
  // stop() returned only after the cancelled wait had completed.
  EXPECT_EQ(*waits, 0);
  const int after_stop = probe->reconciles;
  engine_->stop();  // idempotent
  EXPECT_EQ(probe->reconciles, after_stop);
}

TEST_F(EngineTest, StopWaitsForReconcilesInFlight) {
  make_engine();
  auto slow = add_probe("slow");
  auto idle = add_probe("idle");
  slow->gate.close();
  engine_->start();
  ASSERT_TRUE(eventually([&] { return slow->reconciles == 1 && idle->finished == 1; }));

  std::atomic<bool> stop_returned{false};
  std::thread stopper([&] {
    engine_->stop();
    stop_returned = true;
  });
  // The watches close first; the blocked pass keeps stop() waiting.
  ASSERT_TRUE(eventually([&] { return state_.stats().watchers == 0; }));
  EXPECT_FALSE(stop_returned);
  slow->gate.open();
  stopper.join();
  EXPECT_EQ(slow->finished_at_stop, 1);  // the controller's stop() ran after the pass ended
  EXPECT_EQ(slow->stops, 1);
  EXPECT_EQ(idle->stops, 1);
  // No reconcile after stop, even for a change.
  set_t0("after", "v");
  EXPECT_EQ(slow->reconciles, 1);
}

}  // namespace
}  // namespace runtime::controller
