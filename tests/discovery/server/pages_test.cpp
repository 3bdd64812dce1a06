// The landing site and metrics routes over a real HTTP server on 127.0.0.1:0.
#include "discovery/server/pages.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "discovery/server/state.h"
#include "tests/discovery/server/manual_clock.h"

namespace discovery::server {
namespace {

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

// One HTTP/1.0-style exchange: send `request`, read until the server closes.
Reply http_exchange(int port, const std::string& request) {
  Reply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    std::string raw;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, n);
    auto split = raw.find("\r\n\r\n");
    if (raw.starts_with("HTTP/1.1 ") && split != std::string::npos) {
      reply.status = std::stoi(raw.substr(9, 3));
      reply.head = raw.substr(0, split);
      reply.body = raw.substr(split + 4);
    }
  }
  ::close(fd);
  return reply;
}

Reply get(int port, const std::string& target, const std::string& method = "GET") {
  return http_exchange(port,
                       method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

class PagesTest : public ::testing::Test {
 protected:
  void start(LandingOptions options) {
    server_ = start_http_server("127.0.0.1:0", landing_handler(state_, options));
  }

  test::ManualClock clock_;
  State state_{clock_};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(PagesTest, LandingStatsAndHealth) {
  state_.update({"c1", "a1", "d", {}, std::chrono::minutes(1)});
  state_.update({"c2", "b1", "d", {}, std::chrono::minutes(1)});
  start({});
  Reply index = get(server_->port(), "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("AES-GCM"), std::string::npos);
  Reply stats = get(server_->port(), "/stats");
  EXPECT_EQ(stats.status, 200);
  EXPECT_EQ(stats.body, "{\"affiliates\":2}");
  EXPECT_NE(stats.head.find("Access-Control-Allow-Origin: *"), std::string::npos) << stats.head;
  EXPECT_NE(stats.head.find("application/json"), std::string::npos);
  EXPECT_EQ(get(server_->port(), "/healthz").body, "ok\n");
  EXPECT_EQ(get(server_->port(), "/nope").status, 404);
  EXPECT_EQ(get(server_->port(), "/", "POST").status, 405);
  Reply head = get(server_->port(), "/stats", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST_F(PagesTest, HealthzFollowsTheListenerProbe) {
  bool healthy = true;
  start({.healthy = [&] { return healthy; }});
  EXPECT_EQ(get(server_->port(), "/healthz").status, 200);
  healthy = false;
  Reply down = get(server_->port(), "/healthz");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.body, "grpc listener not answering\n");
}

TEST_F(PagesTest, InspectIsOptInEscapedAndCreatesNothing) {
  state_.update({"a+b/c=", "<script>", "\x01\x02", {"\xff"}, std::chrono::minutes(1)});
  start({});
  EXPECT_EQ(get(server_->port(), "/inspect?clusterID=x").status, 404);
  server_.reset();
  start({.enable_inspect = true});
  Reply page = get(server_->port(), "/inspect?clusterID=a%2Bb%2Fc%3D");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("&lt;script&gt;"), std::string::npos) << page.body;
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("<code>0102</code>"), std::string::npos);
  EXPECT_NE(page.body.find("<code>ff</code>"), std::string::npos);
  EXPECT_EQ(get(server_->port(), "/inspect?clusterID=unknown").status, 200);
  EXPECT_EQ(state_.stats().clusters, 1u) << "a read created a cluster";
}

TEST_F(PagesTest, GarbageAndOversizeRequestsAreDropped) {
  start({});
  EXPECT_EQ(http_exchange(server_->port(), "NOT HTTP\r\n\r\n").status, 0);
  const std::string oversize = "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(http_exchange(server_->port(), oversize).status, 0);
  EXPECT_EQ(get(server_->port(), "/healthz").status, 200) << "the server survives";
}

TEST(Metrics, EndpointServesRender) {
  auto server =
      start_http_server("127.0.0.1:0", metrics_handler([] { return std::string("m 1\n"); }));
  Reply reply = get(server->port(), "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.body.starts_with("m 1\n# HELP process_cpu_seconds_total ")) << reply.body;
  EXPECT_NE(reply.body.find("\nprocess_resident_memory_bytes "), std::string::npos)
      << "the process_* families follow the service's own";
  EXPECT_NE(reply.head.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(get(server->port(), "/").status, 404);
}

TEST(QueryParam, Decoding) {
  EXPECT_EQ(query_param("/i?clusterID=a%2Bb+c", "clusterID"), "a+b c");
  EXPECT_EQ(query_param("/i?x=1&clusterID=", "clusterID"), "");
  EXPECT_EQ(query_param("/i?x=1", "clusterID"), std::nullopt);
  EXPECT_EQ(query_param("/i?clusterID=%zz", "clusterID"), std::nullopt);
  EXPECT_EQ(query_param("/i?clusterID=%2", "clusterID"), std::nullopt);
}

}  // namespace
}  // namespace discovery::server
