// Multi-node clusters of real processes on 127.0.0.1: a discovery-service and several machined
// nodes, observed through `nodectl get -o json` and the service's own API. Covers convergence,
// restarts of a node and of the service, turning the service registry off, a wrong cluster
// secret, and a watcher that never reads.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "discovery/server.grpc.pb.h"
#include "tests/integration/cluster_harness.h"

namespace {

using namespace tds::test::cluster;
using namespace std::chrono_literals;


TEST_F(Cluster, ThreeNodesConverge) {
  ASSERT_TRUE(start_service());
  ASSERT_TRUE(start_cluster(3));
  const auto ids = node_ids();
  ASSERT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 3u) << "node IDs must differ";

  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& node = *nodes_[i];
    // Members carry what each peer announced.
    const auto members = node.get("members");
    ASSERT_TRUE(members);
    ASSERT_EQ(members->size(), 3u);
    for (const auto& m : *members) {
      const std::string id = m["metadata"]["id"];
      const int n = std::stoi(id.substr(id.find('-') + 1));
      EXPECT_EQ(m["metadata"]["namespace"], "cluster");
      EXPECT_EQ(m["spec"]["hostname"], id);
      EXPECT_EQ(m["spec"]["nodeId"], ids[static_cast<std::size_t>(n - 1)]);
      EXPECT_EQ(m["spec"]["machineType"], "worker");
      EXPECT_EQ(m["spec"]["addresses"], Json::array({"127.0.0." + std::to_string(10 + n)}));
    }
    // cluster-raw holds the other nodes as the service reported them; never the node itself.
    EXPECT_EQ(node.raw_affiliate_ids(), service_prefixed(ids, i)) << node.name();
    const auto raw = node.get("affiliates", "cluster-raw");
    ASSERT_TRUE(raw);
    for (const auto& a : *raw) {
      EXPECT_EQ(a["metadata"]["namespace"], "cluster-raw");
      EXPECT_EQ(a["metadata"]["owner"], "cluster.DiscoveryServiceController");
      EXPECT_EQ("service/" + a["spec"]["nodeId"].get<std::string>(), a["metadata"]["id"]);
      EXPECT_EQ(a["spec"]["nodename"], a["spec"]["hostname"]);
    }
  }
  EXPECT_TRUE(service_holds({ids.begin(), ids.end()}));
}

TEST_F(Cluster, IdentitySurvivesMachinedRestart) {
  ASSERT_TRUE(start_service());
  ASSERT_TRUE(start_cluster(3));
  const auto ids = node_ids();

  Node& restarted = *nodes_[1];
  ASSERT_TRUE(restarted.stop());
  ASSERT_TRUE(restarted.start());
  // The restarted process starts with an empty store, so seeing everyone again is its own work.
  ASSERT_TRUE(all_see(nodes(), hostnames(3)));
  EXPECT_EQ(restarted.node_id(), ids[1]);

  // No ghost: nobody knows an affiliate under a new ID, on the nodes or in the service.
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    EXPECT_TRUE(eventually([&] {
      return nodes_[i]->raw_affiliate_ids() == service_prefixed(ids, i);
    })) << nodes_[i]->name()
        << " sees " << join(nodes_[i]->raw_affiliate_ids());
  }
  EXPECT_TRUE(service_holds({ids.begin(), ids.end()}));
}

TEST_F(Cluster, ResetNodeLeavesAndReturnsAsANewNode) {
  ASSERT_TRUE(start_service());
  ASSERT_TRUE(start_cluster(3));
  const auto ids = node_ids();

  Node& reset = *nodes_[2];
  const auto result =
      tds::test::run_to_exit({NODECTL_BIN, "--socket", reset.socket(), "reset"}, kTimeout);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  ASSERT_TRUE(reset.exited());
  EXPECT_NE(reset.output().find("event=reset_state_wiped"), std::string::npos) << reset.output();
  // Gone from the service at once (not by TTL), so the others drop it.
  EXPECT_TRUE(service_holds({ids[0], ids[1]}));
  EXPECT_TRUE(all_see({nodes_[0].get(), nodes_[1].get()}, hostnames(2)));

  // Started again on the same state dir, it is a new node.
  ASSERT_TRUE(reset.start());
  ASSERT_TRUE(all_see(nodes(), hostnames(3)));
  const std::string new_id = reset.node_id();
  EXPECT_NE(new_id, ids[2]);
  EXPECT_FALSE(new_id.empty());
  EXPECT_TRUE(service_holds({ids[0], ids[1], new_id}));
}

// Restarts the service on its port and checks that the nodes register again and follow changes
// (a fourth node joining), which a node's stale cache alone could not show.
class ServiceRestart : public Cluster, public ::testing::WithParamInterface<bool> {};

TEST_P(ServiceRestart, NodesConvergeAgain) {
  const bool snapshots = GetParam();
  ASSERT_TRUE(start_service({.snapshots = snapshots}));
  ASSERT_TRUE(start_cluster(3));
  const auto ids = node_ids();
  ASSERT_TRUE(service_holds({ids.begin(), ids.end()}));

  ASSERT_TRUE(service_->restart({.snapshots = snapshots}));
  if (snapshots) {
    EXPECT_TRUE(std::regex_search(service_->last_output(),
                                  std::regex("event=state saved .* affiliates=3 ")))
        << service_->last_output();
    EXPECT_TRUE(
        std::regex_search(service_->output(), std::regex("event=state loaded .* affiliates=3 ")))
        << service_->output();
  } else {
    EXPECT_NE(service_->output().find(" snapshots=off "), std::string::npos) << service_->output();
    EXPECT_EQ(service_->output().find("event=state loaded"), std::string::npos)
        << service_->output();
  }
  // Without a snapshot the service starts empty: the nodes put themselves back.
  ASSERT_TRUE(service_holds({ids.begin(), ids.end()}));
  ASSERT_TRUE(all_see(nodes(), hostnames(3)));

  ASSERT_TRUE(add_node(4).start());
  EXPECT_TRUE(all_see(nodes(), hostnames(4)));
}

INSTANTIATE_TEST_SUITE_P(Snapshots, ServiceRestart, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Enabled" : "Disabled"; });

// Talos keeps a node's own affiliate while any registry is on (LocalAffiliateController), so with
// the Kubernetes registry still on (here with a kubeconfig that does not exist, so it never
// reaches an API server) the node is left with itself as its only Member, and with both
// registries off with none.
TEST_F(Cluster, DisablingServiceRegistryRemovesItsAffiliates) {
  ASSERT_TRUE(start_service());
  const auto kubeconfig = (dir_.path() / "absent.kubeconfig").string();
  ASSERT_TRUE(start_cluster(3, [&](NodeConfig& c) {
    c.legacy = true;
    c.kubeconfig = kubeconfig;
  }));
  const auto ids = node_ids();
  Node& node = *nodes_[0];
  ASSERT_EQ(node.raw_affiliate_ids(), service_prefixed(ids, 0));

  node.config().service_disabled = true;
  node.reload();
  std::optional<std::set<std::string>> raw;
  EXPECT_TRUE(eventually([&] {
    raw = node.raw_affiliate_ids();
    return raw && raw->empty();
  })) << "still in cluster-raw: "
      << join(raw) << "\n"
      << tail(node.output());
  EXPECT_TRUE(all_see({&node}, {"node-1"}));

  // The other two still see each other.
  for (std::size_t i : {1u, 2u}) {
    const std::string peer = "service/" + ids[3 - i];
    EXPECT_TRUE(eventually([&] {
      const auto raw = nodes_[i]->raw_affiliate_ids();
      return raw && raw->count(peer) == 1;
    })) << nodes_[i]->name()
        << " lost " << peer;
  }

  node.config().kubeconfig.clear();
  node.reload();
  EXPECT_TRUE(all_see({&node}, {}));
}

TEST_F(Cluster, WrongSecretSeesNobodyAndIsSeenByNobody) {
  ASSERT_TRUE(start_service());
  ASSERT_TRUE(start_cluster(3));
  const auto ids = node_ids();

  Node& stranger = add_node(4, [](NodeConfig& c) { c.identity.secret = random_base64(32); });
  ASSERT_TRUE(stranger.start());
  const std::string stranger_id = [&] {
    std::string id;
    eventually([&] { return !(id = stranger.node_id()).empty(); });
    return id;
  }();
  ASSERT_FALSE(stranger_id.empty());
  // It did register with the service, and everyone was told about everyone: the blobs under
  // the wrong key were refused, not missed.
  std::set<std::string> all(ids.begin(), ids.end());
  all.insert(stranger_id);
  ASSERT_TRUE(service_holds(all));
  ASSERT_TRUE(stranger.process()->wait_for_output(
      std::regex("discovery affiliate skipped affiliate=\\S+ reason=auth_failed"), kTimeout))
      << stranger.output();
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(nodes_[i]->process()->wait_for_output(
        std::regex("discovery affiliate skipped affiliate=" + stranger_id + " reason=auth_failed"),
        kTimeout))
        << nodes_[i]->output();
  }

  EXPECT_TRUE(all_see({&stranger}, {"node-4"}));
  EXPECT_EQ(stranger.raw_affiliate_ids(), std::set<std::string>{});
  EXPECT_TRUE(all_see({nodes_[0].get(), nodes_[1].get(), nodes_[2].get()}, hostnames(3)));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(nodes_[i]->raw_affiliate_ids(), service_prefixed(ids, i)) << nodes_[i]->name();
  }
  for (auto* node : nodes()) EXPECT_TRUE(node->process()->alive()) << node->name();
  EXPECT_TRUE(service_->process()->alive());
}

// A Watch on the service that nobody reads until read_until(); cancelled and finished on
// destruction, however the test ends.
class UnreadWatch {
 public:
  UnreadWatch(const std::string& endpoint, const std::string& cluster) {
    // Its own connection (no shared subchannel), so only this stream's flow control is stuck,
    // and a fixed 64 KiB stream window: gRPC would otherwise grow it and buffer megabytes.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    stub_ = pb::Cluster::NewStub(
        grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args));
    ctx_.set_deadline(std::chrono::system_clock::now() + 5min);
    pb::WatchRequest request;
    request.set_cluster_id(cluster);
    reader_ = stub_->Watch(&ctx_, request);
  }

  ~UnreadWatch() {
    ctx_.TryCancel();
    pb::WatchResponse message;
    while (reader_->Read(&message)) {
    }
    reader_->Finish();
  }

  UnreadWatch(const UnreadWatch&) = delete;
  UnreadWatch& operator=(const UnreadWatch&) = delete;

  // Reads until an affiliate named `id` arrives; false when the stream ends first or nothing
  // came within the timeout.
  bool read_until(const std::string& id) {
    std::atomic<bool> done = false;
    // Read blocks; cancelling the call is what ends it if `id` never comes.
    std::thread watchdog([&] {
      if (!eventually([&] { return done.load(); })) ctx_.TryCancel();
    });
    bool found = false;
    pb::WatchResponse message;
    while (!found && reader_->Read(&message)) {
      for (const auto& a : message.affiliates()) found = found || a.id() == id;
    }
    done = true;
    watchdog.join();
    return found;
  }

 private:
  std::unique_ptr<pb::Cluster::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<pb::WatchResponse>> reader_;
};

TEST_F(Cluster, UnreadWatchDoesNotStallOthers) {
  // Every client here, the filler included, comes from 127.0.0.1: one rate-limit bucket.
  ASSERT_TRUE(start_service({.rate_limit = false}));
  ASSERT_TRUE(start_cluster(3));
  UnreadWatch stalled(service_->endpoint(), identity_.id);

  // Far more change traffic than the stream window holds, so the unread stream falls behind.
  // The nodes cannot decrypt it and skip it.
  constexpr int kFiller = 128;
  constexpr int kRounds = 8;
  auto filler = service_->stub();
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kFiller; ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 10s);
      pb::AffiliateUpdateRequest update;
      update.set_cluster_id(identity_.id);
      update.set_affiliate_id("filler-" + std::to_string(i));
      update.set_affiliate_data(std::string(2048, static_cast<char>('a' + round)));
      update.mutable_ttl()->set_seconds(300);
      pb::AffiliateUpdateResponse response;
      const auto status = filler->AffiliateUpdate(&ctx, update, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
  }
  Node& late = add_node(4);
  ASSERT_TRUE(late.start());
  EXPECT_TRUE(all_see(nodes(), hostnames(4)));

  // Nothing was lost for the slow reader either: reading now delivers the late node.
  std::string late_id;
  ASSERT_TRUE(eventually([&] { return !(late_id = late.node_id()).empty(); }));
  EXPECT_TRUE(stalled.read_until(late_id)) << "the unread watch never delivered the late node";
  // And it really had fallen behind: it was spared filler changes superseded while it did not
  // read (the nodes keep up, so without the unread watch this stays 0).
  EXPECT_TRUE(eventually([&] {
    return service_->metric("discovery_state_watch_coalesced_changes_total").value_or(0) > 0;
  })) << http_get(service_->metrics_port(), "/metrics");
  EXPECT_TRUE(service_->process()->alive());
}

}  // namespace
