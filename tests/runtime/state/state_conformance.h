// The State conformance suite: COSI semantics any State must show (writes, errors, watches).
// Instantiate it once per binary with INSTANTIATE_TEST_SUITE_P(<Name>, StateConformance,
// ::testing::Values(StateFactory{...})).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runtime/state/state.h"
#include "tests/runtime/state/watch_recorder.h"

namespace runtime::state::conformance {

// History sizes for the State under test (events per namespace/type).
struct HistoryLimits {
  std::size_t initial_capacity = 64;
  std::size_t max_capacity = 1024;
  std::size_t gap = 4;
};

struct StateFactory {
  std::string name;
  std::function<std::unique_ptr<State>(const HistoryLimits&)> make;
  // A state in this process can hold a subscriber's events back and then resync it. Over the
  // wire the server turns a resync into ordinary events, so only the converged view is checked.
  bool delivers_resync_batches = true;
};

inline void PrintTo(const StateFactory& f, std::ostream* os) { *os << f.name; }

inline std::string factory_name(const ::testing::TestParamInfo<StateFactory>& info) {
  return info.param.name;
}

inline const std::string kNs = "ns";
inline const std::string kType = "Things.test.dev";
inline const Kind kKind{kNs, kType};

inline Pointer ptr(const std::string& id) { return Pointer{kNs, kType, id}; }

inline resource::Resource thing(const std::string& id, resource::Labels labels = {},
                                const std::string& value = "v") {
  return make_resource(kNs, kType, id, std::move(labels), value);
}

// WatchKindOptions builders (designated initializers trip -Wmissing-field-initializers).
inline WatchKindOptions bootstrapping() {
  WatchKindOptions o;
  o.bootstrap_contents = true;
  return o;
}

inline WatchKindOptions bookmarked() {
  WatchKindOptions o;
  o.bootstrap_bookmark = true;
  return o;
}

inline WatchKindOptions with_tail(WatchKindOptions o, int tail_events) {
  o.tail_events = tail_events;
  return o;
}

inline WatchKindOptions resuming_from(std::string bookmark, WatchKindOptions o = {}) {
  o.start_from_bookmark = std::move(bookmark);
  return o;
}

// Runs `fn` and returns the code of the state::Error it throws (or fails the test).
template <class Fn>
std::optional<ErrorCode> error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

class StateConformance : public ::testing::TestWithParam<StateFactory> {
 protected:
  void SetUp() override {
    state_ = GetParam().make(HistoryLimits{});
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    states_.clear();
    state_.reset();
    work_.reset();
    for (auto& t : threads_) t.join();
  }

  State& state() { return *state_; }

  // A second state with other history limits; it lives until the end of the test.
  State& state_with(const HistoryLimits& limits) {
    states_.push_back(GetParam().make(limits));
    return *states_.back();
  }

  Executor strand() { return boost::asio::make_strand(io_); }

  // Runs everything posted to `executor` before this call, then returns.
  static void flush(const Executor& executor) {
    auto done = std::make_shared<std::promise<void>>();
    boost::asio::post(executor, [done] { done->set_value(); });
    ASSERT_EQ(done->get_future().wait_for(kDeadline), std::future_status::ready);
  }

  // Keeps `executor` busy until the returned promise is fulfilled.
  static std::shared_ptr<std::promise<void>> block(const Executor& executor) {
    auto gate = std::make_shared<std::promise<void>>();
    auto entered = std::make_shared<std::promise<void>>();
    boost::asio::post(executor, [future = gate->get_future().share(), entered] {
      entered->set_value();
      future.wait();
    });
    entered->get_future().wait();
    return gate;
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::vector<std::thread> threads_;
  std::unique_ptr<State> state_;
  std::vector<std::unique_ptr<State>> states_;
};

// --- Create, Get, List ----------------------------------------------------------------------

TEST_P(StateConformance, CreateStoresVersionOneTimestampsAndOwnerFromOptions) {
  auto r = thing("a");
  r.metadata.version = 7;
  r.metadata.owner = "someone-else";
  auto stored = state().create(r, CreateOptions{"ctrl"});
  EXPECT_EQ(stored->metadata.version, 1u);
  EXPECT_EQ(stored->metadata.owner, "ctrl");
  EXPECT_EQ(stored->metadata.phase, Phase::kRunning);
  EXPECT_NE(stored->metadata.created, resource::Timestamp{});
  EXPECT_EQ(stored->metadata.created, stored->metadata.updated);
  auto got = state().get(ptr("a"));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, *stored);
  EXPECT_EQ(got->spec->yaml(), "value: v\n");
}

TEST_P(StateConformance, CreateOfExistingIdIsAlreadyExistsAndChangesNothing) {
  state().create(thing("a", {}, "first"));
  EXPECT_EQ(error_of([&] { state().create(thing("a", {}, "second")); }),
            ErrorCode::kAlreadyExists);
  auto got = state().get(ptr("a"));
  EXPECT_EQ(got->spec->proto_bytes(), "first");
  EXPECT_EQ(got->metadata.version, 1u);
}

TEST_P(StateConformance, BadResourcesAreRefusedAndNothingIsStored) {
  auto no_spec = thing("a");
  no_spec.spec = nullptr;
  EXPECT_EQ(error_of([&] { state().create(no_spec); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { state().create(thing("")); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { state().create(make_resource("", kType, "a")); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { state().create(make_resource(kNs, "", "a")); }),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(state().list(kKind).empty());

  auto stored = state().create(thing("b"));
  auto update = editable(stored);
  update.spec = nullptr;
  EXPECT_EQ(error_of([&] { state().update(update); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(state().get(ptr("b"))->metadata.version, 1u);
}

TEST_P(StateConformance, GetOfMissingResourceOrKindIsNull) {
  EXPECT_EQ(state().get(ptr("nope")), nullptr);
  EXPECT_EQ(state().get(Pointer{"other", "Nothing.test.dev", "x"}), nullptr);
  EXPECT_TRUE(state().list(Kind{"other", "Nothing.test.dev"}).empty());
}

TEST_P(StateConformance, ListIsSortedByIdAndKindsAreSeparate) {
  for (const char* id : {"c", "a", "b"}) state().create(thing(id));
  state().create(make_resource(kNs, "Others.test.dev", "z"));
  state().create(make_resource("ns2", kType, "y"));
  auto all = state().list(kKind);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->metadata.id, "a");
  EXPECT_EQ(all[1]->metadata.id, "b");
  EXPECT_EQ(all[2]->metadata.id, "c");
}

TEST_P(StateConformance, ListAppliesLabelQueriesOredAndIdQueryAnded) {
  state().create(thing("web-1", {{"app", "web"}, {"tier", "1"}}));
  state().create(thing("web-2", {{"app", "web"}, {"tier", "2"}}));
  state().create(thing("db-1", {{"app", "db"}, {"tier", "1"}}));
  state().create(thing("bare"));

  auto ids = [&](const ResourceFilter& f) {
    std::vector<std::string> out;
    for (const auto& r : state().list(kKind, ListOptions{f})) out.push_back(r->metadata.id);
    return out;
  };
  ResourceFilter web;
  web.label_queries = {LabelQuery{{LabelTerm{"app", LabelOp::kEqual, {"web"}}}}};
  EXPECT_THAT(ids(web), ::testing::ElementsAre("web-1", "web-2"));

  ResourceFilter web_tier2;  // AND inside one query
  web_tier2.label_queries = {LabelQuery{{LabelTerm{"app", LabelOp::kEqual, {"web"}},
                                         LabelTerm{"tier", LabelOp::kEqual, {"2"}}}}};
  EXPECT_THAT(ids(web_tier2), ::testing::ElementsAre("web-2"));

  ResourceFilter db_or_tier2;  // OR across queries
  db_or_tier2.label_queries = {LabelQuery{{LabelTerm{"app", LabelOp::kEqual, {"db"}}}},
                               LabelQuery{{LabelTerm{"tier", LabelOp::kEqual, {"2"}}}}};
  EXPECT_THAT(ids(db_or_tier2), ::testing::ElementsAre("db-1", "web-2"));

  ResourceFilter no_app;
  no_app.label_queries = {LabelQuery{{LabelTerm{"app", LabelOp::kExists, {}, true}}}};
  EXPECT_THAT(ids(no_app), ::testing::ElementsAre("bare"));

  ResourceFilter tier1_ending_1;
  tier1_ending_1.label_queries = {LabelQuery{{LabelTerm{"tier", LabelOp::kEqual, {"1"}}}}};
  tier1_ending_1.id_query = IdQuery("^web");
  EXPECT_THAT(ids(tier1_ending_1), ::testing::ElementsAre("web-1"));

  ResourceFilter unanchored;
  unanchored.id_query = IdQuery("b-");
  EXPECT_THAT(ids(unanchored), ::testing::ElementsAre("db-1", "web-1", "web-2"));
}

// --- Update ---------------------------------------------------------------------------------

TEST_P(StateConformance, UpdateBumpsVersionAndKeepsStoredOwnerAndCreated) {
  auto created = state().create(thing("a"), CreateOptions{"ctrl"});
  auto next = editable(created);
  next.metadata.owner = "intruder";  // the owner option decides, the stored owner stays
  next.metadata.created = resource::Timestamp{};
  next.metadata.labels["k"] = "v";
  next.spec = std::make_shared<resource::OpaqueSpec>("new", "value: new\n");
  auto updated = state().update(next, UpdateOptions{"ctrl", Phase::kRunning});
  EXPECT_EQ(updated->metadata.version, 2u);
  EXPECT_EQ(updated->metadata.owner, "ctrl");
  EXPECT_EQ(updated->metadata.created, created->metadata.created);
  EXPECT_GE(updated->metadata.updated, created->metadata.updated);
  EXPECT_EQ(updated->metadata.labels.at("k"), "v");
  EXPECT_EQ(*state().get(ptr("a")), *updated);
  EXPECT_EQ(state().get(ptr("a"))->spec->proto_bytes(), "new");
}

TEST_P(StateConformance, UpdateAlwaysBumpsTheVersionEvenWhenNothingChanged) {
  auto r = state().create(thing("a"));
  auto u1 = state().update(editable(r));
  auto u2 = state().update(editable(u1));
  EXPECT_EQ(u2->metadata.version, 3u);
}

TEST_P(StateConformance, UpdateChecksNotFoundThenOwnerThenVersionThenPhase) {
  EXPECT_EQ(error_of([&] { state().update(thing("missing")); }), ErrorCode::kNotFound);

  auto r = state().create(thing("a"), CreateOptions{"ctrl"});
  ASSERT_TRUE(state().teardown(ptr("a"), TeardownOptions{"ctrl"}));
  auto current = state().get(ptr("a"));  // version 2, tearingDown

  auto stale = editable(current);
  stale.metadata.version = 1;
  // Every check fails: the owner one is reported.
  EXPECT_EQ(error_of([&] { state().update(stale, UpdateOptions{"other", Phase::kRunning}); }),
            ErrorCode::kOwnerConflict);
  // Owner right, version and phase wrong: the version one.
  EXPECT_EQ(error_of([&] { state().update(stale, UpdateOptions{"ctrl", Phase::kRunning}); }),
            ErrorCode::kVersionConflict);
  // Only the phase wrong.
  EXPECT_EQ(error_of([&] {
              state().update(editable(current), UpdateOptions{"ctrl", Phase::kRunning});
            }),
            ErrorCode::kPhaseConflict);
  EXPECT_EQ(*state().get(ptr("a")), *current);

  try {
    state().update(editable(current), UpdateOptions{"ctrl", Phase::kRunning});
    FAIL() << "expected a phase conflict";
  } catch (const Error& e) {
    EXPECT_TRUE(is_conflict(e));
    EXPECT_TRUE(is_phase_conflict(e));
    EXPECT_FALSE(is_owner_conflict(e));
  }
}

TEST_P(StateConformance, UpdateWithoutExpectedPhaseAcceptsAnyAndStoresTheGivenPhase) {
  state().create(thing("a"));
  state().teardown(ptr("a"));
  auto back = editable(state().get(ptr("a")));
  back.metadata.phase = Phase::kRunning;  // no transition rules: the client's phase is stored
  auto updated = state().update(back, UpdateOptions{"", std::nullopt});
  EXPECT_EQ(updated->metadata.phase, Phase::kRunning);
  EXPECT_EQ(updated->metadata.version, 3u);
}

TEST_P(StateConformance, ConcurrentUpdatesWithRetryCountEverySuccess) {
  state().create(thing("counter", {}, "0"));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 300;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        while (true) {
          auto current = state().get(ptr("counter"));
          auto next = editable(current);
          int value = std::stoi(current->spec->proto_bytes()) + 1;
          next.spec = std::make_shared<resource::OpaqueSpec>(std::to_string(value), "");
          try {
            state().update(next);
            break;
          } catch (const Error& e) {
            if (e.code() != ErrorCode::kVersionConflict) throw;
            ++conflicts;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto final = state().get(ptr("counter"));
  EXPECT_EQ(final->metadata.version, 1u + kThreads * kPerThread);
  // No lost update: every successful write saw the previous one.
  EXPECT_EQ(final->spec->proto_bytes(), std::to_string(kThreads * kPerThread));
}

// --- Destroy, Teardown, Finalizers ----------------------------------------------------------

TEST_P(StateConformance, DestroyChecksNotFoundThenOwnerThenFinalizers) {
  EXPECT_EQ(error_of([&] { state().destroy(ptr("missing")); }), ErrorCode::kNotFound);
  state().create(thing("a"), CreateOptions{"ctrl"});
  state().add_finalizers(ptr("a"), {"holder"});
  EXPECT_EQ(error_of([&] { state().destroy(ptr("a"), DestroyOptions{"other"}); }),
            ErrorCode::kOwnerConflict);
  EXPECT_EQ(error_of([&] { state().destroy(ptr("a"), DestroyOptions{"ctrl"}); }),
            ErrorCode::kPendingFinalizers);
  EXPECT_NE(state().get(ptr("a")), nullptr);

  state().remove_finalizers(ptr("a"), {"holder"});
  // Destroy does not need tearingDown.
  state().destroy(ptr("a"), DestroyOptions{"ctrl"});
  EXPECT_EQ(state().get(ptr("a")), nullptr);
  EXPECT_EQ(error_of([&] { state().destroy(ptr("a"), DestroyOptions{"ctrl"}); }),
            ErrorCode::kNotFound);
  // The id is free again and starts over at version 1.
  EXPECT_EQ(state().create(thing("a"))->metadata.version, 1u);
}

TEST_P(StateConformance, TeardownSetsThePhaseOnceAndReportsDestroyReadiness) {
  EXPECT_EQ(error_of([&] { state().teardown(ptr("missing")); }), ErrorCode::kNotFound);
  state().create(thing("a"), CreateOptions{"ctrl"});
  state().add_finalizers(ptr("a"), {"f1"});
  EXPECT_EQ(error_of([&] { state().teardown(ptr("a"), TeardownOptions{"other"}); }),
            ErrorCode::kOwnerConflict);
  EXPECT_EQ(state().get(ptr("a"))->metadata.phase, Phase::kRunning);

  EXPECT_FALSE(state().teardown(ptr("a"), TeardownOptions{"ctrl"}));
  auto torn = state().get(ptr("a"));
  EXPECT_EQ(torn->metadata.phase, Phase::kTearingDown);
  EXPECT_EQ(torn->metadata.version, 3u);
  EXPECT_EQ(torn->metadata.owner, "ctrl");

  // Again: not an error, no write.
  EXPECT_FALSE(state().teardown(ptr("a"), TeardownOptions{"ctrl"}));
  EXPECT_EQ(state().get(ptr("a"))->metadata.version, 3u);

  state().remove_finalizers(ptr("a"), {"f1"});
  EXPECT_TRUE(state().teardown(ptr("a"), TeardownOptions{"ctrl"}));
}

TEST_P(StateConformance, FinalizersChangeByAnyoneInAnyPhaseAndKeepTheOwner) {
  EXPECT_EQ(error_of([&] { state().add_finalizers(ptr("missing"), {"f"}); }),
            ErrorCode::kNotFound);
  EXPECT_EQ(error_of([&] { state().remove_finalizers(ptr("missing"), {"f"}); }),
            ErrorCode::kNotFound);

  state().create(thing("a"), CreateOptions{"ctrl"});
  auto added = state().add_finalizers(ptr("a"), {"f1", "f2"});
  EXPECT_EQ(added->metadata.owner, "ctrl");
  EXPECT_EQ(added->metadata.version, 2u);
  EXPECT_EQ(added->metadata.finalizers, (resource::Finalizers{"f2", "f1"}));

  // Nothing new to add or remove: no write.
  EXPECT_EQ(state().add_finalizers(ptr("a"), {"f1"})->metadata.version, 2u);
  EXPECT_EQ(state().remove_finalizers(ptr("a"), {"nope"})->metadata.version, 2u);

  state().teardown(ptr("a"), TeardownOptions{"ctrl"});
  auto removed = state().remove_finalizers(ptr("a"), {"f1"});
  EXPECT_EQ(removed->metadata.phase, Phase::kTearingDown);
  EXPECT_EQ(removed->metadata.finalizers, (resource::Finalizers{"f2"}));
  auto readded = state().add_finalizers(ptr("a"), {"f3"});
  EXPECT_EQ(readded->metadata.finalizers, (resource::Finalizers{"f2", "f3"}));
  EXPECT_EQ(readded->metadata.owner, "ctrl");
}

// --- Single-resource watches ----------------------------------------------------------------

TEST_P(StateConformance, WatchOfExistingResourceStartsWithCreatedThenFollowsIt) {
  auto r = state().create(thing("a"));
  state().create(thing("other"));
  WatchRecorder rec;
  auto w = state().watch(ptr("a"), strand(), rec.callback());
  ASSERT_TRUE(rec.wait_events(1));
  auto first = rec.batches().front();
  ASSERT_EQ(first.events.size(), 1u);
  EXPECT_EQ(first.events[0].type, EventType::kCreated);
  EXPECT_EQ(*first.events[0].resource, *r);
  EXPECT_FALSE(first.resync);

  auto u = state().update(editable(r));
  state().update(editable(state().get(ptr("other"))));
  state().destroy(ptr("a"));
  ASSERT_TRUE(rec.wait_events(3));
  auto events = rec.events();
  EXPECT_THAT(describe(events), ::testing::ElementsAre("Ca", "Ua", "Da"));
  EXPECT_EQ(*events[1].resource, *u);
  ASSERT_TRUE(events[1].old);
  EXPECT_EQ(*events[1].old, *r);
  EXPECT_EQ(*events[2].resource, *u);  // Destroyed carries the last stored version
  for (const auto& e : events) EXPECT_FALSE(e.bookmark.empty());
}

TEST_P(StateConformance, WatchOfMissingResourceStartsWithDestroyedTombstone) {
  WatchRecorder rec;
  auto w = state().watch(ptr("a"), strand(), rec.callback());
  ASSERT_TRUE(rec.wait_events(1));
  auto first = rec.events().front();
  EXPECT_EQ(first.type, EventType::kDestroyed);
  EXPECT_EQ(first.resource->metadata.id, "a");
  EXPECT_EQ(first.resource->metadata.version, resource::kUndefinedVersion);
  EXPECT_EQ(first.resource->spec, nullptr);

  auto r = state().create(thing("a"));
  ASSERT_TRUE(rec.wait_events(2));
  EXPECT_THAT(describe(rec.events()), ::testing::ElementsAre("Da", "Ca"));
  EXPECT_EQ(*rec.events()[1].resource, *r);
}

TEST_P(StateConformance, WatchWithTailReplaysPastEventsOfThatIdOnly) {
  auto r = state().create(thing("a"));
  state().create(thing("b"));
  state().update(editable(r));
  WatchRecorder rec;
  auto w = state().watch(ptr("a"), strand(), rec.callback(), WatchOptions{10, std::nullopt});
  ASSERT_TRUE(rec.wait_events(2));
  EXPECT_THAT(describe(rec.events()), ::testing::ElementsAre("Ca", "Ua"));
}

TEST_P(StateConformance, WatchResumesFromABookmarkWithEventsOfThatIdOnly) {
  WatchRecorder first;
  auto w = state().watch(ptr("a"), strand(), first.callback());
  auto r = state().create(thing("a"));
  ASSERT_TRUE(first.wait_events(2));  // Destroyed tombstone, then Created
  const std::string bookmark = first.events().back().bookmark;
  state().create(thing("b"));
  state().update(editable(r));
  WatchRecorder resumed;
  auto w2 = state().watch(ptr("a"), strand(), resumed.callback(), WatchOptions{0, bookmark});
  state().destroy(ptr("a"));
  ASSERT_TRUE(resumed.wait_events(2));
  EXPECT_THAT(describe(resumed.events()), ::testing::ElementsAre("Ua", "Da"));
}

TEST_P(StateConformance, CallbackMayDestroyItsOwnWatch) {
  std::unique_ptr<Watch> w;
  std::atomic<int> calls{0};
  auto executor = strand();
  auto ready = std::make_shared<std::promise<void>>();
  boost::asio::post(executor, [&, ready] {
    w = state().watch_kind(kKind, executor, [&](WatchBatch) {
      ++calls;
      w.reset();
    });
    ready->set_value();
  });
  ready->get_future().wait();
  state().create(thing("a"));
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }, kDeadline));
  state().create(thing("b"));
  WatchRecorder sentinel;
  auto ws = state().watch_kind(kKind, strand(), sentinel.callback(), bootstrapping());
  ASSERT_TRUE(sentinel.wait_batches(1));
  flush(executor);
  EXPECT_EQ(calls.load(), 1);
}

// --- Kind watches ---------------------------------------------------------------------------

TEST_P(StateConformance, KindWatchBootstrapIsOneSortedBatchEndingWithBootstrapped) {
  state().create(thing("b"));
  state().create(thing("a"));
  WatchRecorder rec;
  auto w = state().watch_kind(kKind, strand(), rec.callback(), bootstrapping());
  ASSERT_TRUE(rec.wait_batches(1));
  auto first = rec.batches().front();
  EXPECT_THAT(describe(first.events), ::testing::ElementsAre("Ca", "Cb", "B"));
  const auto& marker = first.events.back();
  EXPECT_EQ(marker.resource->metadata.id, "");
  EXPECT_EQ(marker.resource->metadata.type, kType);
  EXPECT_EQ(marker.resource->spec, nullptr);
  EXPECT_FALSE(marker.bookmark.empty());

  state().create(thing("c"));
  ASSERT_TRUE(rec.wait_events(4));
  EXPECT_EQ(describe(rec.events()).back(), "Cc");
}

TEST_P(StateConformance, KindWatchOfEmptyKindBootstrapsWithBootstrappedOnly) {
  WatchRecorder rec;
  auto w = state().watch_kind(kKind, strand(), rec.callback(), bootstrapping());
  ASSERT_TRUE(rec.wait_batches(1));
  EXPECT_THAT(describe(rec.batches().front().events), ::testing::ElementsAre("B"));
}

TEST_P(StateConformance, KindWatchWithoutBootstrapSendsOnlyLiveEvents) {
  state().create(thing("old"));
  WatchRecorder rec;
  auto w = state().watch_kind(kKind, strand(), rec.callback());
  state().create(thing("new"));
  ASSERT_TRUE(rec.wait_events(1));
  EXPECT_THAT(describe(rec.events()), ::testing::ElementsAre("Cnew"));
}

TEST_P(StateConformance, BootstrapBookmarkSendsNoopFirstAndResumesAfterIt) {
  state().create(thing("a"));
  WatchRecorder rec;
  auto w = state().watch_kind(kKind, strand(), rec.callback(), bookmarked());
  ASSERT_TRUE(rec.wait_events(1));
  auto noop = rec.events().front();
  EXPECT_EQ(noop.type, EventType::kNoop);
  EXPECT_EQ(noop.resource->spec, nullptr);
  ASSERT_FALSE(noop.bookmark.empty());

  state().create(thing("b"));
  state().create(thing("c"));
  WatchRecorder resumed;
  auto w2 = state().watch_kind(kKind, strand(), resumed.callback(),
                               resuming_from(noop.bookmark));
  ASSERT_TRUE(resumed.wait_events(2));
  EXPECT_THAT(describe(resumed.events()), ::testing::ElementsAre("Cb", "Cc"));
}

TEST_P(StateConformance, TailEventsReplaysAtMostCapacityMinusGap) {
  auto& s = state_with(HistoryLimits{8, 8, 2});
  for (int i = 0; i < 10; ++i) s.create(thing("r" + std::to_string(i)));

  WatchRecorder three;
  auto w1 = s.watch_kind(kKind, strand(), three.callback(), with_tail({}, 3));
  ASSERT_TRUE(three.wait_events(3));
  EXPECT_THAT(describe(three.events()), ::testing::ElementsAre("Cr7", "Cr8", "Cr9"));

  WatchRecorder all;
  auto w2 = s.watch_kind(kKind, strand(), all.callback(), with_tail({}, 100));
  ASSERT_TRUE(all.wait_events(6));
  EXPECT_THAT(describe(all.events()),
              ::testing::ElementsAre("Cr4", "Cr5", "Cr6", "Cr7", "Cr8", "Cr9"));
}

TEST_P(StateConformance, EveryEventBookmarkResumesRightAfterThatEvent) {
  WatchRecorder rec;
  auto w = state().watch_kind(kKind, strand(), rec.callback());
  auto a = state().create(thing("a"));
  state().update(editable(a));
  state().create(thing("b"));
  state().destroy(ptr("a"));
  ASSERT_TRUE(rec.wait_events(4));
  auto events = rec.events();
  EXPECT_THAT(describe(events), ::testing::ElementsAre("Ca", "Ua", "Cb", "Da"));

  // Resuming from event i replays the events after it, then the markers written so far.
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_FALSE(events[i].bookmark.empty());
    WatchRecorder resumed;
    auto w2 = state().watch_kind(kKind, strand(), resumed.callback(),
                                 resuming_from(events[i].bookmark));
    state().create(thing("m" + std::to_string(i)));
    std::vector<std::string> want;
    for (std::size_t j = i + 1; j < events.size(); ++j) want.push_back(describe({events[j]})[0]);
    for (std::size_t m = 0; m <= i; ++m) want.push_back("Cm" + std::to_string(m));
    ASSERT_TRUE(resumed.wait_events(want.size())) << "resume after event " << i;
    EXPECT_EQ(describe(resumed.events()), want);
  }
}

TEST_P(StateConformance, InvalidBookmarksAreRefusedBeforeAnythingIsDelivered) {
  auto& s = state_with(HistoryLimits{8, 8, 2});
  WatchRecorder rec;
  auto w = s.watch_kind(kKind, strand(), rec.callback());
  s.create(thing("first"));
  ASSERT_TRUE(rec.wait_events(1));
  const std::string old_bookmark = rec.events().front().bookmark;
  for (int i = 0; i < 20; ++i) s.create(thing("r" + std::to_string(i)));

  std::string foreign = old_bookmark;
  foreign[0] = static_cast<char>(foreign[0] ^ 0x5a);
  std::string future = rec.events().front().bookmark;
  future[future.size() - 2] = static_cast<char>(future[future.size() - 2] + 1);

  WatchRecorder never;
  for (const std::string& bad :
       {std::string(), std::string("garbage"), foreign, old_bookmark, future}) {
    EXPECT_EQ(error_of([&] {
                s.watch_kind(kKind, strand(), never.callback(),
                             resuming_from(bad));
              }),
              ErrorCode::kInvalidBookmark)
        << "bookmark of " << bad.size() << " bytes";
    EXPECT_EQ(error_of([&] {
                s.watch(Pointer{kNs, kType, "first"}, strand(), never.callback(),
                        WatchOptions{0, bad});
              }),
              ErrorCode::kInvalidBookmark);
  }
  // A watch that does get through proves the executor ran; the refused ones left no trace.
  WatchRecorder ok;
  auto w2 = s.watch_kind(kKind, strand(), ok.callback(), bootstrapping());
  ASSERT_TRUE(ok.wait_batches(1));
  EXPECT_EQ(never.event_count(), 0u);
}

TEST_P(StateConformance, InvalidWatchOptionsAreRefused) {
  WatchRecorder rec;
  EXPECT_EQ(error_of([&] {
              state().watch_kind(kKind, strand(), rec.callback(),
                                 with_tail(bootstrapping(), 1));
            }),
            ErrorCode::kInvalidArgument);
  auto w = state().watch_kind(kKind, strand(), rec.callback(),
                              bookmarked());
  ASSERT_TRUE(rec.wait_events(1));
  const std::string bookmark = rec.events().front().bookmark;
  EXPECT_EQ(error_of([&] {
              state().watch_kind(
                  kKind, strand(), rec.callback(),
                  resuming_from(bookmark, bootstrapping()));
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] {
              state().watch_kind(kKind, strand(), rec.callback(),
                                 with_tail({}, -1));
            }),
            ErrorCode::kInvalidArgument);
}

TEST_P(StateConformance, LabelFilterTurnsUpdatesIntoSyntheticCreatedAndDestroyed) {
  WatchKindOptions opts;
  opts.filter.label_queries = {LabelQuery{{LabelTerm{"app", LabelOp::kEqual, {"web"}}}}};
  WatchRecorder rec;
  auto w = state().watch_kind(kKind, strand(), rec.callback(), opts);

  auto r = state().create(thing("a"));                     // no match: dropped
  auto in = editable(r);
  in.metadata.labels["app"] = "web";
  auto v2 = state().update(in);                            // enters: Created
  auto v3 = state().update(editable(v2));                  // stays: Updated with old
  auto out = editable(v3);
  out.metadata.labels["app"] = "db";
  auto v4 = state().update(out);                           // leaves: Destroyed with new
  state().update(editable(v4));                            // stays out: dropped
  state().destroy(ptr("a"));                               // not matching: dropped
  state().create(thing("b", {{"app", "web"}}));            // Created
  state().destroy(ptr("b"));                               // Destroyed
  ASSERT_TRUE(rec.wait_events(5));

  auto events = rec.events();
  EXPECT_THAT(describe(events), ::testing::ElementsAre("Ca", "Ua", "Da", "Cb", "Db"));
  EXPECT_EQ(*events[0].resource, *v2);
  EXPECT_EQ(events[0].old, nullptr);
  EXPECT_EQ(*events[1].resource, *v3);
  ASSERT_TRUE(events[1].old);
  EXPECT_EQ(*events[1].old, *v2);
  EXPECT_EQ(*events[2].resource, *v4);
  EXPECT_EQ(events[2].old, nullptr);
}

TEST_P(StateConformance, IdFilterSelectsEventsByUnanchoredRegex) {
  WatchKindOptions opts;
  opts.filter.id_query = IdQuery("node-[0-9]+$");
  opts.bootstrap_contents = true;
  state().create(thing("node-1"));
  state().create(thing("other"));
  WatchRecorder rec;
  auto w = state().watch_kind(kKind, strand(), rec.callback(), opts);
  state().create(thing("my-node-22"));
  state().create(thing("node-x"));
  state().destroy(ptr("node-1"));
  ASSERT_TRUE(rec.wait_events(4));
  EXPECT_THAT(describe(rec.events()),
              ::testing::ElementsAre("Cnode-1", "B", "Cmy-node-22", "Dnode-1"));
  EXPECT_EQ(error_of([] { IdQuery("(unclosed"); }), ErrorCode::kInvalidArgument);
}

// --- Slow watchers, cancellation, concurrency ----------------------------------------------

TEST_P(StateConformance, WatcherThatFallsOutOfTheHistoryIsResynced) {
  auto& s = state_with(HistoryLimits{4, 4, 1});
  s.create(thing("a"));
  s.create(thing("b"));
  auto executor = strand();
  WatchRecorder kind_rec;
  WatchRecorder single_rec;
  auto w1 = s.watch_kind(kKind, executor, kind_rec.callback(), bootstrapping());
  auto w2 = s.watch(ptr("a"), executor, single_rec.callback());
  ASSERT_TRUE(kind_rec.wait_batches(1));
  ASSERT_TRUE(single_rec.wait_batches(1));

  auto gate = block(executor);
  for (int i = 0; i < 10; ++i) s.update(editable(s.get(ptr(i % 2 ? "a" : "b"))));
  s.destroy(ptr("b"));
  s.create(thing("c"));
  gate->set_value();

  const View expected{{"a", 6}, {"c", 1}};
  ASSERT_TRUE(kind_rec.wait_view(expected));
  ASSERT_TRUE(single_rec.wait_view(View{{"a", 6}}));
  if (!GetParam().delivers_resync_batches) return;
  auto batches = kind_rec.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_TRUE(batches[1].resync);
  EXPECT_THAT(describe(batches[1].events), ::testing::ElementsAre("Ca", "Cc", "B"));
  EXPECT_FALSE(batches[1].events.back().bookmark.empty());

  EXPECT_TRUE(single_rec.batches().back().resync);

  // It carries on normally from the fresh snapshot.
  s.update(editable(s.get(ptr("c"))));
  ASSERT_TRUE(kind_rec.wait_view(View{{"a", 6}, {"c", 2}}));
  EXPECT_FALSE(kind_rec.batches().back().resync);
  EXPECT_THAT(describe(kind_rec.batches().back().events), ::testing::ElementsAre("Uc"));
}

TEST_P(StateConformance, NoCallbackAfterTheWatchIsDestroyedOnItsExecutor) {
  auto executor = strand();
  WatchRecorder rec;
  auto w = state().watch_kind(kKind, executor, rec.callback(), bootstrapping());
  ASSERT_TRUE(rec.wait_batches(1));

  WatchRecorder sentinel;
  auto ws = state().watch_kind(kKind, strand(), sentinel.callback());
  auto done = std::make_shared<std::promise<void>>();
  boost::asio::post(executor, [&, done] {
    state().create(thing("a"));  // its delivery to `w` is queued behind this handler
    w.reset();
    done->set_value();
  });
  done->get_future().wait();
  ASSERT_TRUE(sentinel.wait_events(1));
  flush(executor);
  EXPECT_EQ(rec.batches().size(), 1u);
}

TEST_P(StateConformance, ManyWritersAndWatchersConvergeToTheStoredVersions) {
  constexpr int kWriters = 4;
  constexpr int kUpdatesPerWriter = 2000;
  constexpr int kIds = 8;
  constexpr int kWatchers = 20;
  for (int i = 0; i < kIds; ++i) state().create(thing("r" + std::to_string(i)));

  std::vector<WatchRecorder> recorders(kWatchers);
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < kWatchers; ++i) {
    if (i % 4 == 3) {
      watches.push_back(state().watch(ptr("r" + std::to_string(i % kIds)), strand(),
                                      recorders[i].callback()));
    } else {
      watches.push_back(state().watch_kind(kKind, strand(), recorders[i].callback(),
                                           bootstrapping()));
    }
  }

  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kUpdatesPerWriter; ++i) {
        const auto id = ptr("r" + std::to_string((w + i) % kIds));
        while (true) {
          try {
            state().update(editable(state().get(id)));
            break;
          } catch (const Error& e) {
            if (e.code() != ErrorCode::kVersionConflict) throw;
          }
        }
      }
    });
  }
  for (auto& t : writers) t.join();

  View stored;
  resource::Version total = 0;
  for (const auto& r : state().list(kKind)) {
    stored[r->metadata.id] = r->metadata.version;
    total += r->metadata.version - 1;
  }
  EXPECT_EQ(total, static_cast<resource::Version>(kWriters * kUpdatesPerWriter));
  for (int i = 0; i < kWatchers; ++i) {
    View expected = stored;
    if (i % 4 == 3) {
      const std::string id = "r" + std::to_string(i % kIds);
      expected = View{{id, stored[id]}};
    }
    EXPECT_TRUE(recorders[i].wait_view(expected)) << "watcher " << i;
  }
}

}  // namespace runtime::state::conformance
