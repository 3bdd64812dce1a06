// The Kubernetes registry against a real kube-apiserver (on etcd, both on 127.0.0.1): machined
// nodes with only that registry converge, both registries merge per node (and turning the
// Kubernetes one off removes what it pulled), a deleted Node leaves,
// an API server restart heals without restarting machined, annotations edited away come back,
// and a node credential refused the Node list is reported once while the discovery service keeps
// the cluster working. One API server serves every test of this binary; each test removes the
// Nodes it created.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/cluster_harness.h"
#include "tests/support/kube_apiserver.h"

namespace {

using namespace tds::test::cluster;
using namespace std::chrono_literals;

auto* const kube = static_cast<tds::test::KubeApiServerEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new tds::test::KubeApiServerEnvironment));

std::set<std::string> prefixed(const std::string& prefix, const std::vector<std::string>& ids,
                               std::size_t skip) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != skip) out.insert(prefix + ids[i]);
  }
  return out;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

class KubernetesCluster : public Cluster {
 protected:
  tds::test::KubeApiServer& api() { return kube->server(); }

  void TearDown() override {
    Cluster::TearDown();
    for (const auto& name : created_) EXPECT_TRUE(api().delete_node(name));
  }

  // The Node node-<n> as its kubelet registers it (hostname and OS from the status).
  ::testing::AssertionResult create_node(int n) {
    const std::string name = "node-" + std::to_string(n);
    auto created = api().create_node(name, {}, name, "Generic Linux (test)");
    if (created) created_.insert(name);
    return created;
  }

  // Nodes node-1..node-<count> with the Kubernetes registry on, each with the credential
  // `kubeconfig_for` names, and the service registry on only when a service runs.
  ::testing::AssertionResult start_kubernetes_cluster(
      int count, const std::function<std::string(int)>& kubeconfig_for) {
    for (int n = 1; n <= count; ++n) {
      if (auto created = create_node(n); !created) return created;
    }
    return start_cluster(count, [&](NodeConfig& c) {
      c.legacy = true;
      c.service_disabled = service_ == nullptr;
      c.kubeconfig = kubeconfig_for(std::stoi(c.name.substr(5)));
    });
  }

  std::string admin() { return api().admin_kubeconfig().string(); }

  // The Node's annotations, or nullopt when it cannot be read.
  std::optional<std::map<std::string, std::string>> annotations(const std::string& name) {
    const auto json = api().node_json(name);
    if (!json) return std::nullopt;
    const auto node = nlohmann::json::parse(*json, nullptr, false);
    if (node.is_discarded()) return std::nullopt;
    return node["metadata"].value("annotations", std::map<std::string, std::string>{});
  }

  std::set<std::string> created_;
};

TEST_F(KubernetesCluster, KubernetesRegistryAloneConverges) {
  ASSERT_TRUE(start_kubernetes_cluster(3, [&](int) { return admin(); }));
  const auto ids = node_ids();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& node = *nodes_[i];
    // Each node published itself on its own Node ...
    const auto own = annotations(node.name());
    ASSERT_TRUE(own);
    EXPECT_EQ(own->at("cluster.talos.dev/node-id"), ids[i]);
    EXPECT_EQ(own->at("networking.talos.dev/self-ips"), nodes_[i]->config().address);
    // ... and reads the others back as k8s/<nodeId>, owned by the pull controller.
    EXPECT_EQ(node.raw_affiliate_ids(), prefixed("k8s/", ids, i)) << node.name();
    const auto raw = node.get("affiliates", "cluster-raw");
    ASSERT_TRUE(raw);
    for (const auto& a : *raw) {
      EXPECT_EQ(a["metadata"]["owner"], "cluster.KubernetesPullController");
      EXPECT_EQ(a["spec"]["operatingSystem"], "Generic Linux (test)");
      EXPECT_EQ(a["spec"]["machineType"], "worker");
    }
  }
}

TEST_F(KubernetesCluster, BothRegistriesMergePerNode) {
  ASSERT_TRUE(start_service());
  ASSERT_TRUE(start_kubernetes_cluster(3, [&](int) { return admin(); }));
  const auto ids = node_ids();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& node = *nodes_[i];
    auto expected = prefixed("k8s/", ids, i);
    expected.merge(prefixed("service/", ids, i));
    std::optional<std::set<std::string>> raw;
    EXPECT_TRUE(eventually([&] { return (raw = node.raw_affiliate_ids()) == expected; }))
        << node.name() << " has " << join(raw) << "\n"
        << tail(node.output());
    // One merged affiliate per node, the local one included.
    const auto merged = node.get("affiliates");
    ASSERT_TRUE(merged);
    std::set<std::string> merged_ids;
    for (const auto& a : *merged) {
      merged_ids.insert(a["metadata"]["id"]);
      EXPECT_EQ(a["spec"]["addresses"].size(), 1u) << a.dump();
    }
    EXPECT_EQ(merged_ids, std::set<std::string>(ids.begin(), ids.end()));
  }
  EXPECT_TRUE(all_see(nodes(), hostnames(3)));

  // Turning the registry off on one node removes what it pulled, and nothing else.
  Node& node = *nodes_[0];
  node.config().kubeconfig.clear();
  node.reload();
  std::optional<std::set<std::string>> raw;
  EXPECT_TRUE(eventually([&] {
    return (raw = node.raw_affiliate_ids()) == prefixed("service/", ids, 0);
  })) << "cluster-raw still holds "
      << join(raw);
  EXPECT_TRUE(all_see(nodes(), hostnames(3)));
}

TEST_F(KubernetesCluster, DeletedNodeLeavesTheOthers) {
  ASSERT_TRUE(start_kubernetes_cluster(3, [&](int) { return admin(); }));
  ASSERT_TRUE(nodes_[2]->stop());
  ASSERT_TRUE(api().delete_node("node-3"));
  created_.erase("node-3");
  EXPECT_TRUE(all_see({nodes_[0].get(), nodes_[1].get()}, {"node-1", "node-2"}));
}

TEST_F(KubernetesCluster, AnnotationsEditedAwayOrNodeRecreatedComeBack) {
  ASSERT_TRUE(start_kubernetes_cluster(2, [&](int) { return admin(); }));
  const std::string id = nodes_[0]->node_id();
  const auto carries_id = [&] {
    const auto a = annotations("node-1");
    return a && a->count("cluster.talos.dev/node-id") && a->at("cluster.talos.dev/node-id") == id;
  };
  ASSERT_TRUE(carries_id());

  const auto removed =
      api().admin_request("PATCH", "/api/v1/nodes/node-1",
                          R"({"metadata":{"annotations":{"cluster.talos.dev/node-id":null}}})",
                          "application/strategic-merge-patch+json");
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_TRUE(eventually(carries_id)) << "the annotation was not put back\n"
                                      << tail(nodes_[0]->output());

  ASSERT_TRUE(api().delete_node("node-1"));
  created_.erase("node-1");
  ASSERT_TRUE(create_node(1));
  EXPECT_TRUE(eventually(carries_id)) << "the re-created Node was not annotated\n"
                                      << tail(nodes_[0]->output());
  EXPECT_TRUE(all_see(nodes(), hostnames(2)));
}

TEST_F(KubernetesCluster, ApiServerRestartHealsWithoutRestartingMachined) {
  ASSERT_TRUE(start_kubernetes_cluster(2, [&](int) { return admin(); }));
  ASSERT_TRUE(api().stop_apiserver());
  // While it is away the nodes keep what they knew.
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(all_see(nodes(), hostnames(2)));
  ASSERT_TRUE(api().start_apiserver());

  // A node that joins now is only seen if the others' watches came back.
  ASSERT_TRUE(create_node(3));
  ASSERT_TRUE(add_node(3, [&](NodeConfig& c) {
                c.legacy = true;
                c.service_disabled = true;
                c.kubeconfig = admin();
              }).start());
  EXPECT_TRUE(all_see(nodes(), hostnames(3)));
}

TEST_F(KubernetesCluster, NodeCredentialRefusedTheListIsReportedOnceAndServiceRegistryWorks) {
  ASSERT_TRUE(start_service());
  ASSERT_TRUE(start_kubernetes_cluster(
      3, [&](int n) { return api().node_kubeconfig("node-" + std::to_string(n)).string(); }));
  const auto ids = node_ids();
  // Pushing to its own Node is allowed to a node credential ...
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    EXPECT_TRUE(eventually([&] {
      const auto a = annotations(nodes_[i]->name());
      return a && a->count("cluster.talos.dev/node-id") &&
             a->at("cluster.talos.dev/node-id") == ids[i];
    })) << nodes_[i]->name();
  }
  // ... listing the others is not: said once, in one line naming why, while the discovery
  // service keeps the members.
  std::this_thread::sleep_for(3s);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const std::string out = nodes_[i]->output();
    EXPECT_EQ(count(out, "AuthorizeNodeWithSelectors"), 1u) << tail(out);
    // The line says what was refused and with which credential.
    std::smatch line;
    ASSERT_TRUE(std::regex_search(out, line, std::regex("[^\n]*AuthorizeNodeWithSelectors[^\n]*")));
    EXPECT_NE(line.str().find("403"), std::string::npos) << line.str();
    EXPECT_NE(line.str().find(nodes_[i]->config().kubeconfig), std::string::npos) << line.str();
    RecordProperty("forbidden_" + nodes_[i]->name(), line.str());
    EXPECT_EQ(nodes_[i]->raw_affiliate_ids(), prefixed("service/", ids, i));
  }
}

}  // namespace
