// The client library against a real kube-apiserver (tests/support/kube_apiserver.h): the
// fixture's kubeconfigs load, Node calls and watches work with each credential kind, a node
// credential is refused a list of every Node with the explanation, and the informer and the
// annotator keep up with changes made behind their backs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "kubernetes/client.h"
#include "kubernetes/credentials.h"
#include "kubernetes/node_annotator.h"
#include "kubernetes/node_informer.h"
#include "tests/support/eventually.h"
#include "tests/support/kube_apiserver.h"

namespace kubernetes {
namespace {

using std::chrono::seconds;
using tds::test::eventually;
using tds::test::KubeApiServerEnvironment;
using ::testing::HasSubstr;

auto* const kube = static_cast<KubeApiServerEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new KubeApiServerEnvironment));

void ensure_node(const std::string& name) {
  if (!kube->server().node_json(name)) {
    ASSERT_TRUE(kube->server().create_node(name, {{"kubernetes.io/hostname", name}},
                                           name + ".local", "Talos (v1.11.0)"));
  }
}

std::map<std::string, std::string> annotations_of(const std::string& name) {
  const auto json = kube->server().node_json(name);
  if (!json) return {};
  const auto node = nlohmann::json::parse(*json);
  if (!node["metadata"].contains("annotations")) return {};
  return node["metadata"]["annotations"].get<std::map<std::string, std::string>>();
}

// An io_context on a thread of its own for the informer's and annotator's callbacks.
class Owner {
 public:
  Owner() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Owner() {
    work_.reset();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return io_.get_executor(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

InformerOptions fast() {
  InformerOptions options;
  options.backoff_initial = std::chrono::milliseconds(100);
  options.backoff_max = std::chrono::milliseconds(1000);
  return options;
}

TEST(ApiServerClient, EachKubeconfigLoadsAndGetsANode) {
  ensure_node("node-1");
  auto& api = kube->server();
  for (const auto& path : {api.admin_kubeconfig(), api.cert_kubeconfig()}) {
    const Credentials credentials = load_kubeconfig(path);
    EXPECT_EQ(credentials.server, api.server());
    const Node node = make_client(credentials)->get_node("node-1");
    EXPECT_EQ(node.name, "node-1") << path;
    EXPECT_EQ(node.hostname, "node-1.local");
    EXPECT_EQ(node.os_image, "Talos (v1.11.0)");
    EXPECT_EQ(node.labels.at("kubernetes.io/hostname"), "node-1");
    EXPECT_FALSE(node.uid.empty());
    EXPECT_FALSE(node.resource_version.empty());
  }
  EXPECT_THAT(load_kubeconfig(api.cert_kubeconfig()).description,
              HasSubstr("(client certificate CN=admin)"));
}

TEST(ApiServerClient, NodeCredentialMayOnlyReachItsOwnNode) {
  ensure_node("node-1");
  ensure_node("node-2");
  auto client = make_client(load_kubeconfig(kube->server().node_kubeconfig("node-1")));

  try {
    client->list_nodes();
    FAIL() << "a node credential listed every Node";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_EQ(e.reason(), "Forbidden");
    EXPECT_THAT(e.what(), HasSubstr("User \"system:node:node-1\""));
    EXPECT_THAT(e.what(), HasSubstr("credentials: kubeconfig "));
    EXPECT_THAT(e.what(), HasSubstr("Kubernetes 1.32+ (AuthorizeNodeWithSelectors) forbids"));
  }
  const NodeList own = client->list_nodes("metadata.name=node-1");
  ASSERT_EQ(own.items.size(), 1u);
  EXPECT_EQ(own.items[0].name, "node-1");
  EXPECT_FALSE(own.resource_version.empty());

  const Node patched =
      client->patch_node_annotations("node-1", {{"test.tds/own", "yes"}, {"absent", std::nullopt}});
  EXPECT_EQ(patched.annotations.at("test.tds/own"), "yes");
  EXPECT_EQ(annotations_of("node-1").at("test.tds/own"), "yes");
  client->patch_node_annotations("node-1", {{"test.tds/own", std::nullopt}});
  EXPECT_FALSE(annotations_of("node-1").contains("test.tds/own"));

  try {
    client->patch_node_annotations("node-2", {{"test.tds/other", "no"}});
    FAIL() << "a node credential patched another Node";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 403);
  }
}

TEST(ApiServerClient, WatchSeesAPatchAndEndsOnCancel) {
  ensure_node("node-3");
  auto client = make_client(load_kubeconfig(kube->server().admin_kubeconfig()));
  const NodeList list = client->list_nodes("metadata.name=node-3");
  std::promise<Node> modified;
  std::atomic<bool> seen{false};
  auto watching = std::async(std::launch::async, [&] {
    client->watch_nodes(list.resource_version, "metadata.name=node-3", [&](const WatchEvent& e) {
      if (e.type == WatchEvent::Type::kModified && !seen.exchange(true)) modified.set_value(e.node);
    });
  });
  auto other = make_client(load_kubeconfig(kube->server().cert_kubeconfig()));
  other->patch_node_annotations("node-3", {{"test.tds/watched", "1"}});
  auto event = modified.get_future();
  ASSERT_EQ(event.wait_for(seconds(30)), std::future_status::ready);
  EXPECT_EQ(event.get().annotations.at("test.tds/watched"), "1");
  client->cancel();
  ASSERT_EQ(watching.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_NO_THROW(watching.get());
}

TEST(ApiServerClient, InformerFollowsNodesComingAndGoing) {
  ensure_node("node-4");
  Owner owner;
  auto informer = start_node_informer(load_kubeconfig(kube->server().admin_kubeconfig()), fast(),
                                      owner.executor(), [] {});
  ASSERT_TRUE(eventually([&] { return informer->synced(); }, seconds(30)));
  EXPECT_TRUE(informer->nodes()->contains("node-4"));
  ASSERT_TRUE(kube->server().create_node("node-5"));
  ASSERT_TRUE(eventually([&] { return informer->nodes()->contains("node-5"); }, seconds(30)));
  ASSERT_TRUE(kube->server().delete_node("node-5"));
  ASSERT_TRUE(eventually([&] { return !informer->nodes()->contains("node-5"); }, seconds(30)));
  EXPECT_FALSE(informer->last_error());
}

TEST(ApiServerClient, NodeCredentialInformerSaysWhyItCannotList) {
  Owner owner;
  auto informer = start_node_informer(load_kubeconfig(kube->server().node_kubeconfig("node-6")),
                                      fast(), owner.executor(), [] {});
  ASSERT_TRUE(eventually([&] { return informer->last_error().has_value(); }, seconds(30)));
  EXPECT_THAT(*informer->last_error(), HasSubstr("AuthorizeNodeWithSelectors"));
  EXPECT_FALSE(informer->synced());
}

TEST(ApiServerClient, AnnotatorWithANodeCredentialPutsAnnotationsBack) {
  ensure_node("node-7");
  Owner owner;
  auto annotator = start_node_annotator(load_kubeconfig(kube->server().node_kubeconfig("node-7")),
                                        "node-7", fast(), owner.executor(), [] {});
  annotator->set({{"test.tds/affiliate", "data"}});
  ASSERT_TRUE(eventually([&] { return annotator->applied(); }, seconds(30)))
      << annotator->last_error().value_or("");
  EXPECT_EQ(annotations_of("node-7").at("test.tds/affiliate"), "data");

  // Removed by someone else: put back.
  auto admin = make_client(load_kubeconfig(kube->server().admin_kubeconfig()));
  admin->patch_node_annotations("node-7", {{"test.tds/affiliate", std::nullopt}});
  ASSERT_TRUE(eventually([&] { return annotations_of("node-7").contains("test.tds/affiliate"); },
                         seconds(30), std::chrono::milliseconds(100)));
  EXPECT_FALSE(annotator->last_error());
}

}  // namespace
}  // namespace kubernetes
