// Multi-node clusters of real processes on 127.0.0.1: a discovery-service and several machined
// nodes, observed through `nodectl get -o json` and the service's own API. Covers convergence,
// restarts of a node and of the service, turning the service registry off, a wrong cluster
// secret, and a watcher that never reads.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "discovery/server.grpc.pb.h"
#include "tests/machined/temp_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "values/base64.h"

namespace {

namespace pb = ::sidero::discovery::server;
using Json = nlohmann::json;
using tds::test::ChildProcess;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Generous: convergence takes about a second, but the machine may be busy.
constexpr auto kTimeout = 30s;

// Checks run nodectl or talk gRPC: every 100 ms, not the default's 1 ms.
template <class Check>
bool eventually(Check&& check, Clock::duration timeout = kTimeout) {
  return tds::test::eventually(std::forward<Check>(check), timeout, 100ms);
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return "{" + out + "}";
}

std::string join(const std::optional<std::set<std::string>>& items) {
  return items ? join(*items) : "(nodectl failed)";
}

// The end of a log, enough to see why something did not happen.
std::string tail(const std::string& log, std::size_t bytes = 3000) {
  return log.size() <= bytes ? log : "..." + log.substr(log.size() - bytes);
}

std::string random_base64(std::size_t bytes) {
  std::random_device rd;
  std::string raw(bytes, '\0');
  for (auto& c : raw) c = static_cast<char>(rd() & 0xff);
  return values::base64_encode(raw);
}

struct ClusterIdentity {
  std::string id;
  std::string secret;  // base64 of the 32-byte AES key

  static ClusterIdentity random() { return {random_base64(32), random_base64(32)}; }
};

// The body of GET http://127.0.0.1:port/path, or empty on any failure.
std::string http_get(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const timeval timeout{10, 0};  // a server that never answers fails the read, not the test run
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

// A discovery-service on 127.0.0.1; restart() keeps its port so the nodes find it again.
class DiscoveryService {
 public:
  struct Options {
    bool snapshots = false;
    bool rate_limit = true;  // off when the test itself floods the service from 127.0.0.1
  };

  DiscoveryService(std::filesystem::path dir, Options options)
      : dir_(std::move(dir)), options_(options) {
    std::filesystem::create_directories(dir_);
  }

  ::testing::AssertionResult start() {
    std::vector<std::string> args = {
        DISCOVERY_SERVICE_BIN,
        "--addr",
        "127.0.0.1:" + std::to_string(port_),
        "--landing-addr",
        "",
        "--metrics-addr",
        "127.0.0.1:0",
        "--snapshot-path",
        (dir_ / "discovery.binpb").string(),
        options_.snapshots ? "--snapshots-enabled" : "--snapshots-enabled=false"};
    if (!options_.rate_limit) {
      args.insert(args.end(), {"--rate-limit", "0"});
    }
    proc_ = std::make_unique<ChildProcess>(std::move(args));
    const std::regex listening("event=listening .*? port=([0-9]+) .*metrics_port=([0-9]+)");
    if (!proc_->wait_for_output(listening, kTimeout)) {
      return ::testing::AssertionFailure() << "no listening line:\n" << proc_->output();
    }
    const std::string out = proc_->output();
    std::smatch match;
    std::regex_search(out, match, listening);
    port_ = std::stoi(match[1]);
    metrics_port_ = std::stoi(match[2]);
    return ::testing::AssertionSuccess();
  }

  // SIGTERM, a clean exit; its output stays readable in last_output().
  ::testing::AssertionResult stop() {
    if (!proc_) return ::testing::AssertionFailure() << "discovery-service is not running";
    proc_->signal(SIGTERM);
    const auto status = proc_->wait_exit(kTimeout);
    last_output_ = proc_->output();
    proc_.reset();
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      return ::testing::AssertionFailure() << "discovery-service did not stop cleanly:\n"
                                           << last_output_;
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult restart(Options options) {
    if (auto stopped = stop(); !stopped) return stopped;
    options_ = options;
    return start();
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  int metrics_port() const { return metrics_port_; }
  ChildProcess* process() { return proc_.get(); }
  std::string output() const { return proc_ ? proc_->output() : last_output_; }
  const std::string& last_output() const { return last_output_; }

  std::unique_ptr<pb::Cluster::Stub> stub() const {
    return pb::Cluster::NewStub(
        grpc::CreateChannel(endpoint(), grpc::InsecureChannelCredentials()));
  }

  // The affiliate IDs the service holds for `cluster`, or nullopt when List fails.
  std::optional<std::set<std::string>> list(const std::string& cluster) const {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    pb::ListRequest request;
    request.set_cluster_id(cluster);
    pb::ListResponse response;
    if (!stub()->List(&ctx, request, &response).ok()) return std::nullopt;
    std::set<std::string> ids;
    for (const auto& affiliate : response.affiliates()) ids.insert(affiliate.id());
    return ids;
  }

  // A counter or gauge from /metrics, or nullopt when it is not there.
  std::optional<double> metric(const std::string& name) const {
    const std::string text = http_get(metrics_port_, "/metrics");
    std::smatch match;
    if (!std::regex_search(text, match, std::regex("\n" + name + " ([0-9.e+]+)\n"))) {
      return std::nullopt;
    }
    return std::stod(match[1]);
  }

 private:
  std::filesystem::path dir_;
  Options options_;
  int port_ = 0;  // 0 until the first start; then kept across restarts
  int metrics_port_ = 0;
  std::unique_ptr<ChildProcess> proc_;
  std::string last_output_;
};

struct NodeConfig {
  std::string name;  // hostname and nodename (the Member ID)
  std::string address;
  std::string endpoint;  // the discovery service, host:port
  ClusterIdentity identity;
  // The deprecated v1alpha1 form (.cluster.id/.secret and .cluster.discovery) instead of the
  // DiscoveryServiceConfig/DiscoveryIdentityConfig documents; needed to turn the service
  // registry off with `registries.service.disabled`.
  bool legacy = false;
  bool service_disabled = false;    // legacy form only
  bool kubernetes_registry = true;  // legacy form only; on, as `talosctl gen config` writes it
};

std::optional<std::set<std::string>> field_of_each(
    const std::optional<std::vector<Json>>& resources, const char* part, const char* field) {
  if (!resources) return std::nullopt;
  std::set<std::string> out;
  for (const auto& r : *resources) out.insert(r[part].value(field, ""));
  return out;
}

// One machined with its own state dir and config file under `dir`.
class Node {
 public:
  Node(std::filesystem::path dir, NodeConfig config)
      : dir_(std::move(dir)), config_(std::move(config)) {
    std::filesystem::create_directories(dir_);
  }

  NodeConfig& config() { return config_; }
  const std::string& name() const { return config_.name; }
  std::string socket() const { return (dir_ / "state" / "machined.sock").string(); }
  ChildProcess* process() { return proc_.get(); }
  std::string output() const { return proc_ ? proc_->output() : last_output_; }

  void write_config() const {
    const auto& c = config_;
    std::ostringstream yaml;
    yaml << "version: v1alpha1\n"
            "machine:\n"
            "  type: worker\n"
            "  network:\n"
            "    hostname: "
         << c.name << "\ncluster:\n  clusterName: it\n";
    if (c.legacy) {
      yaml << "  id: " << c.identity.id << "\n  secret: " << c.identity.secret
           << "\n  discovery:\n"
              "    enabled: true\n"
              "    registries:\n"
              "      kubernetes:\n"
              "        disabled: "
           << (c.kubernetes_registry ? "false" : "true")
           << "\n"
              "      service:\n"
              "        endpoint: http://"
           << c.endpoint << "\n        disabled: " << (c.service_disabled ? "true" : "false")
           << "\n";
    } else {
      yaml << "---\napiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: it\nendpoint: http://"
           << c.endpoint
           << "\n---\napiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterID: "
           << c.identity.id << "\nclusterSecret: " << c.identity.secret << "\n";
    }
    yaml << "---\napiVersion: v1alpha1\nkind: HostConfig\nnodename: " << c.name
         << "\naddresses:\n  - " << c.address << "\n";
    // Written whole and renamed, so a config watcher never reads half a file.
    const auto tmp = dir_ / "config.yaml.tmp";
    std::ofstream(tmp) << yaml.str();
    std::filesystem::rename(tmp, dir_ / "config.yaml");
  }

  ::testing::AssertionResult start() {
    write_config();
    proc_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{MACHINED_BIN, "--state-dir", (dir_ / "state").string(), "--config",
                                 (dir_ / "config.yaml").string(), "--api-addr", "127.0.0.1:0"});
    if (!proc_->wait_for_output(std::regex("event=started "), kTimeout)) {
      return ::testing::AssertionFailure() << name() << " did not start:\n" << proc_->output();
    }
    return ::testing::AssertionSuccess();
  }

  // SIGTERM and a clean exit.
  ::testing::AssertionResult stop() {
    if (!proc_) return ::testing::AssertionSuccess();
    proc_->signal(SIGTERM);
    return exited();
  }

  // A clean exit the process makes by itself (after a reset).
  ::testing::AssertionResult exited() {
    const auto status = proc_->wait_exit(kTimeout);
    last_output_ = proc_->output();
    proc_.reset();
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      return ::testing::AssertionFailure() << name() << " did not stop cleanly:\n" << last_output_;
    }
    return ::testing::AssertionSuccess();
  }

  // Rewrites the config file and asks machined to re-read it.
  void reload() {
    write_config();
    proc_->signal(SIGHUP);
  }

  // Every resource `nodectl get <type> -o json` prints, or nullopt when nodectl fails.
  std::optional<std::vector<Json>> get(const std::string& type, const std::string& ns = "") const {
    std::vector<std::string> args = {NODECTL_BIN, "--socket", socket(), "get", type, "-o", "json"};
    if (!ns.empty()) args.insert(args.end(), {"--namespace", ns});
    const auto result = tds::test::run_to_exit(std::move(args), kTimeout);
    if (result.exit_code != 0) return std::nullopt;
    // One JSON object per resource, one after the other (as talosctl prints them).
    std::vector<Json> resources;
    std::istringstream in(result.output);
    try {
      while ((in >> std::ws).peek() != std::char_traits<char>::eof()) {
        Json j;
        in >> j;
        resources.push_back(std::move(j));
      }
    } catch (const Json::exception&) {
      return std::nullopt;
    }
    return resources;
  }

  // Hostnames of the Members this node sees; nullopt when nodectl fails, so that an error never
  // passes for "no members".
  std::optional<std::set<std::string>> member_hostnames() const {
    return field_of_each(get("members"), "spec", "hostname");
  }

  // IDs of the affiliates in cluster-raw (e.g. service/<nodeId>); nullopt when nodectl fails.
  std::optional<std::set<std::string>> raw_affiliate_ids() const {
    return field_of_each(get("affiliates", "cluster-raw"), "metadata", "id");
  }

  // cluster/Identities/local nodeId, empty when there is none yet.
  std::string node_id() const {
    for (const auto& i : get("identities").value_or(std::vector<Json>{})) {
      if (i["metadata"].value("id", "") == "local") return i["spec"].value("nodeId", "");
    }
    return {};
  }

 private:
  std::filesystem::path dir_;
  NodeConfig config_;
  std::unique_ptr<ChildProcess> proc_;
  std::string last_output_;
};

class Cluster : public ::testing::Test {
 protected:
  void TearDown() override {
    // Every process still running must stop cleanly: a crash during the test shows up here.
    for (auto& node : nodes_) {
      if (node->process() != nullptr) node->process()->signal(SIGTERM);
    }
    for (auto& node : nodes_) EXPECT_TRUE(node->stop());
    if (service_ && service_->process() != nullptr) {
      EXPECT_TRUE(service_->stop());
    }
  }

  ::testing::AssertionResult start_service(DiscoveryService::Options options = {}) {
    service_ = std::make_unique<DiscoveryService>(dir_.path() / "discovery", options);
    return service_->start();
  }

  // A node of this cluster named node-<n>, announcing 127.0.0.<10+n>; not started.
  Node& add_node(int n, const std::function<void(NodeConfig&)>& tweak = {}) {
    NodeConfig config{"node-" + std::to_string(n), "127.0.0." + std::to_string(10 + n),
                      service_->endpoint(), identity_};
    if (tweak) tweak(config);
    nodes_.push_back(std::make_unique<Node>(dir_.path() / config.name, std::move(config)));
    return *nodes_.back();
  }

  // Starts `count` nodes (node-1..node-count) and waits until they all see each other.
  ::testing::AssertionResult start_cluster(int count,
                                           const std::function<void(NodeConfig&)>& tweak = {}) {
    for (int n = 1; n <= count; ++n) {
      if (auto started = add_node(n, tweak).start(); !started) return started;
    }
    return all_see(nodes(), hostnames(count));
  }

  std::vector<Node*> nodes() const {
    std::vector<Node*> out;
    for (const auto& n : nodes_) out.push_back(n.get());
    return out;
  }

  static std::set<std::string> hostnames(int count) {
    std::set<std::string> out;
    for (int n = 1; n <= count; ++n) out.insert("node-" + std::to_string(n));
    return out;
  }

  // Waits until each of `nodes` has exactly the Members named `expected`.
  static ::testing::AssertionResult all_see(const std::vector<Node*>& nodes,
                                            const std::set<std::string>& expected) {
    std::string seen;
    const bool ok = eventually([&] {
      seen.clear();
      bool all = true;
      for (const auto* node : nodes) {
        const auto members = node->member_hostnames();
        seen += node->name() + " sees " + join(members) + "\n";
        all = all && members == expected;
      }
      return all;
    });
    if (ok) return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure();
    failure << "members never became " << join(expected) << "; last seen:\n" << seen;
    for (const auto* node : nodes) {
      failure << "--- " << node->name() << ":\n" << tail(node->output());
    }
    return failure;
  }

  // Waits until the service holds exactly `expected` affiliate IDs for the cluster.
  ::testing::AssertionResult service_holds(const std::set<std::string>& expected) {
    std::set<std::string> seen;
    if (eventually([&] {
          seen = service_->list(identity_.id).value_or(std::set<std::string>{});
          return seen == expected;
        })) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "the service holds " << join(seen) << ", expected " << join(expected) << "\n"
           << tail(service_->output());
  }

  // node ID of every node, in node order; fails when one has no identity yet.
  std::vector<std::string> node_ids() const {
    std::vector<std::string> ids;
    for (const auto& node : nodes_) {
      ids.push_back(node->node_id());
      EXPECT_FALSE(ids.back().empty()) << node->name() << " has no identity";
    }
    return ids;
  }

  tds::test::TempDir dir_;  // declared first: removed after every process below is gone
  ClusterIdentity identity_ = ClusterIdentity::random();
  std::unique_ptr<DiscoveryService> service_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

std::set<std::string> service_prefixed(const std::vector<std::string>& ids, std::size_t skip) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != skip) out.insert("service/" + ids[i]);
  }
  return out;
}

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
// the Kubernetes registry still on the node is left with itself as its only Member, and with
// both registries off with none.
TEST_F(Cluster, DisablingServiceRegistryRemovesItsAffiliates) {
  ASSERT_TRUE(start_service());
  ASSERT_TRUE(start_cluster(3, [](NodeConfig& c) { c.legacy = true; }));
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

  node.config().kubernetes_registry = false;
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
