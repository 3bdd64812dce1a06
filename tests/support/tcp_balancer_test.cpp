// The test load balancer: round-robin over live backends, refusing backends skipped, either side's
// close passed on, large transfers relayed whole, and every connection closed on destruction.
#include "tests/support/tcp_balancer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/eventually.h"
#include "tests/support/free_ports.h"
#include "tests/support/loopback_http.h"

namespace tds::test {
namespace {

// A backend on 127.0.0.1:0 that greets each connection with its name and a newline, then echoes
// what it reads until the client closes; close_all() closes its side of every connection.
class EchoBackend {
 public:
  explicit EchoBackend(std::string name) : name_(std::move(name)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_, 16);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~EchoBackend() {
    stop_ = true;
    acceptor_.join();
    close_all();
    for (auto& t : workers_) t.join();
    for (const int fd : fds_) ::close(fd);
    ::close(listener_);
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  // Shuts down its side of every connection: their echo loops see the end and stop.
  void close_all() {
    std::lock_guard lock(mu_);
    for (const int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd pfd{listener_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted_;
      std::lock_guard lock(mu_);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { echo(fd); });
    }
  }

  void echo(int fd) {
    const std::string greeting = name_ + "\n";
    ::send(fd, greeting.data(), greeting.size(), MSG_NOSIGNAL);
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      if (::send(fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
    }
  }

  std::string name_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_ = false;
  std::atomic<int> accepted_ = 0;
  std::mutex mu_;  // guards fds_ and workers_ (the acceptor adds, the test thread reads)
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// A client connection through the balancer, with a 10 s receive timeout so that a missing answer
// fails the test instead of hanging it.
class Client {
 public:
  explicit Client(int port) {
    fd_ = tds::test::connect_loopback(port, std::chrono::seconds(10));
    connected_ = fd_ >= 0;
  }
  ~Client() { close(); }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }

  // Reads up to and including the first newline; empty on end of stream or timeout.
  std::string line() {
    std::string out;
    char c;
    while (::read(fd_, &c, 1) == 1) {
      if (c == '\n') return out;
      out += c;
    }
    return {};
  }

  bool send_all(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

  std::string read_exactly(std::size_t n) {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
      const ssize_t got = ::read(fd_, buf, std::min(sizeof buf, n - out.size()));
      if (got <= 0) break;
      out.append(buf, static_cast<std::size_t>(got));
    }
    return out;
  }

  // True when the peer closed: a read returns end of stream (or the connection was reset).
  bool closed_by_peer() {
    char c;
    return ::read(fd_, &c, 1) <= 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

TEST(TcpBalancer, ForwardsRoundRobinOverLiveBackends) {
  EchoBackend a("a"), b("b");
  TcpBalancer balancer({a.endpoint(), b.endpoint()});
  ASSERT_TRUE(balancer.ok());
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(balancer.port()));
    ASSERT_TRUE(clients.back()->connected());
    names.push_back(clients.back()->line());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "a", "b"}));
  EXPECT_EQ(balancer.opened(0), 2u);
  EXPECT_EQ(balancer.open(1), 2u);
}

TEST(TcpBalancer, SkipsBackendsThatRefuse) {
  const auto unused = pick_free_ports(1);  // closed again: nothing listens there
  ASSERT_EQ(unused.size(), 1u);
  EchoBackend live("live");
  TcpBalancer balancer({"127.0.0.1:" + std::to_string(unused[0]), live.endpoint()});
  ASSERT_TRUE(balancer.ok());
  for (int i = 0; i < 3; ++i) {
    Client client(balancer.port());
    EXPECT_EQ(client.line(), "live");
  }
  EXPECT_EQ(balancer.opened(0), 0u);
  EXPECT_EQ(balancer.opened(1), 3u);
}

TEST(TcpBalancer, ClosesTheClientWhenNoBackendAccepts) {
  const auto unused = pick_free_ports(2);
  ASSERT_EQ(unused.size(), 2u);
  TcpBalancer balancer(
      {"127.0.0.1:" + std::to_string(unused[0]), "127.0.0.1:" + std::to_string(unused[1])});
  ASSERT_TRUE(balancer.ok());
  Client client(balancer.port());
  EXPECT_TRUE(client.closed_by_peer());
}

TEST(TcpBalancer, RelaysLargeTransfersWhole) {
  EchoBackend backend("echo");
  TcpBalancer balancer({backend.endpoint()});
  Client client(balancer.port());
  ASSERT_EQ(client.line(), "echo");
  std::string data(4 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 4096);
  // Written from another thread: the echo comes back while the rest is still being sent.
  std::thread writer([&] { EXPECT_TRUE(client.send_all(data)); });
  const std::string echoed = client.read_exactly(data.size());
  writer.join();
  EXPECT_TRUE(echoed == data) << "echoed " << echoed.size() << " of " << data.size() << " bytes";
}

TEST(TcpBalancer, PassesOnEitherSidesClose) {
  EchoBackend backend("echo");
  TcpBalancer balancer({backend.endpoint()});
  {
    // The client closes: the backend side is closed too.
    Client client(balancer.port());
    ASSERT_EQ(client.line(), "echo");
    EXPECT_EQ(balancer.open(0), 1u);
    client.close();
    EXPECT_TRUE(eventually([&] { return balancer.open(0) == 0; }));
  }
  {
    // The backend closes: the client reads the end.
    Client client(balancer.port());
    ASSERT_EQ(client.line(), "echo");
    backend.close_all();
    EXPECT_TRUE(client.closed_by_peer());
    EXPECT_TRUE(eventually([&] { return balancer.open(0) == 0; }));
  }
}

TEST(TcpBalancer, DestructionClosesEveryConnection) {
  EchoBackend backend("echo");
  auto balancer = std::make_unique<TcpBalancer>(std::vector<std::string>{backend.endpoint()});
  Client client(balancer->port());
  ASSERT_EQ(client.line(), "echo");
  balancer.reset();
  EXPECT_TRUE(client.closed_by_peer());
}

}  // namespace
}  // namespace tds::test
