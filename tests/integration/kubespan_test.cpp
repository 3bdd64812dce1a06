// KubeSpan across real processes: one discovery-service and three machined nodes with KubeSpan
// on. Each node must end up with a KubeSpanPeerSpec for each other node, carrying that node's
// public key (the ID), KubeSpan address, endpoints (an extra announced one included) and nodename.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/machined/temp_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace {

using Json = nlohmann::json;
using tds::test::ChildProcess;
using namespace std::chrono_literals;

constexpr auto kTimeout = 60s;  // convergence takes a second or two; the machine may be busy
constexpr const char* kClusterId = "8XuV9TZHW08DOk3bVxQjH9ih_TBKjnh-j44tsCLSBzo=";
constexpr const char* kSecret = "kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=";

struct NodeSpec {
  std::string name;            // hostname and nodename
  std::string address;         // announced (HostConfig), so every node has its own endpoint
  std::string mac;             // HostConfig hardwareAddress: one host, three KubeSpan addresses
  std::string extra_endpoint;  // KubeSpanEndpointsConfig, empty: none
};

std::string config_for(const NodeSpec& n, int discovery_port) {
  std::ostringstream y;
  y << "version: v1alpha1\nmachine:\n  type: worker\n  network:\n    hostname: " << n.name
    << "\n    kubespan:\n      enabled: true\ncluster:\n  clusterName: ks\n"
    << "---\napiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: it\n"
    << "endpoint: http://127.0.0.1:" << discovery_port << "\n"
    << "---\napiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterID: " << kClusterId
    << "\nclusterSecret: " << kSecret << "\n"
    << "---\napiVersion: v1alpha1\nkind: HostConfig\nnodename: " << n.name << "\naddresses: [\""
    << n.address << "/24\"]\nhardwareAddress: " << n.mac << "\n";
  if (!n.extra_endpoint.empty()) {
    y << "---\napiVersion: v1alpha1\nkind: KubeSpanEndpointsConfig\n"
      << "extraAnnouncedEndpoints: [\"" << n.extra_endpoint << "\"]\n";
  }
  return y.str();
}

// `nodectl --socket <s> get <args...> -o json`: one JSON document per resource; nullopt when
// nodectl fails, so that an error never reads as "nothing there yet".
std::optional<std::vector<Json>> get_json(const std::string& socket,
                                          std::vector<std::string> what) {
  std::vector<std::string> args = {NODECTL_BIN, "--socket", socket, "get"};
  args.insert(args.end(), what.begin(), what.end());
  args.insert(args.end(), {"-o", "json"});
  auto result = tds::test::run_to_exit(std::move(args), 30s);
  if (result.exit_code != 0) return std::nullopt;
  std::vector<Json> out;
  std::istringstream in(result.output);
  try {
    while ((in >> std::ws).peek() != std::char_traits<char>::eof()) {
      out.emplace_back();
      in >> out.back();
    }
  } catch (const Json::exception&) {
    return std::nullopt;
  }
  return out;
}

std::vector<std::string> strings(const Json& list) {
  std::vector<std::string> out;
  if (list.is_array()) {
    for (const auto& v : list) out.push_back(v.get<std::string>());
  }
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

class KubeSpanCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    discovery_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        DISCOVERY_SERVICE_BIN, "--addr", "127.0.0.1:0", "--landing-addr", "", "--metrics-addr", "",
        "--snapshots-enabled=false", "--rate-limit", "0"});
    auto port = discovery_->wait_for_listening_port(kTimeout);
    ASSERT_TRUE(port) << discovery_->output();
    for (const auto& n : specs_) {
      const auto dir = dir_.path() / n.name;
      std::filesystem::create_directories(dir);
      std::ofstream(dir / "config.yaml") << config_for(n, *port);
      nodes_.push_back(std::make_unique<ChildProcess>(std::vector<std::string>{
          MACHINED_BIN, "--state-dir", (dir / "state").string(), "--config",
          (dir / "config.yaml").string(), "--api-addr", "127.0.0.1:0", "--api-insecure"}));
      ASSERT_TRUE(nodes_.back()->wait_for_output(std::regex("event=started "), kTimeout))
          << nodes_.back()->output();
    }
  }

  void TearDown() override {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      nodes_[i]->signal(SIGTERM);
      auto status = nodes_[i]->wait_exit(kTimeout);
      EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
          << specs_[i].name << " did not stop cleanly:\n"
          << nodes_[i]->output();
    }
    nodes_.clear();
    discovery_.reset();
  }

  std::string socket(std::size_t i) const {
    return (dir_.path() / specs_[i].name / "state" / "machined.sock").string();
  }

  // Checks run nodectl: every 200 ms, not the default's 1 ms.
  template <class Check>
  static bool eventually(Check&& check) {
    return tds::test::eventually(std::forward<Check>(check), kTimeout, 200ms);
  }

  const std::vector<NodeSpec> specs_ = {
      {"ks-1", "192.0.2.1", "02:00:00:00:00:01", ""},
      {"ks-2", "192.0.2.2", "02:00:00:00:00:02", ""},
      {"ks-3", "192.0.2.3", "02:00:00:00:00:03", "203.0.113.3:51821"},
  };
  tds::test::TempDir dir_;
  std::unique_ptr<ChildProcess> discovery_;
  std::vector<std::unique_ptr<ChildProcess>> nodes_;
};

TEST_F(KubeSpanCluster, NodesSeeEachOthersKeysAndEndpoints) {
  // Every node's own identity: key pair and address (read over the socket: the type is
  // sensitive, as it holds the private key).
  struct Identity {
    std::string public_key;
    std::string address;  // without the /128
  };
  std::vector<Identity> ids;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    std::optional<std::vector<Json>> got;
    ASSERT_TRUE(eventually([&] {
      got = get_json(socket(i), {"kubespanidentities"});
      return got && got->size() == 1;
    })) << specs_[i].name
        << ":\n"
        << nodes_[i]->output();
    const auto& spec = (*got)[0]["spec"];
    std::string address = spec.value("address", "");
    ASSERT_TRUE(address.ends_with("/128")) << address;
    address.resize(address.size() - 4);
    // The cluster's KubeSpan /64 (ULA from the cluster ID's SHA-256) with each node's own EUI-64.
    EXPECT_EQ(spec.value("subnet", ""), "fd7f:175a:b97c:5602::/64");
    EXPECT_EQ(address, "fd7f:175a:b97c:5602:0:ff:fe00:" + std::to_string(i + 1));
    ids.push_back({spec.value("publicKey", ""), address});
    EXPECT_EQ(ids.back().public_key.size(), 44u);
  }

  for (std::size_t i = 0; i < specs_.size(); ++i) {
    std::map<std::string, Json> peers;  // by public key
    const bool converged = eventually([&] {
      auto got = get_json(socket(i), {"kubespanpeerspecs"});
      if (!got) return false;
      peers.clear();
      for (const auto& r : *got) peers[r["metadata"].value("id", "")] = r["spec"];
      if (peers.size() != specs_.size() - 1) return false;
      // Endpoints arrive with the affiliate's KubeSpan data; wait for the full set.
      for (std::size_t j = 0; j < specs_.size(); ++j) {
        if (j == i) continue;
        auto it = peers.find(ids[j].public_key);
        if (it == peers.end()) return false;
        const auto endpoints = strings(it->second["endpoints"]);
        if (!contains(endpoints, specs_[j].address + ":51820")) return false;
        if (!specs_[j].extra_endpoint.empty() && !contains(endpoints, specs_[j].extra_endpoint)) {
          return false;
        }
      }
      return true;
    });
    ASSERT_TRUE(converged) << specs_[i].name << " peers: " << Json(peers).dump() << "\n"
                           << nodes_[i]->output();
    EXPECT_EQ(peers.count(ids[i].public_key), 0u) << "a node is not its own peer";
    for (std::size_t j = 0; j < specs_.size(); ++j) {
      if (j == i) continue;
      const auto& peer = peers[ids[j].public_key];
      EXPECT_EQ(peer.value("label", ""), specs_[j].name);
      EXPECT_EQ(peer.value("address", ""), ids[j].address);
      const auto allowed = strings(peer["allowedIPs"]);
      EXPECT_TRUE(contains(allowed, specs_[j].address + "/32")) << Json(allowed).dump();
      EXPECT_TRUE(contains(allowed, ids[j].address + "/128")) << Json(allowed).dump();
    }
  }

  // The same keys are in the merged affiliates every node sees.
  auto affiliates = get_json(socket(0), {"affiliates"});
  ASSERT_TRUE(affiliates);
  std::vector<std::string> keys;
  for (const auto& a : *affiliates) {
    keys.push_back(a["spec"].value("kubespan", Json::object()).value("publicKey", ""));
  }
  for (const auto& id : ids) EXPECT_TRUE(contains(keys, id.public_key)) << id.public_key;

  // The table form, through the singular alias (`ksps` is ambiguous: KubeSpanPeerStatuses
  // has it too, as in Talos), names Talos's columns.
  auto table =
      tds::test::run_to_exit({NODECTL_BIN, "--socket", socket(0), "get", "kubespanpeerspec"}, 30s);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("LABEL"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("ENDPOINTS"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("ks-2"), std::string::npos) << table.output;
}

}  // namespace
