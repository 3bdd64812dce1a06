// The Node informer and annotator against an in-memory Node API served over HTTPS on 127.0.0.1:
// list then watch, watching again where a stream ended, relisting after 410, backing off on
// errors, and the coalesced callback that never runs after destruction on its strand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <thread>

#include "kubernetes/node_annotator.h"
#include "kubernetes/node_informer.h"
#include "tests/kubernetes/support.h"
#include "tests/support/eventually.h"

namespace kubernetes {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;
using tds::test::eventually;
using ::testing::HasSubstr;
using SteadyClock = std::chrono::steady_clock;

const test::TestPki& pki() {
  static const test::TestPki instance;
  return instance;
}

// The owner's side: an io_context on a thread of its own, and the count of on_change calls.
class Owner {
 public:
  Owner() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Owner() {
    work_.reset();
    thread_.join();
  }
  asio::any_io_executor executor() { return io_.get_executor(); }
  std::function<void()> callback() {
    return [this] { ++changes_; };
  }
  int changes() const { return changes_; }
  // Runs `f` on the owner's thread and waits for it.
  template <class F>
  void run(F f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::atomic<int> changes_{0};
  std::thread thread_;
};

// A Node API with a few Nodes, served to admin credentials.
class InformerTest : public ::testing::Test {
 protected:
  InformerTest()
      : server_(
            pki().server, pki().ca.cert,
            [this](const test::FakeRequest& r, test::Responder& out) { nodes_.handle(r, out); }) {}

  Credentials credentials() const {
    Credentials c;
    c.server = server_.url();
    c.ca_pem = pki().ca.cert;
    c.token = "admin";
    c.description = "test";
    return c;
  }

  static InformerOptions fast(std::string selector = {}) {
    InformerOptions options;
    options.field_selector = std::move(selector);
    options.backoff_initial = milliseconds(50);
    options.backoff_max = milliseconds(400);
    return options;
  }

  std::unique_ptr<NodeInformer> start(InformerOptions options = fast()) {
    return start_node_informer(credentials(), std::move(options), owner_.executor(),
                               owner_.callback());
  }

  static std::vector<std::string> names(const NodeInformer& informer) {
    std::vector<std::string> out;
    const auto nodes = informer.nodes();  // held: a range-for over *nodes() would dangle
    for (const auto& [name, node] : *nodes) out.push_back(name);
    return out;
  }

  test::FakeNodes nodes_;
  test::FakeApiServer server_;
  Owner owner_;
};

using Names = std::vector<std::string>;

TEST_F(InformerTest, ListsThenFollowsEvents) {
  nodes_.put("a");
  nodes_.put("b", {{"k", "v"}});
  auto informer = start();
  EXPECT_NE(informer->nodes(), nullptr);
  ASSERT_TRUE(eventually([&] { return informer->synced(); }));
  EXPECT_EQ(names(*informer), (Names{"a", "b"}));
  EXPECT_EQ(informer->nodes()->at("b").annotations.at("k"), "v");
  EXPECT_TRUE(eventually([&] { return owner_.changes() >= 1; }));

  nodes_.put("c");
  nodes_.remove("a");
  nodes_.put("b", {{"k", "w"}});
  ASSERT_TRUE(eventually([&] {
    return names(*informer) == Names{"b", "c"} &&
           informer->nodes()->at("b").annotations.at("k") == "w";
  }));
  EXPECT_EQ(nodes_.lists(), 1);
  EXPECT_FALSE(informer->last_error());
}

TEST_F(InformerTest, FieldSelectorLimitsTheMirror) {
  nodes_.put("a");
  nodes_.put("b");
  auto informer = start(fast("metadata.name=b"));
  ASSERT_TRUE(eventually([&] { return informer->synced(); }));
  EXPECT_EQ(names(*informer), (Names{"b"}));
  nodes_.put("c");
  nodes_.put("b", {{"x", "y"}});
  ASSERT_TRUE(eventually([&] { return !informer->nodes()->at("b").annotations.empty(); }));
  EXPECT_EQ(names(*informer), (Names{"b"}));
}

TEST_F(InformerTest, WatchesAgainFromTheLastVersionWhenTheStreamEnds) {
  nodes_.put("a");
  auto informer = start();
  ASSERT_TRUE(eventually([&] { return informer->synced() && nodes_.watches() == 1; }));
  nodes_.put("b");
  ASSERT_TRUE(eventually([&] { return informer->nodes()->contains("b"); }));
  const std::string version = nodes_.version();
  nodes_.end_watches();
  ASSERT_TRUE(eventually([&] { return nodes_.watches() == 2; }));
  nodes_.put("c");
  ASSERT_TRUE(eventually([&] { return informer->nodes()->contains("c"); }));
  EXPECT_EQ(nodes_.lists(), 1);  // no relist
  const auto requests = server_.requests();
  EXPECT_EQ(requests.back().query("resourceVersion"), version);
  EXPECT_FALSE(informer->last_error());
}

TEST_F(InformerTest, RelistsAfterGone) {
  nodes_.put("a");
  auto informer = start();
  ASSERT_TRUE(eventually([&] { return informer->synced() && nodes_.watches() == 1; }));
  nodes_.put("b");
  ASSERT_TRUE(eventually([&] { return informer->nodes()->contains("b"); }));
  // "a" goes with no event a watch could replay, and the next watch starts from a version the
  // server no longer has: only a relist can notice.
  nodes_.remove("a", /*with_event=*/false);
  nodes_.expire_history();
  nodes_.end_watches();
  ASSERT_TRUE(eventually([&] { return nodes_.lists() == 2; }));
  ASSERT_TRUE(eventually([&] { return names(*informer) == Names{"b"}; }));
  EXPECT_FALSE(informer->last_error());
  EXPECT_TRUE(informer->synced());
}

TEST_F(InformerTest, BacksOffOnErrorsAndRecovers) {
  nodes_.put("a");
  nodes_.fail_next(4, 500);
  const auto start_time = SteadyClock::now();
  auto informer = start();
  ASSERT_TRUE(eventually([&] { return informer->last_error().has_value(); }));
  EXPECT_THAT(*informer->last_error(), HasSubstr("500 InternalError: injected failure"));
  EXPECT_FALSE(informer->synced());
  ASSERT_TRUE(eventually([&] { return informer->synced(); }));
  ASSERT_TRUE(eventually([&] { return nodes_.watches() == 1; }));
  // Four failures: at least 25 + 50 + 100 + 200 ms of backoff (each -50% at worst).
  EXPECT_GE(SteadyClock::now() - start_time, milliseconds(375));
  EXPECT_FALSE(informer->last_error());
  EXPECT_EQ(names(*informer), (Names{"a"}));
  EXPECT_EQ(server_.requests().size(), 6u);  // 4 failed lists, a list, a watch
}

TEST_F(InformerTest, ErrorAfterSyncMarksStaleUntilRelisted) {
  nodes_.put("a");
  auto informer = start();
  ASSERT_TRUE(eventually([&] { return informer->synced() && nodes_.watches() == 1; }));
  nodes_.fail_next(2, 503);
  nodes_.end_watches();  // the watch ends without an event: a short watch, then failures
  ASSERT_TRUE(eventually([&] { return !informer->synced(); }));
  ASSERT_TRUE(eventually([&] { return informer->synced() && !informer->last_error(); }));
  EXPECT_EQ(names(*informer), (Names{"a"}));
}

TEST_F(InformerTest, DestructionIsPromptEvenInBackoff) {
  nodes_.fail_next(1000, 500);
  InformerOptions options = fast();
  options.backoff_initial = seconds(30);
  options.backoff_max = seconds(60);
  auto informer = start(options);
  ASSERT_TRUE(eventually([&] { return informer->last_error().has_value(); }));
  const auto start_time = SteadyClock::now();
  informer.reset();
  EXPECT_LT(SteadyClock::now() - start_time, seconds(2));
}

TEST_F(InformerTest, NoCallbackAfterDestructionOnTheStrand) {
  for (int i = 0; i < 20; ++i) nodes_.put("n" + std::to_string(i));
  asio::io_context io;
  auto strand = asio::make_strand(io);
  std::atomic<bool> destroyed{false};
  std::atomic<int> late_calls{0};
  std::atomic<int> calls{0};
  std::unique_ptr<NodeInformer> informer = start_node_informer(credentials(), fast(), strand, [&] {
    ++calls;
    if (destroyed) ++late_calls;
  });
  auto work = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  // Keep changes coming so notifications are in flight when the informer goes.
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; writing; ++i) {
      nodes_.put("n" + std::to_string(i % 20), {{"i", std::to_string(i)}});
      std::this_thread::sleep_for(milliseconds(1));
    }
  });
  ASSERT_TRUE(eventually([&] { return calls > 5; }));
  std::promise<void> gone;
  asio::post(strand, [&] {
    informer.reset();
    destroyed = true;
    gone.set_value();
  });
  gone.get_future().wait();
  std::this_thread::sleep_for(milliseconds(100));
  writing = false;
  writer.join();
  work.reset();
  runner.join();
  EXPECT_EQ(late_calls, 0);
}

// The annotator keeps what was set on its Node, whatever happens to the Node.
class AnnotatorTest : public InformerTest {
 protected:
  std::unique_ptr<NodeAnnotator> start_annotator(const std::string& node) {
    return start_node_annotator(credentials(), node, fast(), owner_.executor(), owner_.callback());
  }
};

using Map = std::map<std::string, std::string>;

TEST_F(AnnotatorTest, PatchesWhenTheAnnotationsDiffer) {
  nodes_.put("node-1", {{"other", "x"}, {"stale", "y"}});
  auto annotator = start_annotator("node-1");
  annotator->set({{"talos/affiliate", "data"}, {"stale", std::nullopt}});
  ASSERT_TRUE(eventually([&] { return annotator->applied(); }));
  EXPECT_EQ(nodes_.annotations("node-1"), (Map{{"other", "x"}, {"talos/affiliate", "data"}}));
  EXPECT_FALSE(annotator->last_error());
  // Only its own Node is watched.
  for (const auto& r : server_.requests()) {
    if (r.method == "GET") {
      EXPECT_EQ(r.query("fieldSelector"), "metadata.name=node-1");
    }
  }
  // Nothing differs any more: no more patches.
  const int patches = nodes_.patches();
  nodes_.put("node-2");
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(nodes_.patches(), patches);
}

TEST_F(AnnotatorTest, NothingToDoMeansNoPatch) {
  nodes_.put("node-1", {{"a", "1"}});
  auto annotator = start_annotator("node-1");
  annotator->set({{"a", "1"}, {"b", std::nullopt}});
  ASSERT_TRUE(eventually([&] { return annotator->applied(); }));
  EXPECT_EQ(nodes_.patches(), 0);
}

TEST_F(AnnotatorTest, WaitsForAMissingNodeThenPutsItBack) {
  auto annotator = start_annotator("node-1");
  annotator->set({{"a", "1"}});
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(annotator->applied());
  EXPECT_FALSE(annotator->last_error());  // waiting is not an error
  EXPECT_EQ(nodes_.patches(), 0);

  nodes_.put("node-1");
  ASSERT_TRUE(eventually([&] { return nodes_.annotations("node-1") == Map{{"a", "1"}}; }));
  ASSERT_TRUE(eventually([&] { return annotator->applied(); }));

  // Edited away: put back.
  nodes_.put("node-1", {{"a", "edited"}});
  ASSERT_TRUE(eventually([&] { return nodes_.annotations("node-1") == Map{{"a", "1"}}; }));

  // Deleted and re-created (a new uid): put back.
  nodes_.remove("node-1");
  ASSERT_TRUE(eventually([&] { return !annotator->applied(); }));
  nodes_.put("node-1", {}, "uid-2");
  ASSERT_TRUE(eventually([&] { return nodes_.annotations("node-1") == Map{{"a", "1"}}; }));
  ASSERT_TRUE(eventually([&] { return annotator->applied(); }));

  // A new wish.
  annotator->set({{"a", std::nullopt}, {"b", "2"}});
  ASSERT_TRUE(eventually([&] { return nodes_.annotations("node-1") == Map{{"b", "2"}}; }));
  ASSERT_TRUE(eventually([&] { return annotator->applied(); }));
}

TEST_F(AnnotatorTest, PatchErrorsBackOffAndClear) {
  nodes_.put("node-1");
  auto annotator = start_annotator("node-1");
  ASSERT_TRUE(eventually([&] { return nodes_.watches() == 1; }));
  nodes_.fail_next(3, 500);
  annotator->set({{"a", "1"}});
  ASSERT_TRUE(eventually([&] { return annotator->last_error().has_value(); }));
  EXPECT_THAT(*annotator->last_error(),
              HasSubstr("PATCH " + server_.url() + "/api/v1/nodes/node-1: 500 InternalError"));
  ASSERT_TRUE(eventually([&] { return annotator->applied(); }));
  EXPECT_FALSE(annotator->last_error());
  EXPECT_EQ(nodes_.annotations("node-1"), (Map{{"a", "1"}}));
}

TEST_F(AnnotatorTest, DestructionIsPrompt) {
  nodes_.put("node-1");
  auto annotator = start_annotator("node-1");
  annotator->set({{"a", "1"}});
  ASSERT_TRUE(eventually([&] { return annotator->applied(); }));
  const auto start_time = SteadyClock::now();
  annotator.reset();
  EXPECT_LT(SteadyClock::now() - start_time, seconds(2));
}

}  // namespace
}  // namespace kubernetes
