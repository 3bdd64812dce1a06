// discovery-service replicas sharing one etcd (--etcd-endpoints), as real processes on 127.0.0.1:
// nodes on different replicas converge, a replica killed under load loses nothing and comes back
// with the same state, concurrent creations in one cluster, etcd losing a member or its quorum,
// and TTL expiry, deletes and slow watchers across replicas. Skipped where /usr/bin/etcd (or
// $TDS_ETCD_BIN) is missing.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "discovery/server.grpc.pb.h"
#include "tests/integration/cluster_harness.h"
#include "tests/support/etcd_server.h"
#include "tests/support/stop_and_join.h"
#include "tests/support/tcp_balancer.h"

namespace {

using namespace tds::test::cluster;
using namespace std::chrono_literals;
using tds::test::EtcdCluster;
using tds::test::TcpBalancer;
using SystemClock = std::chrono::system_clock;

constexpr int kServing = 1;
constexpr int kNotServing = 2;

// The sum of every sample of a labelled counter on a replica's /metrics (e.g. name{op="x"} 3).
double metric_sum(const DiscoveryService& replica, const std::string& name) {
  const std::string text = http_get(replica.metrics_port(), "/metrics");
  const std::regex sample("\n" + name + "(\\{[^}]*\\})? ([0-9.e+]+)");
  double sum = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), sample), end; it != end; ++it) {
    sum += std::stod((*it)[2]);
  }
  return sum;
}

// Printable: IDs and endpoints as they are, data as its size and first bytes (nodes' data is
// encrypted, so non-printing bytes show as '.').
std::string printable(const std::string& bytes, std::size_t max = 40) {
  std::string out = bytes.substr(0, max);
  for (auto& c : out) c = (c >= 0x20 && c < 0x7f) ? c : '.';
  return out;
}

std::string describe(const std::optional<Affiliates>& affiliates) {
  if (!affiliates) return "(List failed)";
  std::string out;
  for (const auto& [id, value] : *affiliates) {
    out += "  " + printable(id, 100) + " data(" + std::to_string(value.data.size()) +
           ")=" + printable(value.data) + " endpoints=";
    std::set<std::string> endpoints;
    for (const auto& e : value.endpoints) endpoints.insert(printable(e));
    out += join(endpoints) + "\n";
  }
  return out.empty() ? "  (none)\n" : out;
}

grpc::Status put_affiliate(pb::Cluster::Stub& stub, const std::string& cluster,
                           const std::string& id, const std::string& data,
                           const std::vector<std::string>& endpoints = {},
                           std::chrono::seconds ttl = 10min) {
  grpc::ClientContext ctx;
  ctx.set_deadline(SystemClock::now() + 15s);
  pb::AffiliateUpdateRequest request;
  request.set_cluster_id(cluster);
  request.set_affiliate_id(id);
  request.set_affiliate_data(data);
  for (const auto& e : endpoints) request.add_affiliate_endpoints(e);
  request.mutable_ttl()->set_seconds(ttl.count());
  pb::AffiliateUpdateResponse response;
  return stub.AffiliateUpdate(&ctx, request, &response);
}

grpc::Status delete_affiliate(pb::Cluster::Stub& stub, const std::string& cluster,
                              const std::string& id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(SystemClock::now() + 15s);
  pb::AffiliateDeleteRequest request;
  request.set_cluster_id(cluster);
  request.set_affiliate_id(id);
  pb::AffiliateDeleteResponse response;
  return stub.AffiliateDelete(&ctx, request, &response);
}

std::string status_text(const grpc::Status& status) {
  return status.ok() ? "OK" : std::to_string(status.error_code()) + " " + status.error_message();
}

// The lines of etcd's log about leadership (elections, leader changes): why a write may have
// failed while a quorum was up.
std::string leader_lines(const EtcdCluster& etcd) {
  std::string out;
  std::istringstream in(etcd.output());
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("--- ") || line.find("leader") != std::string::npos) out += line + "\n";
  }
  return out;
}

// A Watch on one replica, on a connection of its own. Nothing reads it until start_reading() (or
// read_one()); from then on a thread applies each message to state(): the affiliates as this
// watcher knows them, and the IDs it was told were deleted. Cancelled and joined on destruction.
class WatchStream {
 public:
  WatchStream(const std::string& endpoint, const std::string& cluster) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // A fixed 64 KiB stream window: gRPC would otherwise grow it and buffer megabytes for a
    // watcher that does not read.
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    stub_ = pb::Cluster::NewStub(
        grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args));
    ctx_.set_deadline(SystemClock::now() + 5min);
    pb::WatchRequest request;
    request.set_cluster_id(cluster);
    reader_ = stub_->Watch(&ctx_, request);
  }

  ~WatchStream() {
    ctx_.TryCancel();
    if (thread_.joinable()) thread_.join();
    pb::WatchResponse message;
    while (reader_->Read(&message)) {
    }
    reader_->Finish();
  }

  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // Reads and applies one message on the calling thread (before start_reading()); false when the
  // stream ended.
  bool read_one() {
    pb::WatchResponse message;
    if (!reader_->Read(&message)) return false;
    apply(message);
    return true;
  }

  void start_reading() {
    thread_ = std::thread([this] {
      pb::WatchResponse message;
      while (reader_->Read(&message)) apply(message);
      std::lock_guard lock(mu_);
      ended_ = true;
    });
  }

  Affiliates state() const {
    std::lock_guard lock(mu_);
    return state_;
  }
  bool was_deleted(const std::string& id) const {
    std::lock_guard lock(mu_);
    return deleted_.contains(id);
  }
  std::size_t messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  bool ended() const {
    std::lock_guard lock(mu_);
    return ended_;
  }

 private:
  void apply(const pb::WatchResponse& message) {
    std::lock_guard lock(mu_);
    ++messages_;
    for (const auto& a : message.affiliates()) {
      if (message.deleted()) {
        state_.erase(a.id());
        deleted_.insert(a.id());
      } else {
        state_[a.id()] = {a.data(), {a.endpoints().begin(), a.endpoints().end()}};
      }
    }
  }

  std::unique_ptr<pb::Cluster::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<pb::WatchResponse>> reader_;
  std::thread thread_;
  mutable std::mutex mu_;  // guards what follows (written by thread_)
  Affiliates state_;
  std::set<std::string> deleted_;
  std::size_t messages_ = 0;
  bool ended_ = false;
};

// A cluster fixture whose discovery service is a set of replicas on one etcd; the nodes of the
// base fixture are pointed at a replica (or a balancer) by the test.
class Replicas : public Cluster {
 protected:
  void SetUp() override {
    if (::access(EtcdCluster::binary().c_str(), X_OK) != 0) {
      GTEST_SKIP() << EtcdCluster::binary() << " is not installed";
    }
  }

  void TearDown() override {
    Cluster::TearDown();  // the nodes first: they would only retry against stopped replicas
    // Every replica still running must stop cleanly.
    for (auto& r : replicas_) {
      if (r->process() != nullptr) {
        EXPECT_TRUE(r->stop()) << tail(r->output());
      }
    }
  }

  ::testing::AssertionResult start_etcd(std::size_t members) {
    etcd_ = std::make_unique<EtcdCluster>(members);
    etcd_endpoints_ = etcd_->endpoints();
    if (!etcd_->ok())
      return ::testing::AssertionFailure() << "etcd did not start:\n" << etcd_->output();
    return ::testing::AssertionSuccess();
  }

  // `count` replicas on the etcd cluster, each with `extra` flags on top of the usual ones.
  ::testing::AssertionResult start_replicas(std::size_t count,
                                            const std::vector<std::string>& extra = {}) {
    std::string endpoints;
    for (const auto& e : etcd_endpoints_) endpoints += (endpoints.empty() ? "" : ",") + e;
    std::vector<std::string> args = {"--etcd-endpoints", endpoints, "--gc-interval", "1s"};
    args.insert(args.end(), extra.begin(), extra.end());
    for (std::size_t i = 0; i < count; ++i) {
      replicas_.push_back(std::make_unique<DiscoveryService>(
          dir_.path() / ("replica-" + std::to_string(i)),
          DiscoveryService::Options{.rate_limit = false, .extra_args = args, .landing = true}));
      if (auto started = replicas_.back()->start(); !started) return started;
    }
    return ::testing::AssertionSuccess();
  }

  std::vector<DiscoveryService*> live_replicas() const {
    std::vector<DiscoveryService*> out;
    for (const auto& r : replicas_) {
      if (r->process() != nullptr) out.push_back(r.get());
    }
    return out;
  }

  // Waits until every one of `replicas` lists the same affiliates for `cluster` and `check`
  // accepts them; returns them (nullopt after the timeout, with a failure recorded).
  std::optional<Affiliates> agreed(const std::vector<DiscoveryService*>& replicas,
                                   const std::string& cluster,
                                   const std::function<bool(const Affiliates&)>& check,
                                   Clock::duration timeout = kTimeout) {
    std::vector<std::optional<Affiliates>> seen;
    const bool ok = eventually(
        [&] {
          seen.clear();
          for (const auto* r : replicas) seen.push_back(r->affiliates(cluster));
          for (const auto& s : seen) {
            if (!s || *s != *seen.front()) return false;
          }
          return check(*seen.front());
        },
        timeout);
    if (ok) return *seen.front();
    std::string why;
    for (std::size_t i = 0; i < seen.size(); ++i) {
      why += "replica at " + replicas[i]->endpoint() + " lists:\n" + describe(seen[i]);
    }
    ADD_FAILURE() << "the replicas never agreed on an accepted state of " << cluster << ":\n"
                  << why;
    return std::nullopt;
  }

  std::optional<Affiliates> agreed(const std::vector<DiscoveryService*>& replicas,
                                   const std::string& cluster, const Affiliates& expected) {
    return agreed(replicas, cluster, [&](const Affiliates& a) { return a == expected; });
  }

  std::unique_ptr<EtcdCluster> etcd_;
  std::vector<std::string> etcd_endpoints_;  // --etcd-endpoints of the replicas, in this order
  std::vector<std::unique_ptr<DiscoveryService>> replicas_;  // stopped before etcd_ goes
};

std::vector<std::string> members_addresses(const Node& node) {
  std::vector<std::string> out;
  for (const auto& m : node.get("members").value_or(std::vector<Json>{})) {
    out.push_back(m["spec"].value("hostname", "") + "=" + m["spec"]["addresses"].dump());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> expected_addresses(int count) {
  std::vector<std::string> out;
  for (int n = 1; n <= count; ++n) {
    out.push_back("node-" + std::to_string(n) + "=[\"127.0.0." + std::to_string(10 + n) + "\"]");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Nodes on different replicas.

TEST_F(Replicas, NodesOnDifferentReplicasConverge) {
  ASSERT_TRUE(start_etcd(3));
  ASSERT_TRUE(start_replicas(3));
  for (int n = 1; n <= 3; ++n) {
    Node& node = add_node(n, [&](NodeConfig& c) {
      c.endpoint = replicas_[static_cast<std::size_t>(n - 1)]->endpoint();
    });
    ASSERT_TRUE(node.start());
  }
  ASSERT_TRUE(all_see(nodes(), hostnames(3)));
  const auto ids = node_ids();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    EXPECT_EQ(members_addresses(*nodes_[i]), expected_addresses(3)) << nodes_[i]->name();
    EXPECT_EQ(nodes_[i]->raw_affiliate_ids(), service_prefixed(ids, i)) << nodes_[i]->name();
  }
  // Every replica holds every node, with the same data and endpoints.
  const auto held = agreed(live_replicas(), identity_.id, [&](const Affiliates& a) {
    std::set<std::string> listed;
    for (const auto& [id, value] : a) {
      if (value.data.empty()) return false;
      listed.insert(id);
    }
    return listed == std::set<std::string>(ids.begin(), ids.end());
  });
  EXPECT_TRUE(held);
}

// ---------------------------------------------------------------------------------------------
// A replica killed under load, behind a balancer.

TEST_F(Replicas, ReplicaKilledUnderLoadLosesNothingAndComesBackWithTheSameState) {
  ASSERT_TRUE(start_etcd(1));
  ASSERT_TRUE(start_replicas(3));
  std::vector<std::string> backends;
  for (const auto& r : replicas_) backends.push_back(r->endpoint());
  TcpBalancer balancer(backends);
  ASSERT_TRUE(balancer.ok());
  ASSERT_TRUE(start_cluster(3, [&](NodeConfig& c) { c.endpoint = balancer.endpoint(); }));

  // A writer through the balancer: affiliates load-<k> of cluster "load", data "<id>#<seq>" and
  // one fixed endpoint each, so a lost write, a lost endpoint and a stale value all show.
  constexpr int kAffiliates = 30;
  const std::string load = "load";
  auto endpoint_of = [](const std::string& id) { return "endpoint-of-" + id; };
  std::atomic<bool> stop = false;
  std::mutex mu;
  std::map<std::string, int> acked;      // guarded by mu: the highest seq acknowledged
  std::map<std::string, int> last_sent;  // guarded by mu
  std::size_t acks = 0, failures = 0;    // guarded by mu
  std::thread writer([&] {
    auto stub = pb::Cluster::NewStub(
        grpc::CreateChannel(balancer.endpoint(), grpc::InsecureChannelCredentials()));
    for (int seq = 1; !stop; ++seq) {
      for (int k = 0; k < kAffiliates && !stop; ++k) {
        const std::string id = "load-" + std::to_string(k);
        {
          std::lock_guard lock(mu);
          last_sent[id] = seq;
        }
        const auto status =
            put_affiliate(*stub, load, id, id + "#" + std::to_string(seq), {endpoint_of(id)});
        if (!status.ok()) {
          // No connection yet (the balancer's backend died): gRPC fails at once; retrying in a
          // tight loop would only take the CPU from the replicas.
          std::this_thread::sleep_for(20ms);
        }
        std::lock_guard lock(mu);
        if (status.ok()) {
          acked[id] = seq;
          ++acks;
        } else {
          ++failures;
        }
      }
    }
  });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, writer};
  auto acks_now = [&] {
    std::lock_guard lock(mu);
    return acks;
  };

  // What the nodes' cluster holds before the kill: nothing of it may be lost.
  const auto ids = node_ids();
  const auto before = agreed(live_replicas(), identity_.id,
                             [&](const Affiliates& a) { return a.size() == ids.size(); });
  ASSERT_TRUE(before);
  ASSERT_TRUE(eventually([&] { return acks_now() >= 2 * kAffiliates; }))
      << tail(replicas_[0]->output());

  // The victim: the replica with the most clients (nodes and the writer) on it right now.
  std::size_t victim = 0;
  for (std::size_t i = 1; i < replicas_.size(); ++i) {
    if (balancer.open(i) > balancer.open(victim)) victim = i;
  }
  ASSERT_GT(balancer.open(victim), 0u) << "no client is connected through the balancer";
  std::vector<std::size_t> opened_before;
  for (std::size_t i = 0; i < replicas_.size(); ++i) opened_before.push_back(balancer.opened(i));
  const std::size_t acks_at_kill = acks_now();
  replicas_[victim]->kill();
  std::cout << "[ replica  ] killed replica " << victim << " with " << balancer.opened(victim)
            << " connections forwarded to it, after " << acks_at_kill << " acknowledged updates"
            << std::endl;

  // Its clients come back through the balancer to the others; the writer keeps writing.
  ASSERT_TRUE(eventually([&] { return acks_now() >= acks_at_kill + 2 * kAffiliates; }))
      << "the writer did not get going again after the kill";
  std::size_t reconnected = 0;
  for (std::size_t i = 0; i < replicas_.size(); ++i) {
    if (i != victim) reconnected += balancer.opened(i) - opened_before[i];
  }
  EXPECT_GT(reconnected, 0u) << "no client reconnected to another replica";
  EXPECT_TRUE(eventually([&] { return balancer.open(victim) == 0; }))
      << balancer.open(victim) << " connections to the killed replica are still open";

  // A node started after the kill is seen by all: every node's watch works again.
  ASSERT_TRUE(add_node(4, [&](NodeConfig& c) { c.endpoint = balancer.endpoint(); }).start());
  ASSERT_TRUE(all_see(nodes(), hostnames(4)));
  stop = true;
  writer.join();

  std::map<std::string, int> acked_final, sent_final;
  {
    std::lock_guard lock(mu);
    acked_final = acked;
    sent_final = last_sent;
    std::cout << "[ replica  ] " << acks << " updates acknowledged, " << failures
              << " failed (during the kill)" << std::endl;
  }

  // Every acknowledged write is on every live replica: each affiliate at its last acknowledged
  // seq or a later one that was sent, with its endpoint.
  const auto live = live_replicas();
  const auto load_state = agreed(live, load, [&](const Affiliates& a) {
    if (a.size() != static_cast<std::size_t>(kAffiliates)) return false;
    for (const auto& [id, seq] : acked_final) {
      const auto it = a.find(id);
      if (it == a.end() || it->second.endpoints != std::set<std::string>{endpoint_of(id)}) {
        return false;
      }
      const auto hash = it->second.data.find('#');
      if (hash == std::string::npos || it->second.data.substr(0, hash) != id) return false;
      const int got = std::stoi(it->second.data.substr(hash + 1));
      if (got < seq || got > sent_final[id]) return false;
    }
    return true;
  });
  ASSERT_TRUE(load_state);

  // Nothing of the nodes' cluster was lost either: every node is still there with every
  // endpoint it had (later refreshes may add some).
  const auto ids4 = node_ids();
  const auto after = agreed(live, identity_.id, [&](const Affiliates& a) {
    if (a.size() != ids4.size()) return false;
    for (const auto& [id, value] : *before) {
      const auto it = a.find(id);
      if (it == a.end() || it->second.data.empty()) return false;
      if (!std::includes(it->second.endpoints.begin(), it->second.endpoints.end(),
                         value.endpoints.begin(), value.endpoints.end())) {
        return false;
      }
    }
    return true;
  });
  EXPECT_TRUE(after);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    EXPECT_EQ(members_addresses(*nodes_[i]), expected_addresses(4)) << nodes_[i]->name();
    EXPECT_EQ(nodes_[i]->raw_affiliate_ids(), service_prefixed(ids4, i)) << nodes_[i]->name();
  }

  // The killed replica starts again on its port and serves the same state as the others.
  ASSERT_TRUE(replicas_[victim]->start()) << tail(replicas_[victim]->output());
  const auto all = live_replicas();
  ASSERT_EQ(all.size(), replicas_.size());
  EXPECT_TRUE(agreed(all, load, *load_state));
  EXPECT_TRUE(
      agreed(all, identity_.id, [&](const Affiliates& a) { return a.size() == ids4.size(); }));
}

// Nodes of one cluster booting together: `joiners` affiliates created at the same moment, spread
// over three replicas. Every creation must succeed (the cluster is far below its affiliate limit).
void concurrent_joins(const std::vector<DiscoveryService*>& replicas, int joiners) {
  const std::string cluster = "joins";
  std::vector<std::unique_ptr<pb::Cluster::Stub>> stubs;
  for (int j = 0; j < joiners; ++j) {
    stubs.push_back(replicas[static_cast<std::size_t>(j) % replicas.size()]->stub());
  }
  std::latch ready(joiners);
  std::mutex mu;
  std::map<std::string, int> errors;  // guarded by mu: status text -> count
  std::vector<std::thread> threads;
  for (int j = 0; j < joiners; ++j) {
    threads.emplace_back([&, j] {
      const std::string id = "joiner-" + std::to_string(j);
      ready.arrive_and_wait();
      const auto status = put_affiliate(*stubs[static_cast<std::size_t>(j)], cluster, id, id);
      if (!status.ok()) {
        std::lock_guard lock(mu);
        ++errors[status_text(status)];
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string failed;
  for (const auto& [text, count] : errors) failed += std::to_string(count) + " x " + text + "\n";
  EXPECT_EQ(failed, "") << "of " << joiners << " concurrent creations";
  double conflicts = 0;
  std::size_t given_up = 0;
  for (const auto* r : replicas) {
    conflicts += metric_sum(*r, "discovery_etcd_cas_conflicts_total");
    const std::string out = r->output();
    for (auto at = out.find("event=etcd_write_contended"); at != std::string::npos;
         at = out.find("event=etcd_write_contended", at + 1)) {
      ++given_up;
    }
  }
  std::cout << "[ replica  ] " << joiners << " concurrent creations: " << conflicts
            << " compare-and-swap conflicts, " << given_up << " writes given up" << std::endl;
}

// A new affiliate's compare-and-swap requires that no key of its cluster was created since the
// read, so creations in one cluster take turns; a write keeps trying (failed rounds reread in the
// same transaction) until the request timeout, which is enough for a hundred at once.
TEST_F(Replicas, ManyConcurrentJoinsOfOneClusterAllSucceed) {
  ASSERT_TRUE(start_etcd(1));
  ASSERT_TRUE(start_replicas(3));
  concurrent_joins(live_replicas(), 99);
}

// ---------------------------------------------------------------------------------------------
// etcd losing a member, then its quorum.

// Two replicas on a three-member etcd with affiliates q-0..q-5 written at version 1. Version v
// of affiliate q-k: data "q-k#v" and, added to those of earlier versions, the endpoint "q-k@v".
class EtcdMemberLoss : public Replicas {
 protected:
  static constexpr int kAffiliates = 6;

  // `in_use_first`: the replicas' first etcd endpoint (the one they use) is a follower; otherwise
  // the leader, and the follower is one they have not connected to. Killing the leader is
  // avoided while a quorum should remain: writes would stall for an election, etcd's business.
  void start(bool in_use_first) {
    ASSERT_TRUE(start_etcd(3));
    std::optional<std::size_t> found;
    ASSERT_TRUE(eventually([&] { return (found = etcd_->leader()).has_value(); }))
        << etcd_->output();
    leader_ = *found;
    follower_ = (leader_ + 1) % 3;
    const std::size_t other = (leader_ + 2) % 3;
    etcd_endpoints_ = {etcd_->endpoint(leader_), etcd_->endpoint(follower_),
                       etcd_->endpoint(other)};
    if (in_use_first) std::swap(etcd_endpoints_[0], etcd_endpoints_[1]);
    // A dead endpoint costs a replica up to the dial timeout before it tries the next one, so the
    // dial timeout is well below the (short) request timeout.
    ASSERT_TRUE(
        start_replicas(2, {"--etcd-request-timeout", "1s", "--etcd-dial-timeout", "250ms"}));
    for (int k = 0; k < kAffiliates; ++k) {
      const auto status = write(k, 1);
      ASSERT_TRUE(status.ok()) << status_text(status);
    }
    ASSERT_TRUE(agreed(live_replicas(), kCluster, state_at(1)));
    for (auto* r : live_replicas()) {
      EXPECT_TRUE(eventually([&] { return grpc_health(r->endpoint()) == kServing; }))
          << tail(r->output());
      EXPECT_EQ(r->metric("discovery_etcd_up"), 1.0);
    }
  }

  // Version v of q-k, through replica k mod 2.
  grpc::Status write(int k, int v) {
    const std::string id = "q-" + std::to_string(k);
    return put_affiliate(*replicas_[static_cast<std::size_t>(k % 2)]->stub(), kCluster, id,
                         id + "#" + std::to_string(v), {id + "@" + std::to_string(v)});
  }

  static Affiliates state_at(int v) {
    Affiliates out;
    for (int k = 0; k < kAffiliates; ++k) {
      const std::string id = "q-" + std::to_string(k);
      auto& a = out[id];
      a.data = id + "#" + std::to_string(v);
      for (int i = 1; i <= v; ++i) a.endpoints.insert(id + "@" + std::to_string(i));
    }
    return out;
  }

  static inline const std::string kCluster = "quorum";
  std::size_t leader_ = 0;
  std::size_t follower_ = 0;
};

// The member the replicas are connected to dies while two writers (one per replica) keep
// writing. A write in flight at that moment may fail (its outcome is unknown to the replica); one
// sent after the member is gone must not: two members of three are a quorum.
TEST_F(EtcdMemberLoss, WritesSentAfterTheMemberInUseDiesSucceed) {
  start(/*in_use_first=*/true);
  if (HasFatalFailure()) return;
  struct Failure {
    int k;
    int v;
    Clock::time_point started, ended;
    std::string status;
  };
  std::mutex mu;
  std::vector<Failure> failures;  // guarded by mu
  std::map<int, int> acked;       // guarded by mu: q-k -> highest version acknowledged
  std::atomic<bool> stop = false;
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      auto stub = replicas_[static_cast<std::size_t>(w)]->stub();
      for (int v = 2; !stop; ++v) {
        for (int k = w; k < kAffiliates && !stop; k += 2) {
          const std::string id = "q-" + std::to_string(k);
          const auto started = Clock::now();
          const auto status = put_affiliate(*stub, kCluster, id, id + "#" + std::to_string(v),
                                            {id + "@" + std::to_string(v % 2)});
          std::lock_guard lock(mu);
          if (status.ok()) {
            acked[k] = v;
          } else {
            failures.push_back({k, v, started, Clock::now(), status_text(status)});
          }
        }
      }
    });
  }
  const tds::test::StopAndJoin joiner{stop, writers};
  auto acked_count = [&] {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& [k, v] : acked) n += v;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return acked_count() >= 4 * kAffiliates; }));
  etcd_->kill(follower_);
  const auto killed = Clock::now();  // the member is reaped: its connections are closed
  const int at_kill = acked_count();
  EXPECT_TRUE(eventually([&] { return acked_count() >= at_kill + 4 * kAffiliates; }))
      << "the writers did not go on after the kill";
  stop = true;
  for (auto& t : writers) t.join();
  writers.clear();

  std::string after_kill, in_flight;
  for (const auto& f : failures) {
    const auto ms = [&](Clock::time_point t) {
      return std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(t - killed).count());
    };
    const std::string line = "q-" + std::to_string(f.k) + "#" + std::to_string(f.v) + " sent at " +
                             ms(f.started) + " ms, failed at " + ms(f.ended) +
                             " ms (relative to the kill): " + f.status + "\n";
    (f.started >= killed ? after_kill : in_flight) += line;
  }
  std::cout << "[ replica  ] " << failures.size() << " writes failed around the kill of the etcd "
            << "member in use; in flight at the kill:\n"
            << in_flight << std::flush;
  EXPECT_EQ(after_kill, "") << "writes sent after an etcd member of three died failed; etcd:\n"
                            << leader_lines(*etcd_);
  std::map<int, int> acked_final;
  {
    std::lock_guard lock(mu);
    acked_final = acked;
  }
  EXPECT_TRUE(agreed(live_replicas(), kCluster, [&](const Affiliates& a) {
    for (const auto& [k, v] : acked_final) {
      const std::string id = "q-" + std::to_string(k);
      const auto it = a.find(id);
      if (it == a.end()) return false;
      const auto hash = it->second.data.find('#');
      if (hash == std::string::npos || std::stoi(it->second.data.substr(hash + 1)) < v) {
        return false;
      }
    }
    return true;
  }));
}

TEST_F(EtcdMemberLoss, QuorumLossRefusesWritesServesReadsAndRecovers) {
  start(/*in_use_first=*/false);
  if (HasFatalFailure()) return;
  const pid_t pid0 = replicas_[0]->process()->pid(), pid1 = replicas_[1]->process()->pid();

  // One member of three gone (one the replicas do not use): the other two are a quorum, every
  // write still succeeds.
  etcd_->kill(follower_);
  for (int k = 0; k < kAffiliates; ++k) {
    const auto status = write(k, 2);
    ASSERT_TRUE(status.ok()) << "with one etcd member of three killed: " << status_text(status)
                             << "\n"
                             << tail(replicas_[k % 2]->output()) << "\netcd:\n"
                             << leader_lines(*etcd_);
  }
  ASSERT_TRUE(agreed(live_replicas(), kCluster, state_at(2)));

  // Two gone: no quorum. Writes fail with UNAVAILABLE, within the request timeout (and
  // generous margins); reads answer from what each replica holds; health says NOT_SERVING.
  etcd_->kill(leader_);
  for (int k = 0; k < kAffiliates; ++k) {
    const auto started = Clock::now();
    const auto status = write(k, 3);
    const auto took = Clock::now() - started;
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << "q-" << k << " without an etcd quorum: " << status_text(status);
    EXPECT_LT(took, 10s) << "q-" << k << " took "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                         << " ms with --etcd-request-timeout 1s";
  }
  const auto deleted = delete_affiliate(*replicas_[0]->stub(), kCluster, "q-0");
  EXPECT_EQ(deleted.error_code(), grpc::StatusCode::UNAVAILABLE) << status_text(deleted);
  for (auto* r : live_replicas()) {
    EXPECT_EQ(r->affiliates(kCluster), state_at(2)) << "List without an etcd quorum";
    WatchStream watch(r->endpoint(), kCluster);
    EXPECT_TRUE(watch.read_one()) << "Watch without an etcd quorum";
    EXPECT_EQ(watch.state(), state_at(2)) << "the first Watch message without an etcd quorum";
    EXPECT_TRUE(eventually([&] { return grpc_health(r->endpoint()) == kNotServing; }))
        << grpc_health(r->endpoint()).value_or(-1);
    EXPECT_TRUE(eventually([&] { return http_status(r->landing_port(), "/healthz") == 503; }))
        << http_status(r->landing_port(), "/healthz");
    EXPECT_TRUE(eventually([&] { return r->metric("discovery_etcd_up") == 0.0; }))
        << http_get(r->metrics_port(), "/metrics");
    EXPECT_GT(metric_sum(*r, "discovery_etcd_errors_total"), 0)
        << http_get(r->metrics_port(), "/metrics");
  }

  // The members come back. Each affiliate is whole: at version 2 or at version 3 (a refused
  // write may still have been committed), never a mix; q-0 may also be gone.
  ASSERT_TRUE(etcd_->start({follower_, leader_})) << etcd_->output();
  const auto v2 = state_at(2), v3 = state_at(3);
  const auto recovered = agreed(live_replicas(), kCluster, [&](const Affiliates& a) {
    for (const auto& [id, value] : v2) {
      const auto it = a.find(id);
      if (it == a.end() && id == "q-0") continue;
      if (it == a.end() || (it->second != value && it->second != v3.at(id))) return false;
    }
    return a.size() <= v2.size();
  });
  EXPECT_TRUE(recovered);

  // The replicas recover by themselves: healthy again, and writes succeed.
  for (auto* r : live_replicas()) {
    EXPECT_TRUE(eventually([&] { return grpc_health(r->endpoint()) == kServing; }))
        << tail(r->output());
    EXPECT_TRUE(eventually([&] { return http_status(r->landing_port(), "/healthz") == 200; }));
    EXPECT_TRUE(eventually([&] { return r->metric("discovery_etcd_up") == 1.0; }));
  }
  for (int k = 0; k < kAffiliates; ++k) {
    grpc::Status status;
    EXPECT_TRUE(eventually([&] { return (status = write(k, 4)).ok(); }))
        << "q-" << k << " after the quorum returned: " << status_text(status);
  }
  EXPECT_TRUE(agreed(live_replicas(), kCluster, [&](const Affiliates& a) {
    if (a.size() != static_cast<std::size_t>(kAffiliates)) return false;
    for (const auto& [id, value] : a) {
      if (value.data != id + "#4" || !value.endpoints.contains(id + "@4")) return false;
    }
    return true;
  }));
  EXPECT_EQ(replicas_[0]->process()->pid(), pid0) << "replica 0 was restarted";
  EXPECT_EQ(replicas_[1]->process()->pid(), pid1) << "replica 1 was restarted";
  EXPECT_TRUE(replicas_[0]->process()->alive());
  EXPECT_TRUE(replicas_[1]->process()->alive());
}

// ---------------------------------------------------------------------------------------------
// Expiry, deletes and slow watchers across replicas (a gRPC client of their own).

// Writes an affiliate through `writer` and waits until `watch` has it: both ends work.
::testing::AssertionResult anchor(DiscoveryService& writer, const std::string& cluster,
                                  WatchStream& watch) {
  const auto status = put_affiliate(*writer.stub(), cluster, "anchor", "anchor-data");
  if (!status.ok()) return ::testing::AssertionFailure() << status_text(status);
  if (!eventually([&] { return watch.state().contains("anchor"); })) {
    return ::testing::AssertionFailure() << "the watch never saw the anchor";
  }
  return ::testing::AssertionSuccess();
}

TEST_F(Replicas, TtlExpiryThroughOneReplicaIsADeletionOnEveryReplica) {
  ASSERT_TRUE(start_etcd(1));
  ASSERT_TRUE(start_replicas(3));
  const std::string cluster = "ttl";
  WatchStream watch(replicas_[1]->endpoint(), cluster);
  watch.start_reading();
  ASSERT_TRUE(anchor(*replicas_[0], cluster, watch));

  const auto written =
      put_affiliate(*replicas_[0]->stub(), cluster, "short", "short-data", {"short-endpoint"}, 2s);
  ASSERT_TRUE(written.ok()) << status_text(written);
  EXPECT_TRUE(eventually([&] { return watch.state().contains("short"); }))
      << "the watch on another replica never saw the short-lived affiliate";
  EXPECT_TRUE(eventually([&] { return watch.was_deleted("short"); }))
      << "the watch on another replica never saw the expiry as a deletion";
  EXPECT_EQ(watch.state(), (Affiliates{{"anchor", {"anchor-data", {}}}}));
  EXPECT_TRUE(agreed(live_replicas(), cluster, Affiliates{{"anchor", {"anchor-data", {}}}}));
  EXPECT_FALSE(watch.ended());
}

TEST_F(Replicas, DeleteThroughOneReplicaIsSeenByAWatchOnAnother) {
  ASSERT_TRUE(start_etcd(1));
  ASSERT_TRUE(start_replicas(2));
  const std::string cluster = "delete";
  WatchStream watch(replicas_[1]->endpoint(), cluster);
  watch.start_reading();
  ASSERT_TRUE(anchor(*replicas_[0], cluster, watch));

  auto stub = replicas_[0]->stub();
  ASSERT_TRUE(put_affiliate(*stub, cluster, "doomed", "doomed-data", {"doomed-endpoint"}).ok());
  EXPECT_TRUE(eventually([&] {
    return watch.state() == Affiliates{{"anchor", {"anchor-data", {}}},
                                       {"doomed", {"doomed-data", {"doomed-endpoint"}}}};
  }));
  const auto status = delete_affiliate(*stub, cluster, "doomed");
  ASSERT_TRUE(status.ok()) << status_text(status);
  EXPECT_TRUE(eventually([&] { return watch.was_deleted("doomed"); }))
      << "the watch on another replica never saw the delete";
  EXPECT_EQ(watch.state(), (Affiliates{{"anchor", {"anchor-data", {}}}}));
  EXPECT_TRUE(agreed(live_replicas(), cluster, Affiliates{{"anchor", {"anchor-data", {}}}}));
}

TEST_F(Replicas, SlowWatcherOnAnotherReplicaConvergesToTheLatestState) {
  ASSERT_TRUE(start_etcd(1));
  ASSERT_TRUE(start_replicas(2));
  const std::string cluster = "slow";
  ASSERT_TRUE(put_affiliate(*replicas_[0]->stub(), cluster, "anchor", "anchor-data").ok());
  ASSERT_TRUE(agreed(live_replicas(), cluster, Affiliates{{"anchor", {"anchor-data", {}}}}));
  WatchStream watch(replicas_[1]->endpoint(), cluster);
  ASSERT_TRUE(watch.read_one());  // the snapshot: the watch is registered; from now on unread
  ASSERT_TRUE(watch.state().contains("anchor"));

  // Far more than a stream window of changes through the other replica, from two writers; some
  // affiliates are deleted at the end.
  constexpr int kAffiliates = 20;
  constexpr int kVersions = 20;
  std::atomic<int> failed = 0;
  std::mutex mu;
  std::string first_error;  // guarded by mu
  auto failure = [&](const grpc::Status& status) {
    if (status.ok()) return;
    ++failed;
    std::lock_guard lock(mu);
    if (first_error.empty()) first_error = status_text(status);
  };
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      auto stub = replicas_[0]->stub();
      for (int v = 1; v <= kVersions; ++v) {
        for (int k = w; k < kAffiliates; k += 2) {
          const std::string id = "slow-" + std::to_string(k);
          std::string data = id + "#" + std::to_string(v) + ":";
          data.resize(2048, static_cast<char>('a' + v));  // the most data an affiliate may have
          failure(put_affiliate(*stub, cluster, id, data, {id + "@" + std::to_string(v % 3)}));
        }
      }
      for (int k = w; k < kAffiliates; k += 2) {
        if (k % 5 == 0) failure(delete_affiliate(*stub, cluster, "slow-" + std::to_string(k)));
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failed, 0) << "e.g. " << first_error;
  const auto final_state = agreed(live_replicas(), cluster, [&](const Affiliates& a) {
    if (a.size() != 1 + kAffiliates - kAffiliates / 5) return false;
    for (const auto& [id, value] : a) {
      if (id != "anchor" && !value.data.starts_with(id + "#" + std::to_string(kVersions) + ":")) {
        return false;
      }
    }
    return true;
  });
  ASSERT_TRUE(final_state);

  watch.start_reading();
  EXPECT_TRUE(eventually([&] { return watch.state() == *final_state; }))
      << "the slow watcher holds:\n"
      << describe(watch.state()) << "the replicas list:\n"
      << describe(final_state);
  for (int k = 0; k < kAffiliates; k += 5) {
    EXPECT_TRUE(watch.was_deleted("slow-" + std::to_string(k))) << k;
  }
  std::cout << "[ replica  ] the slow watcher caught up with "
            << kAffiliates * kVersions + kAffiliates / 5 << " changes in " << watch.messages()
            << " messages; coalesced changes on its replica: "
            << replicas_[1]->metric("discovery_state_watch_coalesced_changes_total").value_or(-1)
            << std::endl;
}

}  // namespace
