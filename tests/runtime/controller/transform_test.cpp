// The generic transform and typed access over a real engine and InMemoryState: outputs follow
// the inputs, unchanged outputs are not rewritten, outputs no longer produced are destroyed, a
// pass that says "not ready" leaves them alone, and a refresh period re-runs the mapping.
#include "runtime/controller/transform.h"

#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include <atomic>

#include "runtime/controller/engine.h"
#include "runtime/state/inmem_state.h"
#include "tests/runtime/controller/test_util.h"
#include "tests/runtime/controller/text_resources.h"

namespace runtime::controller {
namespace {

using google::protobuf::StringValue;
using testing::eventually;
using testing::text;
using std::chrono::milliseconds;

constexpr std::string_view kTestNs = "test";
constexpr std::string_view kInType = "Ins.test.dev";
constexpr std::string_view kOutType = "Outs.test.dev";
constexpr std::string_view kGateType = "Gates.test.dev";
using In = resource::TypeTraits<StringValue, kTestNs, kInType>;
using Out = resource::TypeTraits<StringValue, kTestNs, kOutType>;
using Gate = resource::TypeTraits<StringValue, kTestNs, kGateType>;

class TransformTest : public ::testing::Test {
 protected:
  ~TransformTest() override { engine_.stop(); }

  void put(std::string_view type, const std::string& id, const std::string& value) {
    testing::put_text(state_, {kTestNs, type, id}, value);
  }

  resource::Typed<Out> out(const std::string& id) {
    return resource::Typed<Out>(state_.get(resource::pointer_to<Out>(id)));
  }

  std::size_t outputs() { return state_.list(resource::kind_of<Out>()).size(); }

  state::InMemoryState state_;
  testing::IoThreads io_;
  Engine engine_{state_, io_.executor()};
};

// Each input becomes an output "<id>-out" holding its value twice, while the gate exists.
Transform<Out> doubling(std::atomic<int>* passes) {
  return {
      .name = "test.Doubling",
      .inputs = {input<In>(), input<Gate>(InputKind::kWeak, "gate")},
      .map = [passes](Runtime& rt) -> std::optional<Transform<Out>::Outputs> {
        ++*passes;
        if (!get<Gate>(rt, "gate")) return std::nullopt;
        Transform<Out>::Outputs out;
        for (const auto& in : list<In>(rt)) {
          out[in.id() + "-out"] = text(in->value() + in->value());
        }
        return out;
      },
  };
}

TEST_F(TransformTest, OutputsFollowTheInputs) {
  std::atomic<int> passes{0};
  engine_.register_controller(make_transform<Out>(doubling(&passes)));
  engine_.start();
  put(kGateType, "gate", "");
  put(kInType, "a", "x");
  put(kInType, "b", "y");
  ASSERT_TRUE(eventually([&] { return out("a-out") && out("b-out"); }));
  EXPECT_EQ(out("a-out")->value(), "xx");
  EXPECT_EQ(out("b-out")->value(), "yy");
  EXPECT_EQ(out("a-out").metadata().owner, "test.Doubling");

  put(kInType, "a", "z");
  ASSERT_TRUE(eventually([&] { return out("a-out") && out("a-out")->value() == "zz"; }));
  // b's output was produced again unchanged: not rewritten.
  EXPECT_EQ(out("b-out").metadata().version, 1u);

  state_.destroy(resource::pointer_to<In>("b"));
  EXPECT_TRUE(eventually([&] { return !out("b-out"); }));
  EXPECT_EQ(outputs(), 1u);
}

TEST_F(TransformTest, NotReadyLeavesTheOutputsAlone) {
  std::atomic<int> passes{0};
  std::atomic<bool> saw_change_while_closed{false};
  std::atomic<bool> saw_b_while_closed{false};
  auto t = doubling(&passes);
  t.map = [map = t.map, &saw_change_while_closed, &saw_b_while_closed](Runtime& rt) {
    const bool closed = !get<Gate>(rt, "gate");
    auto a = get<In>(rt, "a");
    auto result = map(rt);
    if (closed && a && a->value() == "changed") saw_change_while_closed = true;
    if (closed && get<In>(rt, "b")) saw_b_while_closed = true;
    return result;
  };
  engine_.register_controller(make_transform<Out>(std::move(t)));
  engine_.start();
  put(kGateType, "gate", "");
  put(kInType, "a", "x");
  ASSERT_TRUE(eventually([&] { return bool(out("a-out")); }));

  state_.destroy(resource::pointer_to<Gate>("gate"));
  put(kInType, "a", "changed");
  ASSERT_TRUE(eventually([&] { return saw_change_while_closed.load(); }));
  // Passes run one at a time: once a later pass has seen b, the one that saw the change has
  // finished, and it wrote nothing.
  put(kInType, "b", "y");
  ASSERT_TRUE(eventually([&] { return saw_b_while_closed.load(); }));
  ASSERT_TRUE(out("a-out"));
  EXPECT_EQ(out("a-out")->value(), "xx");
  EXPECT_FALSE(out("b-out"));
}

TEST_F(TransformTest, RefreshRunsTheMappingWithoutAnInputChange) {
  std::atomic<int> passes{0};
  auto t = doubling(&passes);
  t.refresh = milliseconds(20);
  engine_.register_controller(make_transform<Out>(std::move(t)));
  engine_.start();
  EXPECT_TRUE(eventually([&] { return passes.load() >= 4; }));
  EXPECT_EQ(outputs(), 0u);
}

TEST_F(TransformTest, TypedReadsSkipOtherSpecClassesAndMissingResources) {
  std::atomic<int> seen{-1};
  engine_.register_controller(make_transform<Out>({
      .name = "test.Counting",
      .inputs = {input<In>()},
      .map = [&seen](Runtime& rt) -> std::optional<Transform<Out>::Outputs> {
        seen = static_cast<int>(list<In>(rt).size()) + (get<In>(rt, "missing") ? 100 : 0);
        return Transform<Out>::Outputs{};
      },
  }));
  engine_.start();
  // The opaque one first: a pass that counted it would see 2 once the typed one exists, never 1.
  state_.create(resource::Resource{resource::Metadata({kTestNs, kInType, "opaque"}),
                                   std::make_shared<resource::OpaqueSpec>("", "x")});
  put(kInType, "typed", "v");
  EXPECT_TRUE(eventually([&] { return seen.load() == 1; }));
}

}  // namespace
}  // namespace runtime::controller
