// KubernetesPull and KubernetesPush over fakes of the Kubernetes API: what the pull side writes
// for the Nodes an informer reports (not the local one, not unannotated ones; removed with the
// Node or the registry), and what the push side asks an annotator to keep on the local Node.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <mutex>

#include "controllers/cluster/kubernetes_source.h"
#include "resources/cluster/cluster.h"
#include "resources/k8s/k8s.h"
#include "tests/controllers/harness.h"
#include "tests/support/eventually.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
namespace rk = resources::k8s;
using runtime::resource::Pointer;

constexpr char kSecret[] = "kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=";

std::string config(bool kubernetes_on) {
  return std::string("version: v1alpha1\ncluster:\n  id: c\n  secret: ") + kSecret +
         "\n  discovery:\n    enabled: true\n    registries:\n      service: {disabled: true}\n"
         "      kubernetes:\n" +
         (kubernetes_on ? "        kubeconfig: /fake/kubeconfig\n" : "        disabled: true\n");
}

// What the fakes share with the test: the calls the controllers made and what they were given.
struct FakeApi {
  std::mutex mu;
  std::vector<std::string> sources;  // each load_credentials call's kubeconfig
  int informers_alive = 0;
  int annotators_alive = 0;
  // The running informer's view, and how to wake its owner.
  kubernetes::NodeMap nodes;
  bool synced = false;
  int reads = 0;  // nodes() calls: each is one pass of the pull controller
  boost::asio::any_io_executor owner;
  std::function<void()> on_change;
  // The running annotator's node and last wanted annotations.
  std::string annotated_node;
  std::optional<kubernetes::Annotations> wanted;

  // Publishes `next` as the informer's mirror and wakes its owner, as the real one does.
  void publish(kubernetes::NodeMap next, bool is_synced = true) {
    std::lock_guard lock(mu);
    nodes = std::move(next);
    synced = is_synced;
    if (informers_alive > 0) boost::asio::post(owner, on_change);
  }

  KubernetesApi api() {
    KubernetesApi out;
    out.load_credentials = [this](const config::KubernetesRegistry& source) {
      std::lock_guard lock(mu);
      sources.push_back(source.kubeconfig);
      kubernetes::Credentials c;
      c.server = "https://fake";
      c.description = "fake";
      return c;
    };
    out.start_informer = [this](kubernetes::Credentials, kubernetes::InformerOptions,
                                boost::asio::any_io_executor executor, std::function<void()> cb) {
      std::lock_guard lock(mu);
      owner = executor;
      on_change = std::move(cb);
      ++informers_alive;
      return std::unique_ptr<kubernetes::NodeInformer>(std::make_unique<Informer>(*this));
    };
    out.start_annotator = [this](kubernetes::Credentials, std::string node,
                                 kubernetes::InformerOptions, boost::asio::any_io_executor,
                                 std::function<void()>) {
      std::lock_guard lock(mu);
      annotated_node = std::move(node);
      ++annotators_alive;
      return std::unique_ptr<kubernetes::NodeAnnotator>(std::make_unique<Annotator>(*this));
    };
    return out;
  }

  struct Informer final : kubernetes::NodeInformer {
    explicit Informer(FakeApi& api) : api(api) {}
    ~Informer() override {
      std::lock_guard lock(api.mu);
      --api.informers_alive;
      // As the real informer: nothing of the owner is kept past this (its executor may go next).
      api.owner = {};
      api.on_change = nullptr;
    }
    std::shared_ptr<const kubernetes::NodeMap> nodes() const override {
      std::lock_guard lock(api.mu);
      ++api.reads;
      return std::make_shared<const kubernetes::NodeMap>(api.nodes);
    }
    bool synced() const override {
      std::lock_guard lock(api.mu);
      return api.synced;
    }
    std::optional<std::string> last_error() const override { return std::nullopt; }
    FakeApi& api;
  };

  struct Annotator final : kubernetes::NodeAnnotator {
    explicit Annotator(FakeApi& api) : api(api) {}
    ~Annotator() override {
      std::lock_guard lock(api.mu);
      --api.annotators_alive;
    }
    void set(kubernetes::Annotations wanted) override {
      std::lock_guard lock(api.mu);
      api.wanted = std::move(wanted);
    }
    bool applied() const override { return true; }
    std::optional<std::string> last_error() const override { return std::nullopt; }
    FakeApi& api;
  };
};

kubernetes::Node annotated(const std::string& name, const std::string& node_id,
                           const std::string& ip) {
  kubernetes::Node node;
  node.name = name;
  node.hostname = name + ".example";
  node.annotations = {{"cluster.talos.dev/node-id", node_id},
                      {"networking.talos.dev/self-ips", ip}};
  return node;
}

Pointer raw(const std::string& node_id) {
  return {std::string(rc::kRawNamespace), std::string(rc::kAffiliateType), "k8s/" + node_id};
}

class KubernetesPull : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.add(make_kubernetes_pull_controller(fake_.api()));
    h_.start();
    rk::NodenameSpec nodename;
    nodename.set_nodename("node-1");
    h_.put(Pointer{std::string(rk::kNamespace), std::string(rk::kNodenameType),
                   std::string(rk::kNodenameId)},
           nodename);
    h_.put_config(config(true));
  }

  bool informer_running() {
    return tds::test::eventually([&] {
      std::lock_guard lock(fake_.mu);
      return fake_.informers_alive == 1;
    });
  }

  FakeApi fake_;
  testing::Harness h_;  // after the fake: stops the controllers before the fake goes
};

TEST_F(KubernetesPull, OtherAnnotatedNodesBecomeRawAffiliates) {
  ASSERT_TRUE(informer_running());
  EXPECT_EQ(fake_.sources, std::vector<std::string>{"/fake/kubeconfig"});
  kubernetes::NodeMap nodes;
  nodes["node-1"] = annotated("node-1", "LOCAL", "10.0.0.1");  // the local node: skipped
  nodes["node-2"] = annotated("node-2", "TWO", "10.0.0.2");
  nodes["node-3"] = kubernetes::Node{};  // not part of discovery: no node-id annotation
  nodes["node-3"].name = "node-3";
  fake_.publish(nodes);

  const auto two = h_.wait_for<rc::AffiliateSpec>(raw("TWO"));
  ASSERT_TRUE(two);
  EXPECT_EQ(two->nodename(), "node-2");
  EXPECT_EQ(two->hostname(), "node-2.example");
  ASSERT_EQ(two->addresses_size(), 1);
  EXPECT_EQ(values::net::ip_text(two->addresses(0).ip()), "10.0.0.2");
  EXPECT_EQ(
      h_.state().list({std::string(rc::kRawNamespace), std::string(rc::kAffiliateType)}).size(),
      1u);

  // The Node goes: so does its affiliate.
  nodes.erase("node-2");
  fake_.publish(nodes);
  EXPECT_TRUE(h_.wait_gone(raw("TWO")));
}

TEST_F(KubernetesPull, AnUnsyncedEmptyMirrorChangesNothingAndOffRemovesEverything) {
  ASSERT_TRUE(informer_running());
  fake_.publish({{"node-2", annotated("node-2", "TWO", "10.0.0.2")}});
  ASSERT_TRUE(h_.wait_for<rc::AffiliateSpec>(raw("TWO")));

  // A restarted informer that has not listed yet says nothing about the Nodes. Two passes over
  // it, so the first has finished when the second reads the mirror (passes never overlap).
  const auto reads = [&] {
    std::lock_guard lock(fake_.mu);
    return fake_.reads;
  };
  for (int i = 1, before = reads(); i <= 2; ++i) {
    fake_.publish({}, false);
    ASSERT_TRUE(tds::test::eventually([&] { return reads() >= before + i; }));
  }
  EXPECT_NE(h_.state().get(raw("TWO")), nullptr);

  fake_.publish({{"node-4", annotated("node-4", "FOUR", "10.0.0.4")}});
  ASSERT_TRUE(h_.wait_for<rc::AffiliateSpec>(raw("FOUR")));
  EXPECT_TRUE(h_.wait_gone(raw("TWO")));

  h_.put_config(config(false));
  EXPECT_TRUE(h_.wait_gone(raw("FOUR")));
  EXPECT_TRUE(tds::test::eventually([&] {
    std::lock_guard lock(fake_.mu);
    return fake_.informers_alive == 0;
  })) << "the watch stops with the registry";
}

TEST(KubernetesPush, KeepsTheLocalAffiliateOnTheLocalNode) {
  FakeApi fake;
  testing::Harness h;
  h.add(make_kubernetes_push_controller(fake.api()));
  h.start();
  rc::IdentitySpec identity;
  identity.set_node_id("LOCAL");
  h.put(Pointer{std::string(rc::kNamespace), std::string(rc::kIdentityType),
                std::string(rc::kLocalIdentityId)},
        identity);
  rc::AffiliateSpec local;
  local.set_node_id("LOCAL");
  local.set_nodename("node-1");
  *local.add_addresses() = values::net::ip("10.0.0.1");
  const Pointer local_ptr{std::string(rc::kNamespace), std::string(rc::kAffiliateType), "LOCAL"};
  h.put(local_ptr, local);
  h.put_config(config(true));

  const auto wanted = [&](const std::string& key) -> std::optional<std::string> {
    std::lock_guard lock(fake.mu);
    if (!fake.wanted || !fake.wanted->count(key)) return std::nullopt;
    return fake.wanted->at(key);
  };
  ASSERT_TRUE(
      tds::test::eventually([&] { return wanted("networking.talos.dev/self-ips") == "10.0.0.1"; }));
  EXPECT_EQ(wanted("cluster.talos.dev/node-id"), "LOCAL");
  EXPECT_EQ(fake.annotated_node, "node-1");

  *local.add_addresses() = values::net::ip("fd00::1");
  h.put(local_ptr, local);
  EXPECT_TRUE(tds::test::eventually(
      [&] { return wanted("networking.talos.dev/self-ips") == "10.0.0.1,fd00::1"; }));

  h.put_config(config(false));
  EXPECT_TRUE(tds::test::eventually([&] {
    std::lock_guard lock(fake.mu);
    return fake.annotators_alive == 0;
  })) << "turning the registry off stops the annotator";
}

}  // namespace
}  // namespace controllers::cluster
