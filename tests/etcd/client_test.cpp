// The etcd client against a real etcd 3.4 on 127.0.0.1: KV, transactions, leases, watches,
// compaction and a server that dies and comes back.
#include "etcd/client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/etcd_environment.h"
#include "tests/support/etcd_server.h"
#include "tests/support/eventually.h"

namespace {

using namespace std::chrono_literals;
using tds::test::EtcdCluster;
using tds::test::EtcdEnvironment;
using tds::test::eventually;


std::unique_ptr<etcd::Client> client_for(const std::string& endpoint,
                                         std::chrono::milliseconds timeout = 2000ms) {
  etcd::Options options;
  options.endpoints = {endpoint};
  options.dial_timeout = timeout / 2;
  options.request_timeout = timeout;
  return etcd::make_client(std::move(options));
}

std::unique_ptr<etcd::Client> client() { return client_for(EtcdEnvironment::server().endpoint()); }

std::vector<std::string> keys(const etcd::RangeResult& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs) out.push_back(kv.key);
  return out;
}

// Collects what a watch delivers, for the test thread to wait on.
struct Collected {
  std::mutex mu;
  std::vector<etcd::WatchResponse> responses;

  etcd::WatchCallback callback() {
    return [this](const etcd::WatchResponse& r) {
      std::lock_guard lock(mu);
      responses.push_back(r);
    };
  }
  std::vector<etcd::Event> events() {
    std::lock_guard lock(mu);
    std::vector<etcd::Event> out;
    for (const auto& r : responses) out.insert(out.end(), r.events.begin(), r.events.end());
    return out;
  }
  std::vector<etcd::WatchResponse> all() {
    std::lock_guard lock(mu);
    return responses;
  }
};

TEST(EtcdHelpers, PrefixEndAndEndpoints) {
  EXPECT_EQ(etcd::prefix_end("a/"), "a0");
  EXPECT_EQ(etcd::prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(etcd::prefix_end(""), std::string(1, '\0'));
  EXPECT_EQ(etcd::parse_endpoints(" a:1, b:2 ,,c:3"),
            (std::vector<std::string>{"a:1", "b:2", "c:3"}));
}

TEST(EtcdKv, PutRangePrefixDelete) {
  auto c = client();
  const auto first = c->put({"kv/a", "1"});
  c->put({"kv/b", "2"});
  c->put({"kv/c/d", "3"});
  c->put({"kw/outside", "x"});

  const auto one = c->range({"kv/a"});
  ASSERT_EQ(one.kvs.size(), 1u);
  EXPECT_EQ(one.kvs[0].value, "1");
  EXPECT_EQ(one.kvs[0].mod_revision, first.revision);
  EXPECT_EQ(one.kvs[0].version, 1);

  const auto all = c->range(etcd::RangeRequest::prefix("kv/"));
  EXPECT_EQ(keys(all), (std::vector<std::string>{"kv/a", "kv/b", "kv/c/d"}));
  EXPECT_EQ(all.count, 3);

  auto limited = etcd::RangeRequest::prefix("kv/");
  limited.limit = 2;
  const auto two = c->range(limited);
  EXPECT_EQ(two.kvs.size(), 2u);
  EXPECT_TRUE(two.more);

  // The store as it was at the first put.
  auto old = etcd::RangeRequest::prefix("kv/");
  old.revision = first.revision;
  EXPECT_EQ(keys(c->range(old)), (std::vector<std::string>{"kv/a"}));

  const auto overwritten = c->put({"kv/a", "1b", 0, true});
  ASSERT_TRUE(overwritten.prev_kv.has_value());
  EXPECT_EQ(overwritten.prev_kv->value, "1");

  auto del = etcd::DeleteRequest::prefix("kv/");
  del.prev_kv = true;
  const auto deleted = c->delete_range(del);
  EXPECT_EQ(deleted.deleted, 3);
  EXPECT_EQ(deleted.prev_kvs.size(), 3u);
  EXPECT_TRUE(c->range(etcd::RangeRequest::prefix("kv/")).kvs.empty());
  EXPECT_EQ(c->range({"kw/outside"}).kvs.size(), 1u);
  EXPECT_TRUE(c->range({"kv/missing"}).kvs.empty());
}

// Compare-and-swap on mod_revision: of two writers that read the same revision, one wins.
TEST(EtcdTxn, CompareAndSwapOneWriterLoses) {
  auto c = client();
  const auto created = c->put({"txn/counter", "0"});

  const auto cas = [&](const std::string& value, std::int64_t seen) {
    etcd::TxnRequest t;
    t.compare.push_back(
        etcd::Compare::mod_revision("txn/counter", etcd::Compare::Result::kEqual, seen));
    t.success.push_back(etcd::PutRequest{"txn/counter", value});
    t.failure.push_back(etcd::RangeRequest{"txn/counter"});
    return c->txn(t);
  };
  const auto winner = cas("writer-1", created.revision);
  const auto loser = cas("writer-2", created.revision);
  EXPECT_TRUE(winner.succeeded);
  ASSERT_EQ(winner.responses.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<etcd::PutResult>(winner.responses[0]));
  EXPECT_FALSE(loser.succeeded);
  ASSERT_EQ(loser.responses.size(), 1u);
  const auto& current = std::get<etcd::RangeResult>(loser.responses[0]);
  ASSERT_EQ(current.kvs.size(), 1u);
  EXPECT_EQ(current.kvs[0].value, "writer-1");
  EXPECT_EQ(current.kvs[0].mod_revision, winner.revision);

  // Create-if-absent: version 0 means the key does not exist.
  etcd::TxnRequest create;
  create.compare.push_back(etcd::Compare::version("txn/new", etcd::Compare::Result::kEqual, 0));
  create.success.push_back(etcd::PutRequest{"txn/new", "first"});
  EXPECT_TRUE(c->txn(create).succeeded);
  create.success = {etcd::PutRequest{"txn/new", "second"}};
  EXPECT_FALSE(c->txn(create).succeeded);
  EXPECT_EQ(c->range({"txn/new"}).kvs.at(0).value, "first");

  etcd::TxnRequest by_value;
  by_value.compare.push_back(
      etcd::Compare::value_is("txn/new", etcd::Compare::Result::kEqual, "first"));
  by_value.success.push_back(etcd::DeleteRequest{"txn/new"});
  const auto deleted = c->txn(by_value);
  EXPECT_TRUE(deleted.succeeded);
  EXPECT_EQ(std::get<etcd::DeleteResult>(deleted.responses.at(0)).deleted, 1);
}

// A compare with a range end holds only when every key in the range passes; an empty range passes
// as a missing key would. "No key created under the prefix since revision R" guards a count.
TEST(EtcdTxn, RangeCompareCoversEveryKeyInTheRange) {
  auto c = client();
  auto nothing_created_since = [&](std::int64_t revision) {
    etcd::TxnRequest t;
    t.compare.push_back(etcd::Compare::create_revisions_in(
        "range/", etcd::Compare::Result::kLess, revision + 1));
    return c->txn(t).succeeded;
  };
  EXPECT_TRUE(nothing_created_since(1)) << "an empty range";
  const auto first = c->put({"range/a", "1"});
  EXPECT_TRUE(nothing_created_since(first.revision));
  EXPECT_FALSE(nothing_created_since(first.revision - 1));
  const auto second = c->put({"range/b", "1"});
  EXPECT_FALSE(nothing_created_since(first.revision)) << "range/b was created after it";
  // Rewriting a key keeps its create_revision.
  c->put({"range/a", "2"});
  EXPECT_TRUE(nothing_created_since(second.revision));
  // Keys outside the range do not count.
  const auto outside = c->put({"ranges", "1"});
  EXPECT_GT(outside.revision, second.revision);
  EXPECT_TRUE(nothing_created_since(second.revision));
}

// Two threads increment one counter with CAS many times; no increment is lost.
TEST(EtcdTxn, ConcurrentCasLosesNoIncrement) {
  auto c = client();
  c->put({"txn/shared", "0"});
  constexpr int kPerWriter = 20;
  const auto writer = [&] {
    for (int done = 0; done < kPerWriter;) {
      const auto cur = c->range({"txn/shared"}).kvs.at(0);
      etcd::TxnRequest t;
      t.compare.push_back(etcd::Compare::mod_revision("txn/shared", etcd::Compare::Result::kEqual,
                                                      cur.mod_revision));
      t.success.push_back(etcd::PutRequest{"txn/shared", std::to_string(std::stoi(cur.value) + 1)});
      if (c->txn(t).succeeded) ++done;
    }
  };
  std::thread a(writer), b(writer);
  a.join();
  b.join();
  EXPECT_EQ(c->range({"txn/shared"}).kvs.at(0).value, std::to_string(2 * kPerWriter));
}

TEST(EtcdLease, KeepAliveKeepsKeyRevokeDeletesItAndUnrenewedExpires) {
  auto c = client();
  // etcd's smallest TTL with default timing is 2 s; a smaller request is raised to it.
  const auto kept = c->lease_grant(2);
  const auto unrenewed = c->lease_grant(2);
  ASSERT_NE(kept.id, 0);
  EXPECT_GE(kept.ttl, 2);
  c->put({"lease/kept", "v", kept.id});
  c->put({"lease/unrenewed", "v", unrenewed.id});
  EXPECT_EQ(c->range({"lease/kept"}).kvs.at(0).lease, kept.id);

  bool lost = false;
  std::mutex mu;
  auto keep = c->lease_keep_alive(kept.id, [&](std::int64_t) {
    std::lock_guard lock(mu);
    lost = true;
  });

  EXPECT_TRUE(eventually([&] { return c->range({"lease/unrenewed"}).kvs.empty(); }, 8s, 100ms))
      << "a key whose lease is not renewed must expire";
  // Past twice the TTL since the grant, and the kept key is still there.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(c->range({"lease/kept"}).kvs.size(), 1u);

  c->lease_revoke(kept.id);
  EXPECT_TRUE(c->range({"lease/kept"}).kvs.empty()) << "revoke deletes the attached keys";
  // The keep-alive learns the lease is gone at its next renewal (TTL/3 apart).
  EXPECT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mu);
        return lost;
      },
      3s, 20ms));
  keep->stop();

  try {
    c->lease_revoke(kept.id);
    ADD_FAILURE() << "revoking a revoked lease must fail";
  } catch (const etcd::Error& e) {
    EXPECT_EQ(e.kind(), etcd::Error::Kind::kRejected);
    EXPECT_FALSE(e.transient());
    EXPECT_EQ(e.rpc(), "Lease.LeaseRevoke");
    EXPECT_NE(std::string(e.what()).find(EtcdEnvironment::server().endpoint()), std::string::npos)
        << e.what();
  }
}

TEST(EtcdWatch, FromRevisionSeesPutsAndDeletesInOrder) {
  auto c = client();
  const auto start = c->put({"watch/a", "1"});
  c->put({"watch/b", "2"});
  c->put({"watch/a", "3"});
  c->delete_range({"watch/b"});
  c->put({"watchx", "outside the prefix"});

  Collected got;
  auto req = etcd::WatchRequest::prefix("watch/", start.revision);
  req.prev_kv = true;
  auto w = c->watch(req, got.callback());
  ASSERT_TRUE(eventually([&] { return got.events().size() >= 4; }, 5s, 10ms));
  c->put({"watch/c", "live"});
  ASSERT_TRUE(eventually([&] { return got.events().size() >= 5; }, 5s, 10ms));
  w->stop();

  const auto events = got.events();
  ASSERT_EQ(events.size(), 5u);
  using T = etcd::Event::Type;
  const std::vector<std::pair<T, std::string>> want = {{T::kPut, "watch/a"},
                                                       {T::kPut, "watch/b"},
                                                       {T::kPut, "watch/a"},
                                                       {T::kDelete, "watch/b"},
                                                       {T::kPut, "watch/c"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(events[i].type, want[i].first) << i;
    EXPECT_EQ(events[i].kv.key, want[i].second) << i;
    if (i > 0) {
      EXPECT_GT(events[i].kv.mod_revision, events[i - 1].kv.mod_revision) << i;
    }
  }
  EXPECT_EQ(events[0].kv.mod_revision, start.revision);
  EXPECT_EQ(events[2].kv.value, "3");
  ASSERT_TRUE(events[2].prev_kv.has_value());
  EXPECT_EQ(events[2].prev_kv->value, "1");
  ASSERT_TRUE(events[3].prev_kv.has_value());
  EXPECT_EQ(events[3].prev_kv->value, "2");
  for (const auto& r : got.all()) EXPECT_FALSE(r.canceled);
}

TEST(EtcdWatch, FromCompactedRevisionReportsCompaction) {
  auto c = client();
  const auto old = c->put({"compact/a", "1"});
  const auto newer = c->put({"compact/a", "2"});
  c->compact(newer.revision);

  try {
    auto r = etcd::RangeRequest{"compact/a"};
    r.revision = old.revision;
    c->range(r);
    ADD_FAILURE() << "a range at a compacted revision must fail";
  } catch (const etcd::Error& e) {
    EXPECT_EQ(e.kind(), etcd::Error::Kind::kRejected) << e.what();
  }

  Collected got;
  auto w = c->watch(etcd::WatchRequest::prefix("compact/", old.revision), got.callback());
  ASSERT_TRUE(eventually([&] { return !got.all().empty(); }, 5s, 10ms));
  const auto all = got.all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].compact_revision, newer.revision);
  EXPECT_TRUE(all[0].events.empty());
  // Nothing follows the end, even when the prefix changes.
  c->put({"compact/a", "3"});
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(got.all().size(), 1u);
}

// etcd refuses a watch whose range is empty (key after range_end): the watch ends with one
// canceled delivery that carries etcd's reason.
TEST(EtcdWatch, CanceledByEtcdReportsReason) {
  auto c = client();
  Collected got;
  etcd::WatchRequest req;
  req.key = "cancel/b";
  req.range_end = "cancel/a";
  auto w = c->watch(req, got.callback());
  ASSERT_TRUE(eventually([&] { return !got.all().empty(); }, 5s, 10ms));
  const auto all = got.all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].canceled);
  EXPECT_EQ(all[0].compact_revision, 0);
  EXPECT_FALSE(all[0].cancel_reason.empty());
}

// Runs last (its own etcd): a killed server makes calls fail as unavailable within the request
// timeout; when it is back the same client works again and a watch resumes without losing events.
TEST(EtcdRestart, UnavailableWithinTimeoutThenRecovers) {
  EtcdCluster server;
  ASSERT_TRUE(server.ok()) << server.output();
  auto c = client_for(server.endpoint(), 1000ms);
  c->put({"restart/before", "1"});

  Collected got;
  auto w = c->watch(etcd::WatchRequest::prefix("restart/", 1), got.callback());
  ASSERT_TRUE(eventually([&] { return got.events().size() == 1; }, 5s, 10ms));

  server.kill();
  const auto t0 = std::chrono::steady_clock::now();
  try {
    c->put({"restart/during", "x"});
    ADD_FAILURE() << "a put to a dead etcd must fail";
  } catch (const etcd::Error& e) {
    EXPECT_TRUE(e.transient()) << e.what();
    EXPECT_EQ(e.rpc(), "KV.Put");
    EXPECT_EQ(e.endpoint(), server.endpoint());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);

  ASSERT_TRUE(server.start()) << server.output();
  EXPECT_TRUE(eventually(
      [&] {
        try {
          c->put({"restart/after", "2"});
          return true;
        } catch (const etcd::Error&) {
          return false;
        }
      },
      10s, 100ms));
  ASSERT_TRUE(eventually([&] { return got.events().size() >= 2; }, 10s, 10ms));
  const auto events = got.events();
  EXPECT_EQ(events[0].kv.key, "restart/before");
  EXPECT_EQ(events[1].kv.key, "restart/after");
  EXPECT_EQ(c->range(etcd::RangeRequest::prefix("restart/")).count, 2);
}

// Two endpoints, the first dead: calls fail over to the live one.
TEST(EtcdFailover, DeadFirstEndpointIsSkipped) {
  etcd::Options options;
  options.endpoints = {"127.0.0.1:1", EtcdEnvironment::server().endpoint()};
  options.dial_timeout = 500ms;
  options.request_timeout = 2000ms;
  auto c = etcd::make_client(options);
  const auto put = c->put({"failover/k", "v"});
  EXPECT_EQ(c->range({"failover/k"}).kvs.at(0).value, "v");

  // A new client, so that the watch is the first to find the dead endpoint.
  auto fresh = etcd::make_client(options);
  Collected got;
  auto w = fresh->watch(etcd::WatchRequest::prefix("failover/", put.revision), got.callback());
  ASSERT_TRUE(eventually([&] { return got.events().size() == 1; }, 5s, 10ms));
  EXPECT_EQ(got.events()[0].kv.value, "v");
}

// TLS both ways: the server's certificate checked against our CA, ours required by etcd. The
// certificates come from the kube-apiserver tests' prepare.sh (a CA, a serving certificate for
// 127.0.0.1 and a client certificate).
TEST(EtcdTls, ClientCertificateOverTls) {
  char tmpl[] = "/tmp/tds-etcd-tls-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  const auto prepared = tds::test::run_to_exit(
      {"/bin/bash", std::string(TDS_KUBE_SCRIPTS_DIR) + "/prepare.sh", dir, "1"}, 30s);
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;

  EtcdCluster server(
      1, tds::test::EtcdServerTls{dir + "/ca.crt", dir + "/apiserver.crt", dir + "/apiserver.key"});
  ASSERT_TRUE(server.ok()) << server.output();

  etcd::Options options;
  options.endpoints = {server.endpoint()};
  options.dial_timeout = 1000ms;
  options.request_timeout = 2000ms;
  options.tls =
      etcd::TlsOptions{dir + "/ca.crt", dir + "/admin-client.crt", dir + "/admin-client.key"};
  auto c = etcd::make_client(options);
  c->put({"tls/k", "v"});
  EXPECT_EQ(c->range({"tls/k"}).kvs.at(0).value, "v");

  // Without a client certificate, and in plaintext, nothing gets through.
  options.tls->cert_file.clear();
  options.tls->key_file.clear();
  EXPECT_THROW(etcd::make_client(options)->range({"tls/k"}), etcd::Error);
  options.tls.reset();
  EXPECT_THROW(etcd::make_client(options)->range({"tls/k"}), etcd::Error);
}

// Three members; the one the client and its watch and keep-alive use is killed. Calls move to
// another member, the watch resumes there without losing or repeating an event, and the lease
// stays alive.
TEST(EtcdMembers, LossOfOneMovesCallsWatchAndKeepAlive) {
  EtcdCluster cluster(3);
  ASSERT_TRUE(cluster.ok()) << cluster.output();
  etcd::Options options;
  options.endpoints = cluster.endpoints();
  options.dial_timeout = 500ms;
  options.request_timeout = 2000ms;
  auto c = etcd::make_client(options);
  const auto first = c->put({"cluster/a", "1"});
  const auto lease = c->lease_grant(2);
  c->put({"cluster/leased", "v", lease.id});
  auto keep = c->lease_keep_alive(lease.id);

  Collected got;
  auto w = c->watch(etcd::WatchRequest::prefix("cluster/", first.revision), got.callback());
  ASSERT_TRUE(eventually([&] { return got.events().size() == 2; }, 5s, 10ms));

  cluster.kill(0);
  // The first call after the loss may fail (it was sent to the dead member); the next ones go to
  // a live member.
  EXPECT_TRUE(eventually(
      [&] {
        try {
          c->put({"cluster/b", "2"});
          return true;
        } catch (const etcd::Error& e) {
          EXPECT_TRUE(e.transient()) << e.what();
          return false;
        }
      },
      10s, 50ms));
  ASSERT_TRUE(eventually([&] { return got.events().size() >= 3; }, 10s, 10ms));
  const auto events = got.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kv.key, "cluster/a");
  EXPECT_EQ(events[1].kv.key, "cluster/leased");
  EXPECT_EQ(events[2].kv.key, "cluster/b");

  // Twice the TTL after the loss, the leased key is still there: the keep-alive moved too.
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(c->range({"cluster/leased"}).kvs.size(), 1u);
}

}  // namespace
