// The mirror over a fake etcd client: the first listing, watch events, and the relist after a
// compacted or cancelled watch, which must hand watchers exactly the changes they missed.
#include "discovery/server/etcd_mirror.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "discovery/server/etcd_stats.h"
#include "discovery/server/state.h"
#include "tests/discovery/server/fake_etcd_client.h"
#include "tests/support/eventually.h"

namespace discovery::server {
namespace {

using namespace std::chrono_literals;
using tds::test::eventually;

const EtcdKeys kKeys("/p/");
const std::string kCluster = EtcdKeys::cluster_tag("cluster");

std::pair<std::string, std::string> stored(const std::string& id, const std::string& data,
                                           const std::string& cluster = kCluster) {
  StoredAffiliate value;
  value.record = {id, data, {"endpoint"}};
  value.times.expiration = std::chrono::system_clock::now() + 1h;
  value.times.endpoint_expiry = {value.times.expiration};
  return {kKeys.affiliate(cluster, id), encode_stored(value)};
}

etcd::Event put(const std::string& id, const std::string& data, std::int64_t revision) {
  auto [key, value] = stored(id, data);
  return {etcd::Event::Type::kPut, {key, value, revision, revision, 1, 0}, std::nullopt};
}

etcd::Event deletion(const std::string& id, std::int64_t revision) {
  return {etcd::Event::Type::kDelete,
          {kKeys.affiliate(kCluster, id), "", 0, revision, 0, 0},
          std::nullopt};
}

std::vector<std::string> drain(Watch& watch) {
  std::vector<std::string> out;
  Change change;
  while (watch.next(change) == Watch::Poll::kChange) {
    out.push_back(change.affiliate ? std::string(change.id) + "=" + change.affiliate->data
                                   : "-" + std::string(change.id));
  }
  std::sort(out.begin(), out.end());
  return out;
}

class EtcdMirrorTest : public ::testing::Test {
 protected:
  SteadyClock clock_;
  State state_{clock_};
  EtcdStats stats_;
  test::FakeEtcdClient client_;
};

TEST_F(EtcdMirrorTest, ListsThenFollowsTheWatchFromTheNextRevision) {
  client_.set_store({stored("a", "1"), stored("b", "1")}, 10);
  EtcdMirror mirror(client_, kKeys, state_, stats_);
  ASSERT_TRUE(mirror.wait_applied(10, 5s));
  ASSERT_TRUE(eventually([&] { return client_.watches() == 1; }, 5s));
  EXPECT_EQ(client_.watch_start(), 11);
  EXPECT_EQ(state_.list(kCluster).size(), 2u);

  auto watch = state_.watch(kCluster, [] {});
  ASSERT_TRUE(client_.deliver({11, {put("c", "1", 11), deletion("a", 11)}, 0, false, {}}));
  EXPECT_EQ(drain(*watch.watch), (std::vector<std::string>{"-a", "c=1"}));
  EXPECT_TRUE(mirror.wait_applied(11, 0s));
  // A progress notification moves the applied revision without changes.
  ASSERT_TRUE(client_.deliver({15, {}, 0, false, {}}));
  EXPECT_TRUE(mirror.wait_applied(15, 0s));
}

TEST_F(EtcdMirrorTest, ACompactedWatchIsFollowedByARelistThatDeliversOnlyWhatChanged) {
  client_.set_store({stored("a", "1"), stored("b", "1"), stored("c", "1")}, 10);
  EtcdMirror mirror(client_, kKeys, state_, stats_);
  ASSERT_TRUE(mirror.wait_applied(10, 5s));
  ASSERT_TRUE(eventually([&] { return client_.watches() == 1; }, 5s));
  auto watch = state_.watch(kCluster, [] {});
  EXPECT_EQ(watch.snapshot->affiliates.size(), 3u);

  // While the watch was away: a deleted, b changed, c untouched, d created; then etcd says the
  // revision the watch wanted is compacted.
  client_.set_store({stored("b", "2"), stored("c", "1"), stored("d", "1")}, 20);
  ASSERT_TRUE(client_.deliver({20, {}, 18, false, {}}));
  ASSERT_TRUE(mirror.wait_applied(20, 5s));
  EXPECT_EQ(drain(*watch.watch), (std::vector<std::string>{"-a", "b=2", "d=1"}));
  ASSERT_TRUE(eventually([&] { return client_.watches() == 2; }, 5s));
  EXPECT_EQ(client_.watch_start(), 21);
  EXPECT_NE(stats_.render().find("discovery_etcd_watch_restarts_total 1"), std::string::npos);
}

TEST_F(EtcdMirrorTest, ACancelledWatchIsListedAgainToo) {
  client_.set_store({stored("a", "1")}, 5);
  EtcdMirror mirror(client_, kKeys, state_, stats_);
  ASSERT_TRUE(eventually([&] { return client_.watches() == 1; }, 5s));
  client_.set_store({}, 9);
  ASSERT_TRUE(client_.deliver({9, {}, 0, true, "permission denied"}));
  ASSERT_TRUE(mirror.wait_applied(9, 5s));
  EXPECT_TRUE(state_.list(kCluster).empty());
  ASSERT_TRUE(eventually([&] { return client_.watches() == 2; }, 5s));
}

TEST_F(EtcdMirrorTest, AListingLongerThanOnePageIsReadWhole) {
  std::map<std::string, std::string> kvs;
  std::vector<std::string> clusters;
  for (const char* name : {"c1", "c2", "c3"}) clusters.push_back(EtcdKeys::cluster_tag(name));
  for (int i = 0; i < 2500; ++i) kvs.insert(stored("n" + std::to_string(i), "1", clusters[i % 3]));
  client_.set_store(kvs, 3);
  EtcdMirror mirror(client_, kKeys, state_, stats_);
  ASSERT_TRUE(mirror.wait_applied(3, 10s));
  EXPECT_EQ(state_.stats().affiliates, 2500u);
  EXPECT_GE(client_.ranges(), 3);
}

TEST_F(EtcdMirrorTest, KeysAndValuesItCouldNotHaveWrittenAreSkipped) {
  auto good = stored("a", "1");
  client_.set_store({good,
                     {kKeys.affiliates() + "zz/61", "x"},
                     {kKeys.affiliate(kCluster, "b"), "\xff\xff not protobuf"},
                     // a value whose ID is not the key's
                     {kKeys.affiliate(kCluster, "c"), good.second}},
                    4);
  EtcdMirror mirror(client_, kKeys, state_, stats_);
  ASSERT_TRUE(mirror.wait_applied(4, 5s));
  ASSERT_EQ(state_.list(kCluster).size(), 1u);
  EXPECT_EQ(state_.list(kCluster)[0]->id, "a");
  EXPECT_NE(stats_.render().find("discovery_etcd_bad_values_total 3"), std::string::npos);
}

TEST_F(EtcdMirrorTest, AnAffiliateOverwrittenWithABadValueIsGoneAsForAFreshListing) {
  client_.set_store({stored("a", "1")}, 5);
  EtcdMirror mirror(client_, kKeys, state_, stats_);
  ASSERT_TRUE(eventually([&] { return client_.watches() == 1; }, 5s));
  auto watch = state_.watch(kCluster, [] {});
  const std::string key = kKeys.affiliate(kCluster, "a");
  ASSERT_TRUE(client_.deliver(
      {6, {{etcd::Event::Type::kPut, {key, "junk", 1, 6, 2, 0}, {}}}, 0, false, {}}));
  EXPECT_TRUE(state_.list(kCluster).empty());
  EXPECT_EQ(drain(*watch.watch), std::vector<std::string>{"-a"});
}

}  // namespace
}  // namespace discovery::server
