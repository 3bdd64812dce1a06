// Two EtcdRegistry replicas in one process, sharing a real etcd 3.4 on 127.0.0.1: what one writes
// the other lists and watches; concurrent writers lose nothing; limits and expiry hold across
// replicas; a replica with no etcd fails writes with kUnavailable.
#include "discovery/server/etcd_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "discovery/server/etcd_layout.h"
#include "discovery/server/limits.h"
#include "discovery/server/state.h"
#include "etcd/client.h"
#include "tests/support/etcd_environment.h"
#include "tests/support/etcd_server.h"
#include "tests/support/eventually.h"

namespace discovery::server {
namespace {

using namespace std::chrono_literals;
using tds::test::EtcdCluster;
using tds::test::EtcdEnvironment;
using tds::test::eventually;

std::unique_ptr<etcd::Client> client_for(std::vector<std::string> endpoints) {
  etcd::Options options;
  options.endpoints = std::move(endpoints);
  options.dial_timeout = 500ms;
  options.request_timeout = 2s;
  return etcd::make_client(std::move(options));
}

// Runs a registry write and waits for its result.
UpdateStatus wait_for(const std::function<void(Registry::Done)>& write) {
  std::promise<UpdateStatus> result;
  write([&result](UpdateStatus status) { result.set_value(status); });
  return result.get_future().get();
}

UpdateStatus update(Registry& registry, std::string_view cluster, std::string_view affiliate,
                    std::string_view data, std::vector<std::string_view> endpoints,
                    std::chrono::nanoseconds ttl = 30s) {
  return wait_for([&](Registry::Done done) {
    registry.update(AffiliateUpdate{cluster, affiliate, data, std::move(endpoints), ttl},
                    std::move(done));
  });
}

std::set<std::string> ids(const std::vector<AffiliatePtr>& affiliates) {
  std::set<std::string> out;
  for (const auto& a : affiliates) out.insert(a->id);
  return out;
}

AffiliatePtr find(const Registry& registry, std::string_view cluster, std::string_view id) {
  for (auto& a : registry.list(cluster)) {
    if (a->id == id) return a;
  }
  return nullptr;
}

// Collects the changes of one watch.
class Watcher {
 public:
  Watcher(Registry& registry, std::string_view cluster) {
    start_ = registry.watch(cluster, [this] { pending_++; });
  }

  const WatchSnapshot& snapshot() const { return *start_.snapshot; }

  // The changes delivered so far: "id=data" for upserts, "-id" for deletions.
  std::vector<std::string> drain() {
    Change change;
    while (start_.watch->next(change) == Watch::Poll::kChange) {
      seen_.push_back(change.affiliate ? std::string(change.id) + "=" + change.affiliate->data
                                       : "-" + std::string(change.id));
    }
    return seen_;
  }

 private:
  WatchStart start_;
  std::atomic<int> pending_{0};
  std::vector<std::string> seen_;
};

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

class EtcdRegistryTest : public ::testing::Test {
 protected:
  // A fresh prefix per test, so tests do not see each other's keys.
  std::string prefix() const {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string("/test/") + info->name() + "/";
  }

  std::unique_ptr<EtcdRegistry> replica(std::size_t max_clusters = 0,
                                        std::chrono::nanoseconds compaction_interval = 0s) {
    EtcdRegistryOptions options;
    options.prefix = prefix();
    options.expiry_interval = 1h;  // tests run expiry passes themselves
    options.max_clusters = max_clusters;
    options.compaction_interval = compaction_interval;
    auto registry = std::make_unique<EtcdRegistry>(
        client_for({EtcdEnvironment::server().endpoint()}), clock_, std::move(options));
    EXPECT_TRUE(registry->wait_loaded(10s));
    return registry;
  }

  // Every key under this test's prefix.
  std::vector<etcd::KeyValue> stored() {
    auto client = client_for({EtcdEnvironment::server().endpoint()});
    return client->range(etcd::RangeRequest::prefix(prefix())).kvs;
  }

  SteadyClock clock_;
};

TEST_F(EtcdRegistryTest, WhatOneReplicaWritesTheOtherListsAndWatches) {
  auto a = replica();
  auto b = replica();
  Watcher watcher(*b, "cluster");
  EXPECT_TRUE(watcher.snapshot().affiliates.empty());

  ASSERT_EQ(update(*a, "cluster", "node-1", "data-1", {"e1"}), UpdateStatus::kOk);
  // Read-your-writes on the replica written through: no waiting.
  ASSERT_NE(find(*a, "cluster", "node-1"), nullptr);
  ASSERT_TRUE(eventually([&] { return find(*b, "cluster", "node-1") != nullptr; }, 5s));
  const auto on_b = find(*b, "cluster", "node-1");
  EXPECT_EQ(on_b->data, "data-1");
  EXPECT_EQ(on_b->endpoints, std::vector<std::string>{"e1"});
  ASSERT_TRUE(eventually([&] { return contains(watcher.drain(), "node-1=data-1"); }, 5s));

  ASSERT_EQ(wait_for([&](Registry::Done done) { b->remove("cluster", "node-1", std::move(done)); }),
            UpdateStatus::kOk);
  EXPECT_TRUE(a->list("cluster").empty() || eventually([&] { return a->list("cluster").empty(); }));
  ASSERT_TRUE(eventually([&] { return contains(watcher.drain(), "-node-1"); }, 5s));
  // Nothing is left behind in etcd.
  EXPECT_TRUE(stored().empty());
}

TEST_F(EtcdRegistryTest, ConcurrentWritersThroughTwoReplicasLoseNoEndpoint) {
  auto a = replica();
  auto b = replica();
  constexpr int kPerWriter = 25;  // 50 in all, under the 64-endpoint limit
  auto writer = [&](Registry& registry, const std::string& tag) {
    for (int i = 0; i < kPerWriter; ++i) {
      const std::string endpoint = tag + std::to_string(i);
      EXPECT_EQ(update(registry, "cluster", "node", "", {endpoint}), UpdateStatus::kOk);
    }
  };
  std::thread ta(writer, std::ref(*a), "a");
  std::thread tb(writer, std::ref(*b), "b");
  ta.join();
  tb.join();
  for (Registry* registry : {static_cast<Registry*>(a.get()), static_cast<Registry*>(b.get())}) {
    ASSERT_TRUE(eventually(
        [&] {
          auto node = find(*registry, "cluster", "node");
          return node != nullptr && node->endpoints.size() == 2 * kPerWriter;
        },
        5s));
  }
}

TEST_F(EtcdRegistryTest, TheAffiliateLimitHoldsAcrossReplicas) {
  // Up to two below the limit, written straight into etcd (in transactions of 100 puts).
  const EtcdKeys keys(prefix());
  const std::string tag = EtcdKeys::cluster_tag("cluster");
  auto client = client_for({EtcdEnvironment::server().endpoint()});
  etcd::TxnRequest batch;
  for (std::size_t i = 0; i < kClusterAffiliatesMax - 2; ++i) {
    StoredAffiliate value;
    value.record = {"n" + std::to_string(i), "d", {}};
    value.times.expiration = std::chrono::system_clock::now() + 1h;
    batch.success.push_back(
        etcd::PutRequest{keys.affiliate(tag, value.record.id), encode_stored(value)});
    if (batch.success.size() == 100 || i + 3 == kClusterAffiliatesMax) {
      ASSERT_TRUE(client->txn(batch).succeeded);
      batch.success.clear();
    }
  }
  auto a = replica();
  auto b = replica();
  ASSERT_EQ(a->list("cluster").size(), kClusterAffiliatesMax - 2);
  // Four new affiliates race for the last two places, two through each replica.
  std::vector<std::future<UpdateStatus>> racing;
  for (int i = 0; i < 4; ++i) {
    racing.push_back(std::async(std::launch::async, [&, i] {
      return update(i % 2 == 0 ? static_cast<Registry&>(*a) : *b, "cluster",
                    "late" + std::to_string(i), "d", {});
    }));
  }
  int ok = 0, refused = 0;
  for (auto& f : racing) {
    const UpdateStatus s = f.get();
    if (s == UpdateStatus::kOk) ok++;
    if (s == UpdateStatus::kTooManyAffiliates) refused++;
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(refused, 2);
  ASSERT_TRUE(eventually([&] { return b->list("cluster").size() == kClusterAffiliatesMax; }, 10s));
  EXPECT_EQ(a->list("cluster").size(), kClusterAffiliatesMax);
  // A refresh of an existing affiliate is still accepted at the limit.
  EXPECT_EQ(update(*b, "cluster", "n0", "d2", {}), UpdateStatus::kOk);
}

TEST_F(EtcdRegistryTest, TheClusterCapCountsTheClustersOfEveryReplica) {
  auto a = replica(2);
  auto b = replica(2);
  ASSERT_EQ(update(*a, "c1", "node", "d", {}), UpdateStatus::kOk);
  ASSERT_EQ(update(*a, "c2", "node", "d", {}), UpdateStatus::kOk);
  ASSERT_TRUE(eventually([&] { return b->stats().clusters == 2; }, 5s));
  EXPECT_EQ(update(*b, "c3", "node", "d", {}), UpdateStatus::kTooManyClusters);
  EXPECT_EQ(b->watch("c3", [] {}).watch, nullptr);
  EXPECT_EQ(update(*b, "c1", "other", "d", {}), UpdateStatus::kOk) << "existing clusters grow";
  EXPECT_NE(b->watch("c2", [] {}).watch, nullptr);
}

TEST_F(EtcdRegistryTest, CompactsEtcdsHistoryWhileWatchesGoOn) {
  auto a = replica(0, 100ms);
  auto b = replica();
  ASSERT_EQ(update(*a, "cluster", "node", "v1", {}), UpdateStatus::kOk);
  auto client = client_for({EtcdEnvironment::server().endpoint()});
  const std::int64_t old = client->range(etcd::RangeRequest{prefix()}).revision;
  ASSERT_EQ(update(*a, "cluster", "node", "v2", {}), UpdateStatus::kOk);
  // Once a pass has compacted past `old`, reading at it is refused.
  ASSERT_TRUE(eventually(
      [&] {
        try {
          etcd::RangeRequest at_old{prefix()};
          at_old.revision = old;
          client->range(at_old);
          return false;
        } catch (const etcd::Error& e) {
          return e.kind() == etcd::Error::Kind::kRejected;
        }
      },
      10s));
  ASSERT_EQ(update(*a, "cluster", "node", "v3", {}), UpdateStatus::kOk);
  ASSERT_TRUE(eventually([&] { return find(*b, "cluster", "node")->data == "v3"; }, 5s));
  EXPECT_NE(a->render_metrics().find("operation=\"compact\""), std::string::npos);
}

TEST_F(EtcdRegistryTest, ExpiryByOneReplicaReachesTheOthersWatchers) {
  auto a = replica();
  auto b = replica();
  ASSERT_EQ(update(*a, "cluster", "short", "s", {}, 1s), UpdateStatus::kOk);
  ASSERT_EQ(update(*a, "cluster", "long", "l", {"keep"}, 60s), UpdateStatus::kOk);
  ASSERT_EQ(update(*a, "cluster", "long", "", {"drop"}, 1s), UpdateStatus::kOk);
  ASSERT_TRUE(eventually([&] { return b->list("cluster").size() == 2; }, 5s));
  Watcher watcher(*b, "cluster");
  std::this_thread::sleep_for(1100ms);  // real time: the values carry wall-clock expiries

  const GcResult result = a->expire();
  EXPECT_EQ(result.affiliates_removed, 1u);
  EXPECT_EQ(result.endpoints_removed, 1u);
  ASSERT_TRUE(eventually(
      [&] {
        auto seen = watcher.drain();
        return contains(seen, "-short") && contains(seen, "long=l");
      },
      5s));
  EXPECT_EQ(ids(b->list("cluster")), std::set<std::string>{"long"});
  EXPECT_EQ(find(*b, "cluster", "long")->endpoints, std::vector<std::string>{"keep"});
  // A second pass, by either replica, finds nothing more to do.
  const GcResult again = b->expire();
  EXPECT_EQ(again.affiliates_removed + again.endpoints_removed, 0u);
}

TEST_F(EtcdRegistryTest, TheStoreHoldsNoClusterIdAndAReplicaStartingLaterListsEverything) {
  auto a = replica();
  ASSERT_EQ(update(*a, "secret-cluster-id", "node", "data", {"e"}), UpdateStatus::kOk);
  for (const auto& kv : stored()) {
    EXPECT_EQ(kv.key.find("secret-cluster-id"), std::string::npos) << kv.key;
    EXPECT_EQ(kv.value.find("secret-cluster-id"), std::string::npos);
  }
  auto late = replica();
  auto node = find(*late, "secret-cluster-id", "node");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->data, "data");
  EXPECT_EQ(node->endpoints, std::vector<std::string>{"e"});
}

TEST_F(EtcdRegistryTest, AValueItCouldNotHaveWrittenIsIgnoredAndThenReplaced) {
  auto a = replica();
  const std::string tag = EtcdKeys::cluster_tag("cluster");
  auto client = client_for({EtcdEnvironment::server().endpoint()});
  client->put({EtcdKeys(prefix()).affiliate(tag, "node"), "not a protobuf \xff\xff"});
  client->put({prefix() + "a/short-key", "x"});
  auto b = replica();
  EXPECT_TRUE(b->list("cluster").empty());
  EXPECT_NE(b->render_metrics().find("discovery_etcd_bad_values_total 2"), std::string::npos)
      << b->render_metrics();
  ASSERT_EQ(update(*a, "cluster", "node", "fresh", {}), UpdateStatus::kOk);
  ASSERT_TRUE(eventually([&] { return find(*b, "cluster", "node") != nullptr; }, 5s));
  EXPECT_EQ(find(*b, "cluster", "node")->data, "fresh");
}

TEST_F(EtcdRegistryTest, WithoutEtcdWritesAreUnavailableAndNothingIsHalfWritten) {
  auto a = replica();
  ASSERT_EQ(update(*a, "cluster", "node", "v1", {"e1"}), UpdateStatus::kOk);
  EXPECT_TRUE(eventually([&] { return a->healthy(); }, 5s));
  EtcdEnvironment::server().kill();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(update(*a, "cluster", "node", "v2", {"e2"}), UpdateStatus::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_TRUE(eventually([&] { return !a->healthy(); }, 10s));
  // Reads go on from what the replica holds.
  ASSERT_NE(find(*a, "cluster", "node"), nullptr);
  EXPECT_EQ(find(*a, "cluster", "node")->data, "v1");

  ASSERT_TRUE(EtcdEnvironment::server().start());
  EXPECT_TRUE(eventually([&] { return a->healthy(); }, 15s));
  ASSERT_EQ(update(*a, "cluster", "node", "v3", {"e3"}), UpdateStatus::kOk);
  const auto node = find(*a, "cluster", "node");
  EXPECT_EQ(node->data, "v3");
  // "v2" either never reached etcd or reached it whole: either way e2 comes with it.
  auto endpoints = std::set<std::string>(node->endpoints.begin(), node->endpoints.end());
  EXPECT_TRUE(endpoints.contains("e1"));
  EXPECT_TRUE(endpoints.contains("e3"));
}

}  // namespace
}  // namespace discovery::server
