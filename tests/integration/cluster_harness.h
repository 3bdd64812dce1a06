// The pieces of a multi-node cluster of real processes on 127.0.0.1 for integration tests: a
// discovery-service, machined nodes with their own state dirs and config files, and a fixture
// that starts them and waits until they see each other through `nodectl get -o json`.
#pragma once

#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
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
#include "tests/support/loopback_http.h"
#include "values/base64.h"

namespace tds::test::cluster {

namespace pb = ::sidero::discovery::server;
using Json = nlohmann::json;
using tds::test::ChildProcess;
using Clock = std::chrono::steady_clock;

// Generous: convergence takes about a second, but the machine may be busy.
constexpr std::chrono::seconds kTimeout{30};

// Checks run nodectl or talk gRPC: every 100 ms, not the default's 1 ms.
template <class Check>
inline bool eventually(Check&& check, Clock::duration timeout = kTimeout) {
  return tds::test::eventually(std::forward<Check>(check), timeout, std::chrono::milliseconds(100));
}

inline std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return "{" + out + "}";
}

inline std::string join(const std::optional<std::set<std::string>>& items) {
  return items ? join(*items) : "(nodectl failed)";
}

// The end of a log, enough to see why something did not happen.
inline std::string tail(const std::string& log, std::size_t bytes = 3000) {
  return log.size() <= bytes ? log : "..." + log.substr(log.size() - bytes);
}

inline std::string random_base64(std::size_t bytes) {
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
inline std::string http_get(int port, const std::string& path) {
  return tds::test::http_body(tds::test::http_exchange(
      port, "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", std::chrono::seconds(10)));
}

// The status code of GET http://127.0.0.1:port/path, or -1 when there is no answer.
inline int http_status(int port, const std::string& path) {
  const std::string response = tds::test::http_exchange(
      port, "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", std::chrono::seconds(2));
  std::smatch match;
  if (!std::regex_search(response, match, std::regex("^HTTP/1\\.[01] ([0-9]{3}) "))) return -1;
  return std::stoi(match[1]);
}

// grpc.health.v1 Health/Check for service "" on a connection of its own: 1 (SERVING),
// 2 (NOT_SERVING), ...; nullopt when the call fails.
inline std::optional<int> grpc_health(const std::string& endpoint) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  grpc::GenericStub stub(
      grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("");  // HealthCheckRequest{service: ""} encodes to no bytes
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer reply;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &reply,
                 [&](grpc::Status status) { done.set_value(std::move(status)); });
  if (!done.get_future().get().ok()) return std::nullopt;
  std::vector<grpc::Slice> slices;
  std::string answer;
  if (!reply.Dump(&slices).ok()) return std::nullopt;
  for (const auto& slice : slices) {
    answer.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  // HealthCheckResponse{status = 1}: field 1 as a varint; an empty message is UNKNOWN (0).
  if (answer.empty()) return 0;
  if (answer.size() != 2 || answer[0] != '\x08') return std::nullopt;
  return static_cast<int>(answer[1]);
}

// An affiliate as List returns it, endpoints sorted: two replicas agree when these are equal.
struct AffiliateValue {
  std::string data;
  std::set<std::string> endpoints;
  bool operator==(const AffiliateValue&) const = default;
};
using Affiliates = std::map<std::string, AffiliateValue>;

inline void PrintTo(const AffiliateValue& value, std::ostream* out) {
  // The data may be long (and binary): its first 40 bytes are enough to tell values apart.
  *out << "{data: \"";
  out->write(value.data.data(),
             static_cast<std::streamsize>(std::min<std::size_t>(40, value.data.size())));
  *out << (value.data.size() > 40 ? "...\"" : "\"") << ", endpoints: " << join(value.endpoints)
       << "}";
}

// A discovery-service on 127.0.0.1; restart() keeps its port so the nodes find it again.
class DiscoveryService {
 public:
  struct Options {
    bool snapshots = false;
    bool rate_limit = true;  // off when the test itself floods the service from 127.0.0.1
    std::vector<std::string> extra_args = {};  // appended to the command line
    bool landing = false;  // serve the landing page (/healthz) on an ephemeral port
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
        options_.landing ? "127.0.0.1:0" : "",
        "--metrics-addr",
        "127.0.0.1:0",
        "--snapshot-path",
        (dir_ / "discovery.binpb").string(),
        options_.snapshots ? "--snapshots-enabled" : "--snapshots-enabled=false"};
    if (!options_.rate_limit) {
      args.insert(args.end(), {"--rate-limit", "0"});
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    proc_ = std::make_unique<ChildProcess>(std::move(args));
    const std::regex listening(
        "event=listening .*? port=([0-9]+) .*landing_port=([0-9]+) metrics_port=([0-9]+)");
    if (!proc_->wait_for_output(listening, kTimeout)) {
      return ::testing::AssertionFailure() << "no listening line:\n" << proc_->output();
    }
    const std::string out = proc_->output();
    std::smatch match;
    std::regex_search(out, match, listening);
    port_ = std::stoi(match[1]);
    landing_port_ = std::stoi(match[2]);
    metrics_port_ = std::stoi(match[3]);
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

  // SIGKILL, no chance to save; reaped, its output stays readable in last_output().
  void kill() {
    if (!proc_) return;
    proc_->signal(SIGKILL);
    proc_->wait_exit(kTimeout);
    last_output_ = proc_->output();
    proc_.reset();
  }

  // Starts again after stop() or kill(), on the same port and snapshot path.
  ::testing::AssertionResult start(Options options) {
    options_ = std::move(options);
    return start();
  }

  std::filesystem::path snapshot_path() const { return dir_ / "discovery.binpb"; }

  ::testing::AssertionResult restart(Options options) {
    if (auto stopped = stop(); !stopped) return stopped;
    options_ = options;
    return start();
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  int metrics_port() const { return metrics_port_; }
  int landing_port() const { return landing_port_; }  // 0 unless Options::landing
  ChildProcess* process() { return proc_.get(); }
  std::string output() const { return proc_ ? proc_->output() : last_output_; }
  const std::string& last_output() const { return last_output_; }

  std::unique_ptr<pb::Cluster::Stub> stub() const {
    return pb::Cluster::NewStub(
        grpc::CreateChannel(endpoint(), grpc::InsecureChannelCredentials()));
  }

  // The affiliate IDs the service holds for `cluster`, or nullopt when List fails.
  std::optional<std::set<std::string>> list(const std::string& cluster) const {
    auto listed = affiliates(cluster);
    if (!listed) return std::nullopt;
    std::set<std::string> ids;
    for (const auto& [id, value] : *listed) ids.insert(id);
    return ids;
  }

  // Every affiliate the service holds for `cluster` with its data and endpoints, or nullopt when
  // List fails.
  std::optional<Affiliates> affiliates(const std::string& cluster) const {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::ListRequest request;
    request.set_cluster_id(cluster);
    pb::ListResponse response;
    if (!stub()->List(&ctx, request, &response).ok()) return std::nullopt;
    Affiliates out;
    for (const auto& a : response.affiliates()) {
      out[a.id()] = {a.data(), {a.endpoints().begin(), a.endpoints().end()}};
    }
    return out;
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
  int landing_port_ = 0;
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
  bool service_disabled = false;  // legacy form only
  // Legacy form only: the Kubernetes registry's kubeconfig; empty: the registry is disabled.
  std::string kubeconfig{};
};

inline std::optional<std::set<std::string>> field_of_each(
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
           << (c.kubeconfig.empty() ? "        disabled: true\n"
                                    : "        kubeconfig: " + c.kubeconfig + "\n")
           << "      service:\n"
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
                                 (dir_ / "config.yaml").string(), "--api-addr", "127.0.0.1:0",
                                 "--api-insecure"});
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
                      service_ ? service_->endpoint() : "127.0.0.1:1", identity_};
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

inline std::set<std::string> service_prefixed(const std::vector<std::string>& ids,
                                              std::size_t skip) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != skip) out.insert("service/" + ids[i]);
  }
  return out;
}

}  // namespace tds::test::cluster
