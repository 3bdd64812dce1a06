// InMemoryState: the conformance suite plus what only the in-memory store promises (history
// sizing, bookmark encoding, counters, how watchers on one io_context are woken together).
#include "runtime/state/inmem_state.h"

#include <boost/asio/thread_pool.hpp>
#include <stdexcept>

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

TEST_P(InMemoryStateTest, BookmarksAreFifteenBytesWithAProcessCookie) {
  InMemoryState a;
  InMemoryState b;
  WatchRecorder ra;
  WatchRecorder rb;
  auto wa = a.watch_kind(kKind, strand(), ra.callback(), bookmarked());
  auto wb = b.watch_kind(kKind, strand(), rb.callback(), bookmarked());
  ASSERT_TRUE(ra.wait_events(1));
  ASSERT_TRUE(rb.wait_events(1));
  const std::string bookmark = ra.events().front().bookmark;
  // 15 bytes: a bookmark fits std::string's inline buffer.
  ASSERT_EQ(bookmark.size(), 15u);
  // Same process: same cookie, so a bookmark of one instance is well-formed for another.
  EXPECT_EQ(bookmark.substr(0, 7), rb.events().front().bookmark.substr(0, 7));
  EXPECT_EQ(bookmark.substr(7), std::string(8, '\0'));
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

// Watchers on strands of one io_context share one wake-up per write; these run the io_context on
// the test thread, so what a single run delivers is visible.
class WakeGroupTest : public ::testing::Test {
 protected:
  // Runs what is queued, including what that queues, without waiting for more.
  void settle() {
    io_.restart();
    io_.poll();
  }

  InMemoryState state_;
  boost::asio::io_context io_;
};

TEST_F(WakeGroupTest, AThrowingCallbackDoesNotKeepTheOthersFromTheirEvents) {
  state_.create(thing("a"));
  bool throwing = false;
  auto first = state_.watch(ptr("a"), boost::asio::make_strand(io_), [&](WatchBatch) {
    if (throwing) throw std::runtime_error("callback failed");
  });
  WatchRecorder second;
  auto w = state_.watch(ptr("a"), boost::asio::make_strand(io_), second.callback());
  settle();
  ASSERT_EQ(second.event_count(), 1u);

  throwing = true;
  state_.update(editable(state_.get(ptr("a"))));
  io_.restart();
  EXPECT_THROW(io_.run_one(), std::runtime_error);
  // The same wake-up entered the second watcher before the first one's exception left it.
  EXPECT_EQ(second.view(), (View{{"a", 2}}));
}

TEST_F(WakeGroupTest, AWatchStoppedByAnotherWatchersCallbackGetsNothingMore) {
  state_.create(thing("a"));
  WatchRecorder victim;
  std::unique_ptr<Watch> stopped;
  int calls = 0;
  auto stopper = state_.watch(ptr("a"), boost::asio::make_strand(io_), [&](WatchBatch) {
    if (++calls == 2) stopped.reset();
  });
  stopped = state_.watch(ptr("a"), boost::asio::make_strand(io_), victim.callback());
  settle();
  ASSERT_EQ(victim.event_count(), 1u);

  state_.update(editable(state_.get(ptr("a"))));
  settle();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(stopped, nullptr);
  EXPECT_EQ(victim.event_count(), 1u);
  EXPECT_EQ(state_.stats().watchers, 1u);
}

TEST_F(WakeGroupTest, WatchersOnSeveralIoContextsAndOtherExecutorsAllDeliver) {
  boost::asio::io_context other;
  boost::asio::thread_pool pool(1);
  WatchRecorder here;
  WatchRecorder there;
  WatchRecorder pooled;
  auto a = state_.watch_kind(kKind, boost::asio::make_strand(io_), here.callback());
  auto b = state_.watch_kind(kKind, other.get_executor(), there.callback());
  auto c = state_.watch_kind(kKind, boost::asio::make_strand(pool), pooled.callback());
  state_.create(thing("x"));
  settle();
  other.poll();
  EXPECT_EQ(here.view(), (View{{"x", 1}}));
  EXPECT_EQ(there.view(), (View{{"x", 1}}));
  ASSERT_TRUE(pooled.wait_view(View{{"x", 1}}));
  c.reset();
  pool.join();
}

INSTANTIATE_TEST_SUITE_P(InMemory, InMemoryStateTest,
                         ::testing::Values(StateFactory{"InMemory", make_inmem}), factory_name);

}  // namespace
}  // namespace runtime::state::conformance
