// The controller's Runtime over InMemoryState: access checks, owner injection, modify and
// output tracking.
#include "runtime/controller/internal/controller_runtime.h"

#include <google/protobuf/wrappers.pb.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "runtime/controller/typed.h"
#include "runtime/state/inmem_state.h"
#include "tests/runtime/controller/test_util.h"

namespace runtime::controller::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kNs;
using testing::opaque;
using testing::value_of;

class FakeHooks : public SchedulerHooks {
 public:
  state::Executor executor() const override { return io_.get_executor(); }
  void queue_reconcile() override { ++queued; }
  void update_inputs(const std::vector<Input>& inputs) override { updated_inputs = inputs; }
  void reset_restart_backoff() override { ++backoff_resets; }

  int queued = 0;
  int backoff_resets = 0;
  std::vector<Input> updated_inputs;

 private:
  mutable boost::asio::io_context io_;
};

Input in(const std::string& type, std::optional<std::string> id = std::nullopt,
         InputKind kind = InputKind::kWeak) {
  return Input{kNs, type, std::move(id), kind};
}

// The message of the kInvalidArgument error `fn` throws, or a note that it threw none.
template <class Fn>
std::string access_error(Fn fn) {
  try {
    fn();
  } catch (const state::Error& e) {
    EXPECT_EQ(e.code(), state::ErrorCode::kInvalidArgument) << e.what();
    return e.what();
  }
  return "no error";
}

class ControllerRuntimeTest : public ::testing::Test {
 protected:
  // Through the Runtime interface, as controllers see it.
  Runtime& make(std::vector<Input> inputs, std::vector<Output> outputs) {
    runtime_ =
        std::make_unique<ControllerRuntime>(state_, "ctl", std::move(inputs), outputs, hooks_);
    return *runtime_;
  }

  state::InMemoryState state_;
  FakeHooks hooks_;
  std::unique_ptr<ControllerRuntime> runtime_;
};

TEST_F(ControllerRuntimeTest, ReadsOnlyInputsAndOutputs) {
  Runtime& rt = make({in("T0"), in("T5", "x")}, {{"T1"}});
  state_.create(opaque("T0", "a", "v"));
  state_.create(opaque("T5", "x", "v"));
  state_.create(opaque("T1", "o", "v", "elsewhere"));

  EXPECT_EQ(value_of(rt.get({kNs, "T0", "a"})), "v");
  EXPECT_EQ(rt.list({kNs, "T0"}).size(), 1u);
  EXPECT_EQ(value_of(rt.get({kNs, "T5", "x"})), "v");
  // Outputs are readable in any namespace.
  EXPECT_EQ(value_of(rt.get({"elsewhere", "T1", "o"})), "v");
  EXPECT_EQ(rt.list({"elsewhere", "T1"}).size(), 1u);

  EXPECT_THAT(access_error([&] { rt.get({kNs, "T5", "y"}); }),
              HasSubstr("get test/T5/y: not among the ids of its inputs"));
  EXPECT_THAT(access_error([&] { rt.list({kNs, "T5"}); }),
              HasSubstr("list test/T5: inputs of this kind name an id"));
  EXPECT_THAT(access_error([&] { rt.get({kNs, "T9", "a"}); }),
              HasSubstr("controller ctl: get test/T9/a: not an input or output"));
  EXPECT_THAT(access_error([&] { rt.get({"elsewhere", "T0", "a"}); }),
              HasSubstr("not an input or output"));
}

TEST_F(ControllerRuntimeTest, WritesOnlyOutputsAsOwner) {
  Runtime& rt = make({in("T0")}, {{"T1"}});
  auto created = rt.create(opaque("T1", "a", "v"));
  EXPECT_EQ(created->metadata.owner, "ctl");

  state_.create(opaque("T0", "a", "v"));
  EXPECT_THAT(access_error([&] { rt.create(opaque("T0", "b", "v")); }),
              HasSubstr("create test/T0/b: type T0 is not an output"));
  EXPECT_THAT(access_error([&] { rt.update(*state_.get({kNs, "T0", "a"})); }),
              HasSubstr("type T0 is not an output"));
  EXPECT_THAT(access_error([&] { rt.teardown({kNs, "T0", "a"}); }),
              HasSubstr("type T0 is not an output"));
  EXPECT_THAT(access_error([&] { rt.destroy({kNs, "T0", "a"}); }),
              HasSubstr("type T0 is not an output"));
  EXPECT_THAT(access_error([&] {
                rt.modify({kNs, "T0", "a"}, [](const ResourcePtr& r) { return *r; });
              }),
              HasSubstr("type T0 is not an output"));
  // The refused writes changed nothing.
  EXPECT_EQ(state_.get({kNs, "T0", "a"})->metadata.version, 1u);
  EXPECT_EQ(state_.get({kNs, "T0", "b"}), nullptr);

  // Another owner's resource of an output type is protected by the owner check.
  state_.create(opaque("T1", "foreign", "v"), state::CreateOptions{"other"});
  auto foreign = *state_.get({kNs, "T1", "foreign"});
  try {
    rt.update(foreign);
    FAIL() << "update of a foreign resource succeeded";
  } catch (const state::Error& e) {
    EXPECT_TRUE(state::is_owner_conflict(e)) << e.what();
  }
  EXPECT_THROW(rt.destroy(foreign.pointer()), state::Error);
  EXPECT_NE(state_.get(foreign.pointer()), nullptr);
}

TEST_F(ControllerRuntimeTest, FinalizersOnlyOnStrongInputs) {
  Runtime& rt = make({in("T0"), in("T2", std::nullopt, InputKind::kStrong),
                  in("T3", "only", InputKind::kStrong)},
                 {{"T1"}});
  for (const char* type : {"T0", "T2", "T3"}) state_.create(opaque(type, "only", "v"));
  state_.create(opaque("T3", "other", "v"));

  EXPECT_THAT(access_error([&] { rt.add_finalizer({kNs, "T0", "only"}); }),
              HasSubstr("add finalizer to test/T0/only: finalizers need a strong input"));
  EXPECT_THAT(access_error([&] { rt.add_finalizer({kNs, "T3", "other"}); }),
              HasSubstr("finalizers need a strong input"));
  EXPECT_THAT(access_error([&] { rt.add_finalizer({kNs, "T1", "x"}); }),
              HasSubstr("finalizers need a strong input"));
  EXPECT_TRUE(state_.get({kNs, "T0", "only"})->metadata.finalizers.empty());

  rt.add_finalizer({kNs, "T2", "only"});
  rt.add_finalizer({kNs, "T3", "only"});
  EXPECT_TRUE(state_.get({kNs, "T2", "only"})->metadata.finalizers.has("ctl"));
  EXPECT_TRUE(state_.get({kNs, "T3", "only"})->metadata.finalizers.has("ctl"));
  rt.remove_finalizer({kNs, "T2", "only"});
  EXPECT_TRUE(state_.get({kNs, "T2", "only"})->metadata.finalizers.empty());
  rt.remove_finalizer({kNs, "T2", "missing"});  // fine
}

TEST_F(ControllerRuntimeTest, ModifyCreatesUpdatesAndSkipsNoops) {
  Runtime& rt = make({}, {{"T1"}});
  testing::IoThreads io(1);
  std::mutex mu;
  std::vector<std::pair<state::EventType, resource::Version>> events;
  auto watch = state_.watch_kind({kNs, "T1"}, io.executor(), [&](state::WatchBatch batch) {
    std::lock_guard lock(mu);
    for (const auto& ev : batch.events) events.emplace_back(ev.type, ev.resource->metadata.version);
  });
  const resource::Pointer ptr{kNs, "T1", "a"};
  auto set_to = [&](const std::string& value) {
    return rt.modify(ptr, [&](const ResourcePtr&) { return opaque("T1", "a", value); });
  };

  auto v1 = set_to("one");
  EXPECT_EQ(v1->metadata.version, 1u);
  EXPECT_EQ(v1->metadata.owner, "ctl");
  auto same = set_to("one");
  EXPECT_EQ(same->metadata.version, 1u);
  EXPECT_EQ(state_.get(ptr)->metadata.version, 1u);
  auto v2 = set_to("two");
  EXPECT_EQ(v2->metadata.version, 2u);
  EXPECT_EQ(value_of(state_.get(ptr)), "two");

  // The skipped write produced no event: Created v1 is followed directly by Updated v2.
  ASSERT_TRUE(testing::eventually([&] {
    std::lock_guard lock(mu);
    return events.size() >= 2;
  }));
  std::lock_guard lock(mu);
  EXPECT_THAT(events, ElementsAre(std::pair{state::EventType::kCreated, resource::Version{1}},
                                  std::pair{state::EventType::kUpdated, resource::Version{2}}));
}

TEST_F(ControllerRuntimeTest, ModifyRetriesOnVersionRace) {
  Runtime& rt = make({}, {{"T1"}});
  const resource::Pointer ptr{kNs, "T1", "a"};
  rt.create(opaque("T1", "a", "0"));
  int calls = 0;
  auto result = rt.modify(ptr, [&](const ResourcePtr& current) {
    ++calls;
    if (calls == 1) {
      // A concurrent writer gets in between our read and our write.
      auto raced = *current;
      raced.spec = std::make_shared<resource::OpaqueSpec>("", "raced");
      state_.update(raced, state::UpdateOptions{"ctl", std::nullopt});
    }
    auto next = *current;
    next.spec = std::make_shared<resource::OpaqueSpec>("", *value_of(current) + "+mine");
    return next;
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(result->metadata.version, 3u);
  EXPECT_EQ(value_of(state_.get(ptr)), "raced+mine");
}

TEST_F(ControllerRuntimeTest, ModifyChecksTheExpectedPhase) {
  Runtime& rt = make({}, {{"T1"}});
  const resource::Pointer ptr{kNs, "T1", "a"};
  rt.create(opaque("T1", "a", "v"));
  rt.teardown(ptr);
  bool called = false;
  try {
    rt.modify(ptr, [&](const ResourcePtr& r) {
      called = true;
      return *r;
    });
    FAIL() << "modify of a tearing-down output succeeded";
  } catch (const state::Error& e) {
    EXPECT_TRUE(state::is_phase_conflict(e)) << e.what();
  }
  EXPECT_FALSE(called);

  auto updated = rt.modify(
      ptr,
      [](const ResourcePtr& r) {
        auto next = *r;
        next.metadata.labels["k"] = "v";
        return next;
      },
      ModifyOptions{std::nullopt});
  EXPECT_EQ(updated->metadata.version, 3u);  // create, teardown, modify
  EXPECT_EQ(updated->metadata.phase, resource::Phase::kTearingDown);
}

TEST_F(ControllerRuntimeTest, ModifyRefusesAResultForAnotherPointer) {
  Runtime& rt = make({}, {{"T1"}});
  EXPECT_THAT(access_error([&] {
                rt.modify({kNs, "T1", "a"},
                          [](const ResourcePtr&) { return opaque("T1", "b", ""); });
              }),
              HasSubstr("the function returned test/T1/b"));
  EXPECT_TRUE(state_.list({kNs, "T1"}).empty());
}

TEST_F(ControllerRuntimeTest, TypedModifyEditsTheSpecInPlace) {
  using google::protobuf::StringValue;
  Runtime& rt = make({}, {{"T1"}});
  const resource::Pointer ptr{kNs, "T1", "typed"};
  auto set_to = [&](const std::string& value) {
    return modify<StringValue>(rt, ptr, [&](StringValue& spec, resource::Metadata& md) {
      spec.set_value(value);
      md.labels["kind"] = "typed";
    });
  };
  EXPECT_EQ(set_to("a")->metadata.version, 1u);
  EXPECT_EQ(set_to("a")->metadata.version, 1u);  // unchanged: no write
  auto r = set_to("b");
  EXPECT_EQ(r->metadata.version, 2u);
  EXPECT_EQ(r->metadata.labels.at("kind"), "typed");
  EXPECT_EQ(resource::spec_as<StringValue>(*state_.get(ptr))->value(), "b");

  // A stored spec of another type is refused, not overwritten.
  rt.create(opaque("T1", "opaque", "x"));
  EXPECT_THAT(access_error([&] {
                modify<StringValue>(rt, {kNs, "T1", "opaque"},
                                    [](StringValue&, resource::Metadata&) {});
              }),
              HasSubstr("spec is not a google.protobuf.StringValue"));
}

TEST_F(ControllerRuntimeTest, CleanupDestroysUntouchedOwnedOutputs) {
  Runtime& rt = make({}, {{"T1"}});
  for (const char* id : {"a", "b", "c"}) rt.create(opaque("T1", id, "v"));
  state_.create(opaque("T1", "foreign", "v"), state::CreateOptions{"other"});

  rt.start_tracking_outputs();
  rt.modify({kNs, "T1", "a"}, [](const ResourcePtr& r) { return *r; });
  // A failed write still counts as touched.
  auto stale = *state_.get({kNs, "T1", "b"});
  stale.metadata.version = 7;
  EXPECT_THROW(rt.update(stale), state::Error);
  rt.cleanup_outputs({{kNs, "T1"}});

  std::vector<std::string> ids;
  for (const auto& r : state_.list({kNs, "T1"})) ids.push_back(r->metadata.id);
  EXPECT_THAT(ids, ElementsAre("a", "b", "foreign"));
  EXPECT_EQ(hooks_.backoff_resets, 1);

  EXPECT_THAT(access_error([&] { rt.cleanup_outputs({{kNs, "T1"}}); }),
              HasSubstr("cleanup_outputs without start_tracking_outputs"));
  rt.start_tracking_outputs();
  EXPECT_THAT(access_error([&] { rt.cleanup_outputs({{kNs, "T0"}}); }),
              HasSubstr("type T0 is not an output"));
}

TEST_F(ControllerRuntimeTest, UpdateInputsChangesWhatMayBeRead) {
  Runtime& rt = make({in("T0")}, {});
  rt.update_inputs({in("T7")});
  EXPECT_THAT(hooks_.updated_inputs, ElementsAre(in("T7")));
  EXPECT_NO_THROW(rt.list({kNs, "T7"}));
  EXPECT_THAT(access_error([&] { rt.list({kNs, "T0"}); }), HasSubstr("not an input or output"));
}

}  // namespace
}  // namespace runtime::controller::internal
