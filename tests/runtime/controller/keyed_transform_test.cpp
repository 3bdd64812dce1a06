// The keyed transform over a real engine and InMemoryState: outputs are the contributions folded
// in input ID order; a pass maps only the inputs that changed and rewrites only the outputs whose
// contributions changed; an output without contributions is destroyed; the first pass, and the
// pass after a failed one, start over and clean up what no input produces.
#include "runtime/controller/keyed_transform.h"

#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "runtime/controller/engine.h"
#include "runtime/state/inmem_state.h"
#include "tests/runtime/controller/test_util.h"
#include "tests/runtime/controller/text_resources.h"

namespace runtime::controller {
namespace {

using google::protobuf::StringValue;
using testing::eventually;
using testing::text;

constexpr std::string_view kTestNs = "test";
constexpr std::string_view kInType = "KeyedIns.test.dev";
constexpr std::string_view kOutType = "KeyedOuts.test.dev";
using In = resource::TypeTraits<StringValue, kTestNs, kInType>;
using Out = resource::TypeTraits<StringValue, kTestNs, kOutType>;
constexpr char kName[] = "test.Keyed";

class KeyedTransformTest : public ::testing::Test {
 protected:
  ~KeyedTransformTest() override { engine_.stop(); }

  // An input "<key>:<text>" contributes <text> to output <key>; "boom" fails the pass while
  // failing_ is set.
  void start() {
    engine_.register_controller(make_keyed_transform<In, Out>({
        .name = kName,
        .map = [this](const Typed<In>& in) -> std::optional<std::pair<std::string, StringValue>> {
          ++maps_;
          const std::string& v = in->value();
          if (v == "boom" && failing_) throw std::runtime_error("mapping failed");
          const auto colon = v.find(':');
          if (colon == std::string::npos) return std::nullopt;
          return std::pair(v.substr(0, colon), text(v.substr(colon + 1)));
        },
        .fold = [](StringValue& out,
                   const StringValue& later) { out.set_value(out.value() + "+" + later.value()); },
    }));
    engine_.start();
  }

  void put(const std::string& id, const std::string& value) {
    testing::put_text(state_, {kTestNs, kInType, id}, value);
  }

  resource::Typed<Out> out(const std::string& id) {
    return resource::Typed<Out>(state_.get(resource::pointer_to<Out>(id)));
  }
  bool out_is(const std::string& id, const std::string& value) {
    auto o = out(id);
    return o && o->value() == value;
  }

  std::size_t outputs() { return state_.list(resource::kind_of<Out>()).size(); }

  state::InMemoryState state_;
  testing::IoThreads io_;
  Engine engine_{state_, io_.executor()};
  std::atomic<int> maps_{0};
  std::atomic<bool> failing_{false};
};

TEST_F(KeyedTransformTest, OutputsAreTheContributionsFoldedInInputIdOrder) {
  start();
  put("b", "k:2");
  put("a", "k:1");
  put("c", "j:3");
  put("d", "no key");
  ASSERT_TRUE(eventually([&] { return out_is("k", "1+2") && out_is("j", "3"); }));
  EXPECT_EQ(out("k").metadata().owner, kName);
  EXPECT_EQ(outputs(), 2u);
}

TEST_F(KeyedTransformTest, APassMapsOnlyTheInputsThatChanged) {
  start();
  put("a", "k:1");
  put("b", "j:2");
  put("c", "i:3");
  ASSERT_TRUE(eventually([&] { return out_is("k", "1") && out_is("j", "2") && out_is("i", "3"); }));
  const int before = maps_.load();

  put("b", "j:20");
  ASSERT_TRUE(eventually([&] { return out_is("j", "20"); }));
  EXPECT_EQ(maps_.load(), before + 1);
  EXPECT_EQ(out("k").metadata().version, 1u);
  EXPECT_EQ(out("i").metadata().version, 1u);
}

TEST_F(KeyedTransformTest, AnInputThatMovesOrGoesRewritesTheOutputsItLeft) {
  start();
  put("a", "k:1");
  put("b", "k:2");
  put("c", "j:3");
  ASSERT_TRUE(eventually([&] { return out_is("k", "1+2") && out_is("j", "3"); }));

  put("b", "j:2");
  ASSERT_TRUE(eventually([&] { return out_is("k", "1") && out_is("j", "2+3"); }));

  state_.destroy(resource::pointer_to<In>("a"));
  ASSERT_TRUE(eventually([&] { return !out("k"); }));
  put("c", "no key");
  ASSERT_TRUE(eventually([&] { return out_is("j", "2"); }));
  EXPECT_EQ(outputs(), 1u);
}

TEST_F(KeyedTransformTest, TheFirstPassAndThePassAfterAFailureStartOver) {
  // Left by an earlier life of the controller: nothing produces it now.
  state_.create(resource::make_resource(resource::Metadata({kTestNs, kOutType, "stale"}), text("")),
                state::CreateOptions{kName});
  start();
  put("a", "k:1");
  ASSERT_TRUE(eventually([&] { return out_is("k", "1") && !out("stale"); }));

  failing_ = true;
  put("b", "boom");
  put("a", "j:1");
  ASSERT_TRUE(eventually([&] { return maps_.load() >= 4; }));
  failing_ = false;
  // The retry maps everything again and converges: a moved to j, k is gone, b contributes nothing.
  ASSERT_TRUE(eventually([&] { return out_is("j", "1") && !out("k"); }));
  EXPECT_EQ(outputs(), 1u);
}

}  // namespace
}  // namespace runtime::controller
