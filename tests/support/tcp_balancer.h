// A TCP load balancer for tests on 127.0.0.1: clients connect to one port and each new connection
// is forwarded to the next live backend (round-robin, skipping backends that refuse), so clients
// of a killed server reconnect to another one as they would behind a real balancer.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tds::test {

class TcpBalancer {
 public:
  // `backends` are "127.0.0.1:port" (IPv4 host:port). ok() says whether the listener is up.
  explicit TcpBalancer(const std::vector<std::string>& backends) {
    for (const auto& endpoint : backends) {
      auto address = parse(endpoint);
      if (!address) return;
      backends_.push_back(*address);
    }
    opened_.assign(backends_.size(), 0);
    open_.assign(backends_.size(), 0);
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (listener_ < 0 || wake_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 128) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  // Closes the listener and every forwarded connection (both sides), then joins the thread.
  ~TcpBalancer() {
    if (thread_.joinable()) {
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
      thread_.join();
    }
    for (auto& c : connections_) close_both(c);
    if (listener_ >= 0) ::close(listener_);
    if (wake_ >= 0) ::close(wake_);
  }

  TcpBalancer(const TcpBalancer&) = delete;
  TcpBalancer& operator=(const TcpBalancer&) = delete;

  bool ok() const { return port_ != 0; }
  int port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  // Connections forwarded to backend i so far, and those of them still open.
  std::size_t opened(std::size_t i) const {
    std::lock_guard lock(mu_);
    return opened_.at(i);
  }
  std::size_t open(std::size_t i) const {
    std::lock_guard lock(mu_);
    return open_.at(i);
  }

 private:
  // Bytes read from one side and not yet written to the other; reading stops while it is full,
  // so a slow reader slows its writer down as a direct connection would.
  static constexpr std::size_t kBufferLimit = 256 * 1024;

  struct Connection {
    int client = -1;
    int backend = -1;
    std::size_t index = 0;   // of the backend
    std::string to_backend;  // read from the client
    std::string to_client;   // read from the backend
  };

  static std::optional<sockaddr_in> parse(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (::inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
      return std::nullopt;
    }
    try {
      addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1))));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    return addr;
  }

  // A connected socket to the next backend that accepts, or -1 when none does. Backends are on
  // loopback: a dead one refuses at once, so a blocking connect does not stall the loop.
  int connect_next(std::size_t& index) {
    for (std::size_t tried = 0; tried < backends_.size(); ++tried) {
      index = next_;
      next_ = (next_ + 1) % backends_.size();
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return -1;
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&backends_[index]),
                    sizeof backends_[index]) == 0) {
        return fd;
      }
      ::close(fd);
    }
    return -1;
  }

  static void prepare(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  void accept_all() {
    while (true) {
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) return;  // EAGAIN: nothing more waiting (or an error worth no retry)
      std::size_t index = 0;
      const int backend = connect_next(index);
      if (backend < 0) {
        ::close(client);
        continue;
      }
      prepare(client);
      prepare(backend);
      connections_.push_back(Connection{client, backend, index, {}, {}});
      std::lock_guard lock(mu_);
      ++opened_[index];
      ++open_[index];
    }
  }

  // Reads what `from` has into `buffer`; false on end of stream or an error.
  static bool fill(int from, std::string& buffer) {
    char chunk[16384];
    while (buffer.size() < kBufferLimit) {
      const ssize_t n = ::read(from, chunk, sizeof chunk);
      if (n > 0) {
        buffer.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    return true;
  }

  // Writes as much of `buffer` to `to` as it takes; false on an error.
  static bool drain(int to, std::string& buffer) {
    while (!buffer.empty()) {
      const ssize_t n = ::send(to, buffer.data(), buffer.size(), MSG_NOSIGNAL);
      if (n > 0) {
        buffer.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    return true;
  }

  void close_both(Connection& c) {
    if (c.client >= 0) ::close(c.client);
    if (c.backend >= 0) ::close(c.backend);
    c.client = c.backend = -1;
    std::lock_guard lock(mu_);
    --open_[c.index];
  }

  // The balancer's thread: one poll over the listener, the wake-up and both sides of each
  // connection.
  void run() {
    std::vector<pollfd> fds;
    while (true) {
      fds.clear();
      fds.push_back({wake_, POLLIN, 0});
      fds.push_back({listener_, POLLIN, 0});
      for (const auto& c : connections_) {
        const short client_events =
            static_cast<short>((c.to_backend.size() < kBufferLimit ? POLLIN : 0) |
                               (c.to_client.empty() ? 0 : POLLOUT));
        const short backend_events =
            static_cast<short>((c.to_client.size() < kBufferLimit ? POLLIN : 0) |
                               (c.to_backend.empty() ? 0 : POLLOUT));
        fds.push_back({c.client, client_events, 0});
        fds.push_back({c.backend, backend_events, 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
      if (fds[0].revents != 0) return;
      std::size_t at = 2;
      for (auto it = connections_.begin(); it != connections_.end(); at += 2) {
        const short client = fds[at].revents;
        const short backend = fds[at + 1].revents;
        bool alive = true;
        // What one side sent before it closed goes to the other as far as it takes it at once;
        // then both are closed.
        if (client & (POLLIN | POLLHUP | POLLERR)) alive = fill(it->client, it->to_backend);
        if (backend & (POLLIN | POLLHUP | POLLERR)) {
          alive = fill(it->backend, it->to_client) && alive;
        }
        const bool wrote = drain(it->backend, it->to_backend) && drain(it->client, it->to_client);
        if (!alive || !wrote) {
          close_both(*it);
          it = connections_.erase(it);
        } else {
          ++it;
        }
      }
      if (fds[1].revents & POLLIN) accept_all();
    }
  }

  std::vector<sockaddr_in> backends_;
  int listener_ = -1;
  int wake_ = -1;  // written once by the destructor to stop the thread
  int port_ = 0;
  std::size_t next_ = 0;               // balancer thread only: the backend to try first
  std::list<Connection> connections_;  // balancer thread only (the destructor after the join)
  mutable std::mutex mu_;              // guards opened_ and open_
  std::vector<std::size_t> opened_;
  std::vector<std::size_t> open_;
  std::thread thread_;
};

}  // namespace tds::test
