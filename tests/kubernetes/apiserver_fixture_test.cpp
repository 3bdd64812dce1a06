// The test kube-apiserver fixture against itself, and what the Kubernetes registry may rely on:
// which calls a node credential (system:node:<name>, Node,RBAC authorization with the
// NodeRestriction admission plugin) and an identity without rights may make on Node objects.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/kube_apiserver.h"

namespace {

using tds::test::HttpResponse;
using tds::test::KubeApiServer;
using tds::test::KubeApiServerEnvironment;

auto* const kube = static_cast<KubeApiServerEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new KubeApiServerEnvironment));

long long ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// The status code with the body (an API Status names the reason) for failure messages.
std::string describe(const HttpResponse& r) {
  return std::to_string(r.status) + " " + r.error + r.body.substr(0, 600);
}

std::string status_message(const HttpResponse& r) {
  const auto json = nlohmann::json::parse(r.body, nullptr, false);
  if (json.is_discarded() || !json.contains("message")) return {};
  return json["message"].get<std::string>();
}

// Creates the Node unless a previous test did.
void ensure_node(const std::string& name) {
  if (!kube->server().node_json(name)) {
    ASSERT_TRUE(kube->server().create_node(name));
  }
}

TEST(KubeApiServerFixture, IsReadyAndReportsThePinnedRelease) {
  auto& api = kube->server();
  std::cout << "start() took " << ms(api.start_duration()) << " ms (kube-apiserver alone "
            << ms(api.apiserver_start_duration()) << " ms)\n";
  ::testing::Test::RecordProperty("start_ms", std::to_string(ms(api.start_duration())));

  const auto ready = api.admin_request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << describe(ready);
  EXPECT_EQ(ready.body, "ok");

  const auto version = api.admin_request("GET", "/version");
  ASSERT_EQ(version.status, 200) << describe(version);
  EXPECT_EQ(nlohmann::json::parse(version.body)["gitVersion"], "v1.34.4");
  EXPECT_EQ(api.server(), "https://127.0.0.1:" + std::to_string(api.port()));
}

TEST(KubeApiServerFixture, AdminCreatesANodeWithStatusAndReadsItBack) {
  auto& api = kube->server();
  ASSERT_TRUE(api.create_node("node-1", {{"kubernetes.io/hostname", "node-1"}}, "node-1.local",
                              "Talos (v1.11.0)"));

  const auto json = api.node_json("node-1");
  ASSERT_TRUE(json);
  const auto node = nlohmann::json::parse(*json);
  EXPECT_EQ(node["metadata"]["labels"]["kubernetes.io/hostname"], "node-1");
  EXPECT_EQ(node["status"]["addresses"],
            nlohmann::json::parse(R"([{"type":"Hostname","address":"node-1.local"}])"));
  EXPECT_EQ(node["status"]["nodeInfo"]["osImage"], "Talos (v1.11.0)");

  // Through each admin kubeconfig: the token one and the client-certificate one.
  for (const auto& kubeconfig : {api.admin_kubeconfig(), api.cert_kubeconfig()}) {
    const auto got = api.request(kubeconfig, "GET", "/api/v1/nodes/node-1");
    EXPECT_EQ(got.status, 200) << kubeconfig << ": " << describe(got);
  }
  EXPECT_FALSE(api.node_json("node-missing"));
}

// Kubernetes 1.34 (AuthorizeNodeWithSelectors on): a node reads its own Node by name, or in a
// list or watch whose field selector is exactly metadata.name=<itself>; any other read is 403. It
// may patch its own Node (annotations too) and nobody else's.
TEST(KubeApiServerFixture, ANodeCredentialReadsAndWritesOnlyItsOwnNode) {
  auto& api = kube->server();
  ASSERT_NO_FATAL_FAILURE(ensure_node("node-3"));
  ASSERT_NO_FATAL_FAILURE(ensure_node("node-4"));
  const auto node3 = api.node_kubeconfig("node-3");
  const auto as_node3 = [&](const std::string& method, const std::string& path,
                            const std::string& body = {},
                            const std::string& type = "application/merge-patch+json") {
    return api.request(node3, method, path, body, type);
  };

  const auto own = as_node3("GET", "/api/v1/nodes/node-3");
  EXPECT_EQ(own.status, 200) << describe(own);

  const auto other = as_node3("GET", "/api/v1/nodes/node-4");
  EXPECT_EQ(other.status, 403) << describe(other);
  EXPECT_NE(status_message(other).find("node 'node-3' cannot read 'node-4', only its own Node"),
            std::string::npos)
      << describe(other);

  // Denied before the lookup: a node cannot even learn whether another Node exists.
  const auto missing_other = as_node3("GET", "/api/v1/nodes/node-5");
  EXPECT_EQ(missing_other.status, 403) << describe(missing_other);
  const auto missing_own =
      api.request(api.node_kubeconfig("node-6"), "GET", "/api/v1/nodes/node-6");
  EXPECT_EQ(missing_own.status, 404) << describe(missing_own);

  const auto list = as_node3("GET", "/api/v1/nodes");
  EXPECT_EQ(list.status, 403) << describe(list);
  EXPECT_NE(status_message(list).find("cannot read all nodes, only its own Node object"),
            std::string::npos)
      << describe(list);

  const auto label_list = as_node3("GET", "/api/v1/nodes?labelSelector=kubernetes.io%2Fos%3Dlinux");
  EXPECT_EQ(label_list.status, 403) << describe(label_list);

  const auto own_list = as_node3("GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dnode-3");
  ASSERT_EQ(own_list.status, 200) << describe(own_list);
  const auto items = nlohmann::json::parse(own_list.body)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["metadata"]["name"], "node-3");

  const auto other_list = as_node3("GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dnode-4");
  EXPECT_EQ(other_list.status, 403) << describe(other_list);
  const auto not_other = as_node3("GET", "/api/v1/nodes?fieldSelector=metadata.name!%3Dnode-4");
  EXPECT_EQ(not_other.status, 403) << describe(not_other);

  const auto own_watch = as_node3(
      "GET", "/api/v1/nodes?watch=1&fieldSelector=metadata.name%3Dnode-3&timeoutSeconds=1");
  EXPECT_EQ(own_watch.status, 200) << describe(own_watch);
  EXPECT_NE(own_watch.body.find(R"({"type":"ADDED")"), std::string::npos) << describe(own_watch);
  const auto watch_all = as_node3("GET", "/api/v1/nodes?watch=1&timeoutSeconds=1");
  EXPECT_EQ(watch_all.status, 403) << describe(watch_all);

  const std::string annotate = R"({"metadata":{"annotations":{"cluster.talos.dev/test":"x"}}})";
  const auto patch_own = as_node3("PATCH", "/api/v1/nodes/node-3", annotate);
  EXPECT_EQ(patch_own.status, 200) << describe(patch_own);
  const auto patch_other = as_node3("PATCH", "/api/v1/nodes/node-4", annotate);
  EXPECT_EQ(patch_other.status, 403) << describe(patch_other);
  EXPECT_NE(
      status_message(patch_other).find(R"(node "node-3" is not allowed to modify node "node-4")"),
      std::string::npos)
      << describe(patch_other);
}

TEST(KubeApiServerFixture, AnIdentityWithoutRightsIsForbiddenAndABadTokenUnauthorized) {
  auto& api = kube->server();
  ASSERT_NO_FATAL_FAILURE(ensure_node("node-3"));
  const auto get = api.request(api.nobody_kubeconfig(), "GET", "/api/v1/nodes/node-3");
  EXPECT_EQ(get.status, 403) << describe(get);
  const auto list = api.request(api.nobody_kubeconfig(), "GET", "/api/v1/nodes");
  EXPECT_EQ(list.status, 403) << describe(list);
  EXPECT_NE(status_message(list).find(R"(User "nobody" cannot list resource "nodes")"),
            std::string::npos)
      << describe(list);

  const auto bad = api.dir() / "bad-token.kubeconfig";
  std::ofstream(bad) << "users:\n- name: x\n  user:\n    token: not-a-known-token\n";
  const auto unknown = api.request(bad, "GET", "/api/v1/nodes");
  EXPECT_EQ(unknown.status, 401) << describe(unknown);
}

TEST(KubeApiServerFixture, TheNodeSurvivesAnApiServerRestart) {
  auto& api = kube->server();
  ASSERT_TRUE(api.create_node("node-9", {}, "node-9.local", "Talos"));

  const auto stop_begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(api.stop_apiserver());
  std::cout << "stop_apiserver() took " << ms(std::chrono::steady_clock::now() - stop_begin)
            << " ms\n";
  const auto down = api.admin_request("GET", "/readyz");
  EXPECT_EQ(down.status, 0) << describe(down);

  ASSERT_TRUE(api.start_apiserver()) << api.apiserver_output();
  std::cout << "start_apiserver() again took " << ms(api.apiserver_start_duration()) << " ms\n";
  const auto json = api.node_json("node-9");
  ASSERT_TRUE(json);
  EXPECT_EQ(nlohmann::json::parse(*json)["status"]["nodeInfo"]["osImage"], "Talos");
  // The same credentials work against the new process.
  const auto own = api.request(api.node_kubeconfig("node-9"), "GET", "/api/v1/nodes/node-9");
  EXPECT_EQ(own.status, 200) << describe(own);
}

}  // namespace
