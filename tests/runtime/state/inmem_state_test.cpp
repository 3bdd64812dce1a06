// InMemoryState: the conformance suite plus what only the in-memory store promises (history
// sizing, bookmark encoding, counters).
#include "runtime/state/inmem_state.h"

#include "tests/runtime/state/state_conformance.h"

namespace runtime::state::conformance {
namespace {

std::unique_ptr<State> make_inmem(const HistoryLimits& limits) {
  return std::make_unique<InMemoryState>(
      InMemoryStateOptions{limits.initial_capacity, limits.max_capacity, limits.gap});
}

INSTANTIATE_TEST_SUITE_P(InMemory, StateConformance,
                         ::testing::Values(StateFactory{"InMemory", make_inmem}), factory_name);

class InMemoryStateTest : public StateConformance {};

TEST(InMemoryStateOptionsTest, InconsistentHistorySizesAreRefused) {
  for (const auto& bad : {InMemoryStateOptions{0, 10, 0}, InMemoryStateOptions{10, 5, 1},
                          InMemoryStateOptions{10, 20, 10}}) {
    EXPECT_EQ(error_of([&] { InMemoryState s(bad); }), ErrorCode::kInvalidArgument);
  }
  EXPECT_NO_THROW(InMemoryState(InMemoryStateOptions{1, 1, 0}));
}

TEST_P(InMemoryStateTest, BookmarksAreSixteenBytesWithAProcessCookie) {
  InMemoryState a;
  InMemoryState b;
  WatchRecorder ra;
  WatchRecorder rb;
  auto wa = a.watch_kind(kKind, strand(), ra.callback(), bookmarked());
  auto wb = b.watch_kind(kKind, strand(), rb.callback(), bookmarked());
  ASSERT_TRUE(ra.wait_events(1));
  ASSERT_TRUE(rb.wait_events(1));
  const std::string bookmark = ra.events().front().bookmark;
  ASSERT_EQ(bookmark.size(), 16u);
  // Same process: same cookie, so a bookmark of one instance is well-formed for another.
  EXPECT_EQ(bookmark.substr(0, 8), rb.events().front().bookmark.substr(0, 8));
  EXPECT_EQ(bookmark.substr(8), std::string(8, '\0'));
}

TEST_P(InMemoryStateTest, HistoryGrowsUpToMaxCapacityDuringItsFirstPass) {
  InMemoryState s(InMemoryStateOptions{2, 8, 1});
  for (int i = 0; i < 12; ++i) s.create(thing("r" + std::to_string(i)));
  // Capacity grew 2 -> 4 -> 8, so a tail reaches back 8 - 1 events.
  WatchRecorder rec;
  auto w = s.watch_kind(kKind, strand(), rec.callback(), with_tail({}, 100));
  ASSERT_TRUE(rec.wait_events(7));
  EXPECT_EQ(describe(rec.events()).front(), "Cr5");
  EXPECT_EQ(describe(rec.events()).back(), "Cr11");
}

TEST_P(InMemoryStateTest, CountsWatchersAndResyncs) {
  InMemoryState s(InMemoryStateOptions{4, 4, 1});
  s.create(thing("a"));
  auto executor = strand();
  WatchRecorder rec;
  WatchRecorder rec2;
  auto w = s.watch_kind(kKind, executor, rec.callback(), bootstrapping());
  auto w2 = s.watch(ptr("a"), executor, rec2.callback());
  EXPECT_EQ(s.stats().watchers, 2u);
  ASSERT_TRUE(rec.wait_batches(1));
  ASSERT_TRUE(rec2.wait_batches(1));
  EXPECT_EQ(s.stats().resyncs, 0u);

  auto gate = block(executor);
  for (int i = 0; i < 6; ++i) s.update(editable(s.get(ptr("a"))));
  gate->set_value();
  ASSERT_TRUE(rec.wait_view(View{{"a", 7}}));
  ASSERT_TRUE(rec2.wait_view(View{{"a", 7}}));
  EXPECT_EQ(s.stats().resyncs, 2u);

  w.reset();
  w2.reset();
  EXPECT_EQ(s.stats().watchers, 0u);
}

INSTANTIATE_TEST_SUITE_P(InMemory, InMemoryStateTest,
                         ::testing::Values(StateFactory{"InMemory", make_inmem}), factory_name);

}  // namespace
}  // namespace runtime::state::conformance
