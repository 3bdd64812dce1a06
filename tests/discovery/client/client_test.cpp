// The discovery client against our discovery-service running in-process on 127.0.0.1 (ephemeral
// ports): discovery, update, delete, wrong keys, garbage from the wire, endpoint-only updates,
// redirect, server restart and TTL refresh.
#include "discovery/client/client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange under C++20

#include "discovery/crypto/cipher.h"
#include "discovery/server.grpc.pb.h"
#include "discovery/server/service.h"
#include "discovery/server/state.h"

namespace discovery::client {
namespace {

namespace asio = boost::asio;
namespace spb = ::sidero::discovery::server;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kCluster = "test-cluster";
const std::string kKey(32, 'k');
const std::string kOtherKey(32, 'o');
constexpr auto kDeadline = seconds(15);

pb::Endpoint endpoint(std::string ip, std::uint32_t port) {
  pb::Endpoint e;
  e.set_ip(std::move(ip));
  e.set_port(port);
  return e;
}

Affiliate local(const std::string& node_id, const std::string& hostname,
                std::vector<pb::Endpoint> endpoints = {}) {
  Affiliate a;
  a.data.set_node_id(node_id);
  a.data.set_hostname(hostname);
  a.data.set_nodename(hostname);
  a.data.set_machine_type("worker");
  a.data.add_addresses(std::string("\x0a\x00\x00\x01", 4));
  a.endpoints = std::move(endpoints);
  return a;
}

// The discovery-service on 127.0.0.1; restart() keeps the port and starts from an empty registry.
class TestServer {
 public:
  explicit TestServer(std::string redirect = "", std::string cert_path = "",
                      std::string key_path = "")
      : redirect_(std::move(redirect)),
        cert_path_(std::move(cert_path)),
        key_path_(std::move(key_path)) {
    start(0);
  }

  void restart() {
    int port = server_->port();
    server_->shutdown();
    server_.reset();
    state_ = std::make_unique<server::State>(clock_);
    start(port);
  }

  int port() const { return server_->port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  server::State& state() { return *state_; }

  std::map<std::string, server::AffiliatePtr> list() {
    std::map<std::string, server::AffiliatePtr> out;
    for (auto& a : state_->list(kCluster)) out.emplace(a->id, a);
    return out;
  }

 private:
  void start(int port) {
    server::ServerOptions options;
    options.address = "127.0.0.1:" + std::to_string(port);
    options.service.redirect_endpoint = redirect_;
    options.certificate_path = cert_path_;
    options.key_path = key_path_;
    server_ = server::start_server(*state_, options);
  }

  std::string redirect_;
  std::string cert_path_;
  std::string key_path_;
  server::SteadyClock clock_;
  std::unique_ptr<server::State> state_ = std::make_unique<server::State>(clock_);
  std::unique_ptr<server::Server> server_;
};

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() : work_(asio::make_work_guard(io_)), notify_thread_([this] { io_.run(); }) {}

  ~ClientTest() override {
    clients_.clear();
    work_.reset();
    notify_thread_.join();
  }

  Client& start(const std::string& endpoint, const std::string& affiliate_id,
                const std::string& key = kKey,
                std::chrono::nanoseconds ttl = std::chrono::minutes(30)) {
    Options options;
    options.insecure = true;
    return start(std::move(options), endpoint, affiliate_id, key, ttl);
  }

  Client& start(Options options, const std::string& endpoint, const std::string& affiliate_id,
                const std::string& key = kKey,
                std::chrono::nanoseconds ttl = std::chrono::minutes(30)) {
    options.endpoint = endpoint;
    options.cluster_id = kCluster;
    options.affiliate_id = affiliate_id;
    options.key = key;
    options.client_version = "v1.8.0";
    options.ttl = ttl;
    options.backoff_initial = milliseconds(50);
    options.backoff_max = milliseconds(500);
    clients_.push_back(start_client(std::move(options), io_.get_executor(), [this] {
      {
        std::lock_guard lock(mu_);
        ++notifications_;
      }
      cv_.notify_all();
    }));
    return *clients_.back();
  }

  // Waits for `pred`, re-checking on every change notification and at least every 50 ms (for
  // conditions on the server side, which send no notification).
  template <typename Pred>
  bool eventually(Pred pred, std::chrono::nanoseconds timeout = kDeadline) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mu_);
    while (true) {
      lock.unlock();
      bool done = pred();
      lock.lock();
      if (done) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      cv_.wait_for(lock, milliseconds(50));
    }
  }

  static std::shared_ptr<const Affiliate> find(const Client& client, const std::string& id) {
    auto map = client.affiliates();
    auto it = map->find(id);
    return it == map->end() ? nullptr : it->second;
  }

  static bool sees_hostname(const Client& client, const std::string& id,
                            const std::string& hostname) {
    auto a = find(client, id);
    return a != nullptr && a->data.hostname() == hostname;
  }

  int notifications() {
    std::lock_guard lock(mu_);
    return notifications_;
  }

  asio::io_context io_;  // the "controller" executor that receives notifications
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread notify_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  int notifications_ = 0;
  std::vector<std::unique_ptr<Client>> clients_;
};

TEST_F(ClientTest, RejectsUnusableOptions) {
  Options options;
  options.endpoint = "127.0.0.1:1";
  options.cluster_id = kCluster;
  options.affiliate_id = "a";
  options.key = std::string(31, 'k');
  EXPECT_THROW(start_client(options, io_.get_executor(), [] {}), crypto::KeyError);
  options.key = kKey;
  options.ttl = seconds(0);
  EXPECT_THROW(start_client(options, io_.get_executor(), [] {}), std::invalid_argument);
  options.ttl = seconds(10);
  options.affiliate_id.clear();
  EXPECT_THROW(start_client(options, io_.get_executor(), [] {}), std::invalid_argument);
}

TEST_F(ClientTest, StopsPromptlyWhileServerIsUnreachable) {
  // Nothing listens on port 1: Hello keeps failing and the client keeps backing off.
  auto& client = start("127.0.0.1:1", "a");
  client.set_local_data(local("a", "host-a"), {});
  clients_.clear();  // must cancel the backoff wait and in-flight calls, not hang
  EXPECT_EQ(notifications(), 0);
}

TEST_F(ClientTest, TwoClientsDiscoverUpdateAndDelete) {
  TestServer server;
  auto& a = start(server.address(), "a");
  auto& b = start(server.address(), "b");
  a.set_local_data(local("a", "host-a", {endpoint(std::string("\x0a\x00\x00\x01", 4), 51820)}), {});
  b.set_local_data(local("b", "host-b"), {});

  ASSERT_TRUE(eventually([&] { return sees_hostname(a, "b", "host-b"); }));
  ASSERT_TRUE(eventually([&] { return sees_hostname(b, "a", "host-a"); }));
  EXPECT_EQ(a.affiliates()->size(), 1u) << "a client never lists itself";
  auto seen = find(b, "a");
  ASSERT_EQ(seen->endpoints.size(), 1u);
  EXPECT_EQ(seen->endpoints[0].port(), 51820u);
  EXPECT_EQ(seen->data.addresses(0), std::string("\x0a\x00\x00\x01", 4));
  EXPECT_EQ(a.public_ip(), std::string("\x7f\x00\x00\x01", 4));
  // The owner hears of it shortly after (the wake-up is delayed to coalesce bursts).
  EXPECT_TRUE(eventually([&] { return notifications() > 0; }));

  a.set_local_data(local("a", "host-a2"), {});
  EXPECT_TRUE(eventually([&] { return sees_hostname(b, "a", "host-a2"); }));

  EXPECT_FALSE(a.left());
  a.delete_local_affiliate();
  EXPECT_TRUE(eventually([&] { return find(b, "a") == nullptr; }));
  EXPECT_TRUE(eventually([&] { return server.list().count("a") == 0; }));
  EXPECT_TRUE(sees_hostname(a, "b", "host-b"));
  // left() follows the service's acknowledgement, and new data clears it.
  EXPECT_TRUE(eventually([&] { return a.left(); }));
  a.set_local_data(local("a", "host-a3"), {});
  EXPECT_TRUE(eventually([&] { return !a.left() && sees_hostname(b, "a", "host-a3"); }));
}

TEST_F(ClientTest, LeftStaysFalseWhileTheServiceIsUnreachable) {
  auto& client = start("127.0.0.1:1", "a");
  client.delete_local_affiliate();
  const int before = notifications();
  // Several failed attempts at 50..500 ms backoff; none may count as having left.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_FALSE(client.left());
  EXPECT_EQ(notifications(), before);
}

TEST_F(ClientTest, WrongKeyDataIsSkippedAndNeverLeaks) {
  TestServer server;
  auto& a = start(server.address(), "a", kKey);
  auto& b = start(server.address(), "b", kKey);
  auto& c = start(server.address(), "c", kOtherKey);
  auto& d = start(server.address(), "d", kOtherKey);
  a.set_local_data(local("a", "host-a"), {});
  b.set_local_data(local("b", "host-b"), {});
  c.set_local_data(local("c", "host-c"), {});
  d.set_local_data(local("d", "host-d"), {});
  ASSERT_TRUE(eventually([&] { return sees_hostname(a, "b", "host-b"); }));
  ASSERT_TRUE(eventually([&] { return sees_hostname(c, "d", "host-d"); }));
  ASSERT_TRUE(eventually([&] { return server.list().size() == 4; }));

  // The server orders each cluster's notifications: once these later updates arrive, every
  // earlier record (the other group's) has been received and skipped.
  b.set_local_data(local("b", "host-b2"), {});
  d.set_local_data(local("d", "host-d2"), {});
  ASSERT_TRUE(eventually([&] { return sees_hostname(a, "b", "host-b2"); }));
  ASSERT_TRUE(eventually([&] { return sees_hostname(c, "d", "host-d2"); }));
  EXPECT_EQ(a.affiliates()->size(), 1u);
  EXPECT_EQ(c.affiliates()->size(), 1u);
  EXPECT_EQ(find(a, "c"), nullptr);
  EXPECT_EQ(find(c, "a"), nullptr);

  // What the server holds is ciphertext.
  for (const auto& [id, record] : server.list()) {
    EXPECT_EQ(record->data.find("host-"), std::string::npos) << id;
  }
}

TEST_F(ClientTest, GarbageFromTheWireIsSkipped) {
  TestServer server;
  auto& a = start(server.address(), "a");
  auto& b = start(server.address(), "b");
  const std::string good_ip("\x0a\x00\x00\x07", 4);
  a.set_local_data(local("a", "host-a", {endpoint(good_ip, 1)}), {});
  b.set_local_data(local("b", "host-b"), {});
  ASSERT_TRUE(eventually([&] { return sees_hostname(b, "a", "host-a"); }));

  // Another writer in the cluster: short data, random data, and bad endpoints on a's record.
  const crypto::Cipher right(kKey);
  auto stub = spb::Cluster::NewStub(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  auto raw_update = [&](const std::string& id, const std::string& data,
                        std::vector<std::string> endpoints) {
    spb::AffiliateUpdateRequest req;
    req.set_cluster_id(kCluster);
    req.set_affiliate_id(id);
    if (!data.empty()) req.set_affiliate_data(data);
    for (auto& e : endpoints) req.add_affiliate_endpoints(e);
    req.mutable_ttl()->set_seconds(60);
    grpc::ClientContext ctx;
    spb::AffiliateUpdateResponse resp;
    ASSERT_TRUE(stub->AffiliateUpdate(&ctx, req, &resp).ok());
  };
  raw_update("short", "tiny", {});
  raw_update("random", std::string(64, '\x5a'), {std::string(16, '\x01')});
  raw_update("not-proto", right.seal("\x0a\x7f"), {});
  std::string bad_length =
      right.encrypt_blocks(std::string(15, '\0') + "\xf0" + std::string(15, '\0')).substr(16);
  raw_update("a", "", {std::string(15, '\x02'), bad_length, right.encrypt_blocks("\x0a\x09zz")});

  a.set_local_data(local("a", "host-a2", {endpoint(good_ip, 1)}), {});
  ASSERT_TRUE(eventually([&] { return sees_hostname(b, "a", "host-a2"); }));
  auto map = b.affiliates();
  EXPECT_EQ(map->size(), 1u) << "only a decrypts";
  auto seen = map->at("a");
  ASSERT_EQ(seen->endpoints.size(), 1u) << "bad endpoints are skipped one by one";
  EXPECT_EQ(seen->endpoints[0].ip(), good_ip);
  EXPECT_EQ(server.list().at("a")->endpoints.size(), 4u);
}

TEST_F(ClientTest, ObservedEndpointsOfOthersAreMergedIntoTheirRecord) {
  TestServer server;
  auto& a = start(server.address(), "a");
  auto& b = start(server.address(), "b");
  const std::string own_ip("\x0a\x00\x00\x02", 4);
  const std::string observed_ip("\x01\x01\x01\x01", 4);
  b.set_local_data(local("b", "host-b", {endpoint(own_ip, 51820)}), {});
  a.set_local_data(local("a", "host-a"), {{"b", {endpoint(observed_ip, 343)}}});

  ASSERT_TRUE(eventually([&] {
    auto seen = find(a, "b");
    return seen != nullptr && seen->endpoints.size() == 2;
  }));
  // Which write reaches the server first is a race, so the order is not fixed.
  std::set<std::pair<std::string, std::uint32_t>> got;
  for (const auto& e : find(a, "b")->endpoints) got.emplace(e.ip(), e.port());
  EXPECT_EQ(got,
            (std::set<std::pair<std::string, std::uint32_t>>{{own_ip, 51820}, {observed_ip, 343}}));
  EXPECT_TRUE(eventually([&] {
    auto seen_by_b = find(b, "a");
    return seen_by_b != nullptr && seen_by_b->endpoints.empty();
  }));
}

TEST_F(ClientTest, FollowsHelloRedirect) {
  TestServer target;
  TestServer redirecting(target.address());
  auto& a = start(redirecting.address(), "a");
  auto& b = start(target.address(), "b");
  a.set_local_data(local("a", "host-a"), {});
  b.set_local_data(local("b", "host-b"), {});

  ASSERT_TRUE(eventually([&] { return sees_hostname(b, "a", "host-a"); }));
  ASSERT_TRUE(eventually([&] { return sees_hostname(a, "b", "host-b"); }));
  EXPECT_EQ(a.endpoint(), target.address());
  EXPECT_EQ(b.endpoint(), target.address());
  EXPECT_TRUE(redirecting.list().empty()) << "nothing was published to the redirecting server";
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST_F(ClientTest, TlsWithCustomRootsOrSkipVerify) {
  auto dir =
      std::filesystem::temp_directory_path() / ("tds-client-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto cert = (dir / "cert.pem").string();
  auto key = (dir / "key.pem").string();
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
      "/CN=discovery-test -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) GTEST_SKIP() << "openssl command line tool unavailable";

  TestServer server("", cert, key);
  Options trusting;
  trusting.ca_pem = read_all(cert);
  Options skipping;
  skipping.skip_verify = true;
  auto& a = start(trusting, server.address(), "a");
  auto& b = start(skipping, server.address(), "b");
  auto& c = start(Options{}, server.address(), "c");  // system roots: the handshake fails
  a.set_local_data(local("a", "host-a"), {});
  b.set_local_data(local("b", "host-b"), {});
  c.set_local_data(local("c", "host-c"), {});
  ASSERT_TRUE(eventually([&] { return sees_hostname(a, "b", "host-b"); }));
  ASSERT_TRUE(eventually([&] { return sees_hostname(b, "a", "host-a"); }));
  EXPECT_EQ(server.list().count("c"), 0u);
  EXPECT_TRUE(c.public_ip().empty());
  EXPECT_TRUE(c.affiliates()->empty());
  clients_.clear();
  std::filesystem::remove_all(dir);
}

TEST_F(ClientTest, ConvergesAgainAfterServerRestart) {
  TestServer server;
  auto& a = start(server.address(), "a");
  auto& b = start(server.address(), "b");
  a.set_local_data(local("a", "host-a"), {});
  b.set_local_data(local("b", "host-b"), {});
  ASSERT_TRUE(eventually([&] { return sees_hostname(b, "a", "host-a"); }));
  ASSERT_TRUE(eventually([&] { return sees_hostname(a, "b", "host-b"); }));

  server.restart();  // same port, empty registry: the clients must publish again on their own
  ASSERT_TRUE(eventually([&] { return server.list().size() == 2; }));
  a.set_local_data(local("a", "host-a-after"), {});
  EXPECT_TRUE(eventually([&] { return sees_hostname(b, "a", "host-a-after"); }));
  EXPECT_TRUE(sees_hostname(a, "b", "host-b"));
}

TEST_F(ClientTest, RefreshesBeforeTheTtlRunsOut) {
  TestServer server;
  auto& a = start(server.address(), "a", kKey, seconds(2));  // refresh every second
  a.set_local_data(local("a", "host-a"), {});
  ASSERT_TRUE(eventually([&] { return server.list().count("a") == 1; }));

  // Our server announces no unchanged refreshes, so check the effect: over twice the TTL, with
  // garbage collected every 100 ms, the record never expires.
  auto until = std::chrono::steady_clock::now() + seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    server.state().collect_garbage();
    ASSERT_EQ(server.list().count("a"), 1u);
    std::this_thread::sleep_for(milliseconds(100));
  }

  // Once the client is gone nothing refreshes: the record expires (no delete is sent on stop).
  clients_.clear();
  EXPECT_TRUE(server.list().count("a") == 1) << "stopping does not delete";
  EXPECT_TRUE(eventually([&] {
    server.state().collect_garbage();
    return server.list().count("a") == 0;
  }));
}

}  // namespace
}  // namespace discovery::client
