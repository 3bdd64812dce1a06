// Registry semantics: merge rules, limits, TTL and GC, watches (including slow ones) and the
// atomicity of cluster removal.
#include "discovery/server/state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "discovery/server.pb.h"
#include "discovery/server/limits.h"
#include "tests/discovery/server/manual_clock.h"

namespace discovery::server {
namespace {

using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
namespace pb = ::sidero::discovery::server;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr std::string_view kCluster = "cluster1";

AffiliateUpdate make_update(std::string_view affiliate, std::string_view data,
                            std::vector<std::string_view> endpoints,
                            nanoseconds ttl = minutes(30)) {
  return {kCluster, affiliate, data, std::move(endpoints), ttl};
}

AffiliateRecord rec(std::string id, std::string data, std::vector<std::string> endpoints) {
  return {std::move(id), std::move(data), std::move(endpoints)};
}

std::vector<AffiliateRecord> records(const std::vector<AffiliatePtr>& ptrs) {
  std::vector<AffiliateRecord> out;
  for (const auto& p : ptrs) out.push_back(*p);
  return out;
}

// Takes the next change, or nullopt if none is pending.
std::optional<Change> take(Watch& watch) {
  Change change;
  if (watch.next(change) != Watch::Poll::kChange) return std::nullopt;
  return change;
}

// What a consumer builds from a snapshot and the changes it takes.
using View = std::map<std::string, AffiliateRecord>;

View view_of(const WatchSnapshot& snapshot) {
  View view;
  for (const auto& a : snapshot.affiliates) view.emplace(a->id, *a);
  return view;
}

void apply_change(View& view, const Change& change) {
  if (change.affiliate) {
    view.insert_or_assign(std::string(change.id), *change.affiliate);
  } else {
    view.erase(std::string(change.id));
  }
}

void drain(View& view, Watch& watch) {
  while (auto change = take(watch)) apply_change(view, *change);
}

class StateTest : public ::testing::Test {
 protected:
  std::vector<AffiliateRecord> list() { return records(state_.list(kCluster)); }
  View listed() {
    View out;
    for (const auto& a : state_.list(kCluster)) out.emplace(a->id, *a);
    return out;
  }

  test::ManualClock clock_;
  State state_{clock_};
};

TEST_F(StateTest, EndpointsMergeByBytesInInsertionOrder) {
  EXPECT_EQ(state_.update(make_update("af1", "data1", {"e1", "e2"})), UpdateStatus::kOk);
  EXPECT_EQ(state_.update(make_update("af1", "", {"e3", "e2"})), UpdateStatus::kOk);
  EXPECT_THAT(list(), ElementsAre(rec("af1", "data1", {"e1", "e2", "e3"})));
}

TEST_F(StateTest, NonEmptyDataReplacesEmptyKeeps) {
  state_.update(make_update("af1", "old", {}));
  state_.update(make_update("af1", "", {}));
  EXPECT_THAT(list(), ElementsAre(rec("af1", "old", {})));
  state_.update(make_update("af1", "new", {}));
  EXPECT_THAT(list(), ElementsAre(rec("af1", "new", {})));
}

TEST_F(StateTest, ListReturnsAffiliatesWithoutData) {
  state_.update(make_update("af1", "", {"e1"}));
  state_.update(make_update("af2", "", {}));
  EXPECT_THAT(list(), UnorderedElementsAre(rec("af1", "", {"e1"}), rec("af2", "", {})));
}

TEST_F(StateTest, DeleteOfUnknownIsOkAndCreatesNothing) {
  state_.remove(kCluster, "nobody");
  EXPECT_EQ(state_.stats().clusters, 0u);
  state_.update(make_update("af1", "d", {}));
  state_.remove(kCluster, "nobody");
  EXPECT_THAT(list(), ElementsAre(rec("af1", "d", {})));
  state_.remove(kCluster, "af1");
  EXPECT_THAT(list(), IsEmpty());
}

TEST_F(StateTest, ReadsNeverCreateState) {
  EXPECT_THAT(state_.list("unknown"), IsEmpty());
  EXPECT_EQ(state_.stats().clusters, 0u);
  {
    WatchStart start = state_.watch("unknown", nullptr);
    EXPECT_THAT(start.snapshot->affiliates, IsEmpty());
    EXPECT_EQ(state_.stats().watches, 1u);
  }
  EXPECT_EQ(state_.stats().clusters, 0u);
  EXPECT_EQ(state_.stats().watches, 0u);
}

TEST_F(StateTest, AffiliateLimitIsInclusive) {
  for (std::size_t i = 0; i < kClusterAffiliatesMax; ++i) {
    ASSERT_EQ(state_.update(make_update("af" + std::to_string(i), "", {})), UpdateStatus::kOk);
  }
  EXPECT_EQ(state_.update(make_update("one-more", "d", {"e"})), UpdateStatus::kTooManyAffiliates);
  EXPECT_EQ(state_.stats().affiliates, kClusterAffiliatesMax);
  // Existing affiliates can still be updated at the limit.
  EXPECT_EQ(state_.update(make_update("af0", "d", {})), UpdateStatus::kOk);
}

TEST_F(StateTest, EndpointLimitIsInclusiveAndMergesPartially) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kAffiliateEndpointsMax + 2; ++i) {
    names.push_back("e" + std::to_string(i));
  }
  for (std::size_t i = 0; i < kAffiliateEndpointsMax - 1; ++i) {
    ASSERT_EQ(state_.update(make_update("af1", "", {names[i]})), UpdateStatus::kOk);
  }
  // The 64th is accepted in the same request that fails on the 65th; known ones stay fine.
  EXPECT_EQ(state_.update(make_update("af1", "", {names[0], names[63], names[64], names[65]})),
            UpdateStatus::kTooManyEndpoints);
  auto stored = list();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].endpoints.size(), kAffiliateEndpointsMax);
  EXPECT_EQ(stored[0].endpoints.back(), names[63]);
  EXPECT_EQ(state_.update(make_update("af1", "", {names[5]})), UpdateStatus::kOk);
}

// Past the cluster cap an update or watch that would add a cluster is refused and stores
// nothing, while existing clusters take updates and watches; a collected cluster frees its place,
// and imported (snapshot) clusters are kept whatever the cap.
TEST(StateClusterCap, NewClustersPastTheCapAreRefused) {
  test::ManualClock clock;
  State state(clock, State::kDefaultSnapshotBudget, 2);
  auto update_in = [](std::string_view cluster) {
    AffiliateUpdate update = make_update("af1", "d", {});
    update.cluster_id = cluster;
    return update;
  };
  EXPECT_EQ(state.update(update_in("c1")), UpdateStatus::kOk);
  EXPECT_EQ(state.update(update_in("c2")), UpdateStatus::kOk);
  EXPECT_EQ(state.update(update_in("c3")), UpdateStatus::kTooManyClusters);
  EXPECT_TRUE(state.list("c3").empty());
  WatchStart refused = state.watch("c3", [] {});
  EXPECT_EQ(refused.watch, nullptr);
  EXPECT_EQ(refused.snapshot, nullptr);
  EXPECT_EQ(state.stats().clusters, 2u);

  EXPECT_EQ(state.update(update_in("c1")), UpdateStatus::kOk) << "existing clusters still work";
  EXPECT_NE(state.watch("c2", [] {}).watch, nullptr);

  state.remove("c1", "af1");
  state.collect_garbage();
  EXPECT_EQ(state.update(update_in("c3")), UpdateStatus::kOk) << "c1's place is free again";

  ClusterExport imported{.id = "c4", .affiliates = {}};
  imported.affiliates.push_back(
      {std::make_shared<AffiliateRecord>(AffiliateRecord{"af1", "d", {}}), std::chrono::minutes(1), {}});
  EXPECT_TRUE(state.import_cluster(imported));
  EXPECT_EQ(state.stats().clusters, 3u);
}

TEST_F(StateTest, AffiliateExpiresStrictlyAfterTtl) {
  state_.update(make_update("af1", "d", {}, seconds(10)));
  clock_.advance(seconds(10));
  EXPECT_EQ(state_.collect_garbage().affiliates_removed, 0u);
  EXPECT_EQ(list().size(), 1u);
  clock_.advance(nanoseconds(1));
  GcResult gc = state_.collect_garbage();
  EXPECT_EQ(gc.affiliates_removed, 1u);
  EXPECT_EQ(gc.clusters_removed, 1u);
  EXPECT_EQ(state_.stats().clusters, 0u);
}

TEST_F(StateTest, NegativeAndZeroTtlExpireAtNextGc) {
  state_.update(make_update("af1", "d", {}, seconds(-100)));
  state_.update(make_update("af2", "d", {}, seconds(0)));
  clock_.advance(nanoseconds(1));
  EXPECT_EQ(state_.collect_garbage().affiliates_removed, 2u);
}

TEST_F(StateTest, DataSetsExpiryEndpointsOnlyExtendIt) {
  state_.update(make_update("af1", "d", {}, minutes(20)));
  state_.update(make_update("af1", "d", {}, minutes(5)));  // data may shorten the lifetime
  clock_.advance(minutes(5) + nanoseconds(1));
  EXPECT_EQ(state_.collect_garbage().affiliates_removed, 1u);

  state_.update(make_update("af2", "d", {}, minutes(5)));
  state_.update(make_update("af2", "", {"e"}, minutes(20)));  // endpoints only extend
  state_.update(make_update("af2", "", {"e"}, minutes(1)));   // and never shorten
  clock_.advance(minutes(19));
  state_.collect_garbage();
  EXPECT_THAT(list(), ElementsAre(rec("af2", "d", {"e"})));
}

TEST_F(StateTest, EndpointExpiringAtNowIsDroppedAndWatchersGetAnUpsert) {
  state_.update(make_update("af1", "d", {"e1"}, minutes(1)));
  state_.update(make_update("af1", "d", {"e2"}, minutes(10)));
  WatchStart start = state_.watch(kCluster, nullptr);
  clock_.advance(minutes(1));
  GcResult gc = state_.collect_garbage();
  EXPECT_EQ(gc.endpoints_removed, 1u);
  EXPECT_EQ(gc.affiliates_removed, 0u);
  EXPECT_THAT(list(), ElementsAre(rec("af1", "d", {"e2"})));
  auto change = take(*start.watch);
  ASSERT_TRUE(change.has_value());
  ASSERT_NE(change->affiliate, nullptr) << "endpoint expiry must not look like a deletion";
  EXPECT_EQ(*change->affiliate, rec("af1", "d", {"e2"}));
}

TEST_F(StateTest, WatchSnapshotThenChanges) {
  state_.update(make_update("af1", "", {}));
  WatchStart start = state_.watch(kCluster, nullptr);
  EXPECT_THAT(records(start.snapshot->affiliates), ElementsAre(rec("af1", "", {})));
  state_.update(make_update("af2", "d2", {"e"}));
  state_.remove(kCluster, "af1");

  auto first = take(*start.watch);
  ASSERT_TRUE(first && first->affiliate);
  EXPECT_EQ(*first->affiliate, rec("af2", "d2", {"e"}));
  auto second = take(*start.watch);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->id, "af1");
  EXPECT_EQ(second->affiliate, nullptr);
  EXPECT_FALSE(take(*start.watch).has_value());
}

TEST_F(StateTest, OnlyRealChangesNotify) {
  state_.update(make_update("af1", "d", {"e1"}));
  WatchStart start = state_.watch(kCluster, nullptr);
  state_.update(make_update("af1", "d", {"e1"}));  // same data, known endpoint: a TTL refresh
  state_.update(make_update("af1", "", {}));
  state_.remove(kCluster, "unknown");
  EXPECT_EQ(start.watch->pending(), 0u);
  state_.update(make_update("af2", "", {}));  // a new affiliate always notifies
  EXPECT_EQ(start.watch->pending(), 1u);
}

TEST_F(StateTest, WakeFiresOnceWhenArmed) {
  std::atomic<int> wakes{0};
  WatchStart start = state_.watch(kCluster, [&] { wakes++; });
  state_.update(make_update("af1", "a", {}));
  EXPECT_EQ(wakes, 0) << "not armed before the consumer found nothing";
  ASSERT_TRUE(take(*start.watch).has_value());
  Change change;
  EXPECT_EQ(start.watch->next(change), Watch::Poll::kIdle);
  state_.update(make_update("af1", "b", {}));
  state_.update(make_update("af1", "c", {}));
  EXPECT_EQ(wakes, 1);
  auto latest = take(*start.watch);
  ASSERT_TRUE(latest && latest->affiliate);
  EXPECT_EQ(latest->affiliate->data, "c") << "pending changes coalesce per affiliate";
}

TEST_F(StateTest, CloseWatchesWakesAndCloses) {
  std::atomic<int> wakes{0};
  WatchStart start = state_.watch(kCluster, [&] { wakes++; });
  Change change;
  EXPECT_EQ(start.watch->next(change), Watch::Poll::kIdle);
  state_.close_watches();
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(start.watch->next(change), Watch::Poll::kClosed);
}

TEST_F(StateTest, SlowWatcherCoalescesInBoundedMemoryAndConverges) {
  state_.update(make_update("gone", "x", {}));
  WatchStart slow = state_.watch(kCluster, nullptr);
  WatchStart fast = state_.watch(kCluster, nullptr);
  std::size_t fast_changes = 0;
  // The fast watcher drains after every write, so it must see each one.
  auto write = [&](auto&& op) {
    op();
    while (take(*fast.watch)) fast_changes++;
  };
  constexpr int kAffiliates = 50;
  constexpr int kRounds = 200;
  write([&] { state_.remove(kCluster, "gone"); });
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kAffiliates; ++i) {
      std::string data = "r" + std::to_string(round);
      write([&] { state_.update(make_update("af" + std::to_string(i), data, {})); });
      // Churn that the slow watcher never saw must not accumulate.
      std::string temp = "tmp" + std::to_string(round * kAffiliates + i);
      write([&] { state_.update(make_update(temp, "t", {})); });
      write([&] { state_.remove(kCluster, temp); });
    }
    ASSERT_LE(slow.watch->pending(), static_cast<std::size_t>(kAffiliates + 1));
  }
  EXPECT_EQ(fast_changes, static_cast<std::size_t>(kRounds * kAffiliates * 3 + 1));

  View view = view_of(*slow.snapshot);
  drain(view, *slow.watch);
  EXPECT_EQ(view, listed());
  EXPECT_EQ(view.size(), static_cast<std::size_t>(kAffiliates));
}

TEST_F(StateTest, DeletionsAreKeptOnlyWhileAWatcherNeedsThem) {
  for (auto id : {"af1", "af2", "af3"}) state_.update(make_update(id, "d", {}));
  {
    WatchStart slow = state_.watch(kCluster, nullptr);
    for (int i = 0; i < 1000; ++i) {
      std::string temp = "tmp" + std::to_string(i);
      state_.update(make_update(temp, "t", {}));
      state_.remove(kCluster, temp);
    }
    EXPECT_LT(state_.stats().tombstones, 64u) << "affiliates the watcher never saw are pruned";
    state_.remove(kCluster, "af1");
    state_.remove(kCluster, "af2");
    std::vector<std::string> deleted;
    while (auto change = take(*slow.watch)) {
      EXPECT_EQ(change->affiliate, nullptr);
      deleted.emplace_back(change->id);
    }
    EXPECT_THAT(deleted, ElementsAre("af1", "af2")) << "only what it knew, nothing of the churn";
    state_.collect_garbage();
    EXPECT_EQ(state_.stats().tombstones, 2u) << "its held snapshot could still start a watch";
    slow.snapshot.reset();
    state_.collect_garbage();
    EXPECT_EQ(state_.stats().tombstones, 0u) << "the only watcher has passed every deletion";
  }
  state_.remove(kCluster, "af3");
  EXPECT_EQ(state_.stats().tombstones, 0u) << "no watcher: nothing to keep";
}

TEST_F(StateTest, WatchesAtTheSameChangeShareOneSnapshot) {
  state_.update(make_update("af1", "d", {"e"}));
  WatchStart first = state_.watch(kCluster, nullptr);
  WatchStart second = state_.watch(kCluster, nullptr);
  EXPECT_EQ(first.snapshot, second.snapshot) << "built once while it is held";
  state_.update(make_update("af2", "d2", {}));
  WatchStart third = state_.watch(kCluster, nullptr);
  EXPECT_NE(third.snapshot, first.snapshot) << "after a change the held one is stale";
  EXPECT_THAT(records(third.snapshot->affiliates),
              UnorderedElementsAre(rec("af1", "d", {"e"}), rec("af2", "d2", {})));
  EXPECT_FALSE(take(*third.watch).has_value()) << "the fresh snapshot already holds af2";

  pb::WatchResponse msg;
  ASSERT_TRUE(msg.ParseFromString(third.snapshot->message));
  EXPECT_EQ(msg.affiliates_size(), 2);
  EXPECT_FALSE(msg.deleted());
}

TEST_F(StateTest, OverBudgetWatchStartsFromTheHeldSnapshotAndCatchesUp) {
  State state(clock_, 0);  // any held snapshot is over this budget
  auto put = [&](std::string_view id, std::string_view data) {
    state.update({kCluster, id, data, {}, minutes(30)});
  };
  put("af1", "old");
  put("af3", "kept");
  WatchStart first = state.watch(kCluster, nullptr);
  put("af1", "new");
  put("af2", "x");
  state.remove(kCluster, "af3");
  WatchStart late = state.watch(kCluster, nullptr);
  EXPECT_EQ(late.snapshot, first.snapshot) << "shares the held snapshot instead of a new one";
  View expected;
  for (const auto& a : state.list(kCluster)) expected.emplace(a->id, *a);
  View view = view_of(*late.snapshot);
  drain(view, *late.watch);
  EXPECT_EQ(view, expected) << "the changes after the shared snapshot, deletion included";

  first = {};
  late = {};
  WatchStart fresh = state.watch(kCluster, nullptr);
  EXPECT_EQ(view_of(*fresh.snapshot), expected) << "nobody holds one: a fresh snapshot";
  EXPECT_FALSE(take(*fresh.watch).has_value());
}

TEST_F(StateTest, EveryWatcherGetsTheSameEncodedChange) {
  WatchStart a = state_.watch(kCluster, nullptr);
  WatchStart b = state_.watch(kCluster, nullptr);
  state_.update(make_update("af1", "d", {"e"}));
  auto from_a = take(*a.watch);
  auto from_b = take(*b.watch);
  ASSERT_TRUE(from_a && from_b);
  EXPECT_EQ(from_a->message.get(), from_b->message.get()) << "encoded once, shared";
  pb::WatchResponse msg;
  ASSERT_TRUE(msg.ParseFromString(*from_a->message));
  ASSERT_EQ(msg.affiliates_size(), 1);
  EXPECT_EQ(msg.affiliates(0).id(), "af1");
  EXPECT_EQ(msg.affiliates(0).data(), "d");
  EXPECT_FALSE(msg.deleted());

  state_.remove(kCluster, "af1");
  auto deletion = take(*a.watch);
  ASSERT_TRUE(deletion.has_value());
  ASSERT_TRUE(msg.ParseFromString(*deletion->message));
  ASSERT_EQ(msg.affiliates_size(), 1);
  EXPECT_EQ(msg.affiliates(0).id(), "af1");
  EXPECT_EQ(msg.affiliates(0).data(), "");
  EXPECT_TRUE(msg.deleted());
}

TEST_F(StateTest, SlowWatcherGetsTheDeletionOfARecreatedAffiliate) {
  state_.update(make_update("af1", "v1", {}));
  WatchStart slow = state_.watch(kCluster, nullptr);
  state_.remove(kCluster, "af1");
  state_.update(make_update("af1", "v2", {}));
  state_.remove(kCluster, "af1");
  auto change = take(*slow.watch);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->id, "af1");
  EXPECT_EQ(change->affiliate, nullptr) << "it knew af1 from its snapshot";
  EXPECT_FALSE(take(*slow.watch).has_value());
}

TEST_F(StateTest, SlowWatcherGetsARecreatedAffiliateAsOneUpsert) {
  state_.update(make_update("af1", "v1", {}));
  WatchStart slow = state_.watch(kCluster, nullptr);
  state_.remove(kCluster, "af1");
  state_.update(make_update("af1", "v2", {}));
  auto change = take(*slow.watch);
  ASSERT_TRUE(change && change->affiliate);
  EXPECT_EQ(*change->affiliate, rec("af1", "v2", {}));
  EXPECT_FALSE(take(*slow.watch).has_value());
  EXPECT_EQ(state_.stats().coalesced_changes, 1u) << "the deletion it skipped";
}

// Writers on several threads while consumers drain from their wake-ups, as the service does:
// every consumer ends with List's view.
TEST_F(StateTest, ConcurrentWritersAndWakeDrivenWatchersConverge) {
  constexpr int kWatchers = 3;
  constexpr int kWriters = 3;
  constexpr int kWrites = 3000;
  struct Consumer {
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
    View view;
    WatchStart start;
  };
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 0; i < kWatchers; ++i) {
    auto c = std::make_unique<Consumer>();
    c->start = state_.watch(kCluster, [raw = c.get()] {
      std::lock_guard lock(raw->mu);
      raw->woken = true;
      raw->cv.notify_one();
    });
    c->view = view_of(*c->start.snapshot);
    consumers.push_back(std::move(c));
  }
  std::atomic<int> writers_left{kWriters};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kWrites; ++i) {
        std::string id = "af" + std::to_string((i * 7 + w) % 40);
        if (i % 5 == 4) {
          state_.remove(kCluster, id);
        } else {
          state_.update(make_update(id, "w" + std::to_string(w) + "-" + std::to_string(i), {}));
        }
      }
      writers_left--;
    });
  }
  for (auto& c : consumers) {
    threads.emplace_back([&, raw = c.get()] {
      for (;;) {
        Change change;
        while (raw->start.watch->next(change) == Watch::Poll::kChange)
          apply_change(raw->view, change);
        if (writers_left == 0) {
          drain(raw->view, *raw->start.watch);
          return;
        }
        std::unique_lock lock(raw->mu);
        raw->cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return raw->woken; });
        raw->woken = false;
      }
    });
  }
  for (auto& t : threads) t.join();
  const View expected = listed();
  for (auto& c : consumers) EXPECT_EQ(c->view, expected);
}

// A cluster emptied and collected concurrently with writes and watches must never swallow them.
TEST_F(StateTest, ClusterRemovalIsAtomicWithLookups) {
  std::atomic<bool> stop{false};
  std::thread gc([&] {
    while (!stop) state_.collect_garbage();
  });
  for (int i = 0; i < 20000; ++i) {
    {
      WatchStart start = state_.watch(kCluster, nullptr);
      state_.update(make_update("af1", "d", {}));
      auto change = take(*start.watch);
      ASSERT_TRUE(change.has_value()) << "iteration " << i;
    }
    ASSERT_EQ(state_.list(kCluster).size(), 1u) << "iteration " << i;
    state_.remove(kCluster, "af1");
  }
  stop = true;
  gc.join();
}

}  // namespace
}  // namespace discovery::server

namespace discovery::server {
namespace {

AffiliateExport exported(AffiliateRecord record, nanoseconds ttl,
                         std::vector<nanoseconds> endpoint_ttls) {
  return {std::make_shared<AffiliateRecord>(std::move(record)), ttl, std::move(endpoint_ttls)};
}

class StateApplyTest : public ::testing::Test {
 protected:
  test::ManualClock clock_;
  State state_{clock_};
};

TEST_F(StateApplyTest, AppliesExactlyAndTellsWatchersOnlyOfVisibleChanges) {
  auto watch = state_.watch(kCluster, [] {});
  ASSERT_TRUE(state_.apply(kCluster, exported(rec("af1", "d1", {"e1", "e2"}), minutes(1),
                                              {seconds(10), seconds(20)})));
  auto first = take(*watch.watch);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first->affiliate, rec("af1", "d1", {"e1", "e2"}));

  // Lifetimes alone change nothing a watcher sees.
  ASSERT_TRUE(state_.apply(kCluster, exported(rec("af1", "d1", {"e1", "e2"}), minutes(2),
                                              {seconds(30), seconds(40)})));
  EXPECT_FALSE(take(*watch.watch));

  // Unlike an update, an applied record replaces the endpoints (and may drop one).
  ASSERT_TRUE(state_.apply(kCluster, exported(rec("af1", "d1", {"e2"}), minutes(2), {seconds(40)})));
  auto second = take(*watch.watch);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second->affiliate, rec("af1", "d1", {"e2"}));
  EXPECT_THAT(records(state_.list(kCluster)), ElementsAre(rec("af1", "d1", {"e2"})));
}

TEST_F(StateApplyTest, ExpiringNamesWhatGcWouldChange) {
  state_.apply("c1", exported(rec("gone", "d", {}), seconds(5), {}));
  state_.apply("c1", exported(rec("trimmed", "d", {"old", "new"}), minutes(1),
                              {seconds(5), minutes(1)}));
  state_.apply("c2", exported(rec("fine", "d", {"e"}), minutes(1), {minutes(1)}));
  EXPECT_THAT(state_.expiring(), IsEmpty());
  EXPECT_THAT(state_.cluster_ids(), UnorderedElementsAre("c1", "c2"));

  clock_.advance(seconds(5));
  // The endpoint's expiry is not after now; the affiliate's must be before now.
  EXPECT_THAT(state_.expiring(), ElementsAre(AffiliateKey{"c1", "trimmed"}));
  clock_.advance(nanoseconds(1));
  EXPECT_THAT(state_.expiring(), UnorderedElementsAre(AffiliateKey{"c1", "gone"},
                                                      AffiliateKey{"c1", "trimmed"}));
  const GcResult gc = state_.collect_garbage();
  EXPECT_EQ(gc.affiliates_removed, 1u);
  EXPECT_EQ(gc.endpoints_removed, 1u);
  EXPECT_THAT(state_.expiring(), IsEmpty());
}

TEST_F(StateApplyTest, ApplyRefusesPastTheClusterLimit) {
  for (std::size_t i = 0; i < kClusterAffiliatesMax; ++i) {
    ASSERT_TRUE(state_.apply(kCluster, exported(rec("a" + std::to_string(i), "d", {}),
                                                minutes(1), {})));
  }
  EXPECT_FALSE(state_.apply(kCluster, exported(rec("extra", "d", {}), minutes(1), {})));
  EXPECT_EQ(state_.list(kCluster).size(), kClusterAffiliatesMax);
}

}  // namespace
}  // namespace discovery::server
