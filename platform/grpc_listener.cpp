#include "platform/grpc_listener.h"

#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "platform/tcp_listener.h"

namespace platform {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Dead connections are forgotten this often, and at most this often when the total cap is hit.
constexpr auto kSweepInterval = std::chrono::seconds(1);
// Refusals are logged at most this often, with the count since the last line.
constexpr auto kRefusalLogInterval = std::chrono::seconds(10);

// A connection handed to gRPC, which closes its descriptor whenever the connection ends and
// tells nobody. The descriptor number alone may have been reused since; the socket's inode
// identifies the connection itself.
struct Handoff {
  int fd;
  dev_t device;
  ino_t inode;

  bool open() const {
    struct stat now {};
    return ::fstat(fd, &now) == 0 && now.st_dev == device && now.st_ino == inode;
  }
};

class AsioGrpcListener final : public GrpcListener {
 public:
  AsioGrpcListener(grpc::ServerBuilder& builder, const std::string& address,
                   std::shared_ptr<grpc::ServerCredentials> credentials, ConnectionLimits limits,
                   std::string surface)
      : acceptor_(listen_tcp(io_.get_executor(), address), surface),
        gate_(builder.experimental().AddExternalConnectionAcceptor(
            grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
            std::move(credentials))),
        limits_(limits),
        surface_(std::move(surface)) {}

  ~AsioGrpcListener() override { stop(); }

  int port() const override { return acceptor_.port(); }

  ListenerCounts counts() const override {
    return {accepted_.load(std::memory_order_relaxed),
            refused_total_.load(std::memory_order_relaxed),
            refused_per_address_.load(std::memory_order_relaxed)};
  }

  void start() override {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    asio::co_spawn(io_, sweep_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    asio::post(io_, [this] {
      // The timer may have fired already, its wake-up queued with success: cancel() then finds
      // nothing to cancel, so the loop must also see `closing_` or it would re-arm for ever.
      closing_ = true;
      acceptor_.close();
      sweep_timer_.cancel();
    });
    if (thread_.joinable()) thread_.join();
  }

 private:
  enum class Cap { kTotal, kPerAddress };

  asio::awaitable<void> accept_loop() {
    while (auto accepted = co_await acceptor_.next()) {
      boost::system::error_code ec;
      const auto peer = accepted->remote_endpoint(ec).address();
      if (ec) continue;  // already gone
      if (auto cap = over_cap(peer)) {
        refuse(*cap, peer);
        continue;  // closing the socket refuses the client
      }
      hand_off(std::move(*accepted), peer);
    }
  }

  asio::awaitable<void> sweep_loop() {
    for (;;) {
      sweep_timer_.expires_after(kSweepInterval);
      boost::system::error_code ec;
      co_await sweep_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec || closing_) co_return;
      sweep_all();
    }
  }

  // Which cap a new connection from `peer` would exceed, counting only connections still open.
  std::optional<Cap> over_cap(const asio::ip::address& peer) {
    if (limits_.per_address != 0) {
      auto found = open_.find(peer);
      if (found != open_.end() && found->second.size() >= limits_.per_address) {
        sweep(found->second);
        if (found->second.size() >= limits_.per_address) return Cap::kPerAddress;
      }
    }
    if (limits_.total != 0 && total_ >= limits_.total) {
      // A full sweep is O(open connections): at most once per interval while at the cap.
      if (Clock::now() - last_sweep_ >= kSweepInterval) sweep_all();
      if (total_ >= limits_.total) return Cap::kTotal;
    }
    return std::nullopt;
  }

  void hand_off(tcp::socket socket, const asio::ip::address& peer) {
    boost::system::error_code ec;
    // gRPC's transport expects a non-blocking socket; small HTTP/2 frames must not wait.
    socket.non_blocking(true, ec);
    if (!ec) socket.set_option(tcp::no_delay(true), ec);
    struct stat identity {};
    if (ec || ::fstat(socket.native_handle(), &identity) != 0) return;
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters connection;
    connection.listener_fd = acceptor_.native_handle();
    connection.fd = socket.release(ec);
    if (ec) return;
    open_[peer].push_back({connection.fd, identity.st_dev, identity.st_ino});
    ++total_;
    accepted_.fetch_add(1, std::memory_order_relaxed);
    gate_->HandleNewConnection(&connection);  // gRPC owns the descriptor from here
  }

  void refuse(Cap cap, const asio::ip::address& peer) {
    (cap == Cap::kTotal ? refused_total_ : refused_per_address_)
        .fetch_add(1, std::memory_order_relaxed);
    ++refused_since_log_;
    const auto now = Clock::now();
    if (now - last_refusal_log_ < kRefusalLogInterval) return;
    last_refusal_log_ = now;
    spdlog::warn("{} connections refused cap={} limit={} last_address={} refused={}", surface_,
                 cap == Cap::kTotal ? "total" : "per-address",
                 cap == Cap::kTotal ? limits_.total : limits_.per_address, peer.to_string(),
                 refused_since_log_);
    refused_since_log_ = 0;
  }

  void sweep(std::vector<Handoff>& from_peer) {
    const auto before = from_peer.size();
    std::erase_if(from_peer, [](const Handoff& h) { return !h.open(); });
    total_ -= before - from_peer.size();
  }

  void sweep_all() {
    for (auto it = open_.begin(); it != open_.end();) {
      sweep(it->second);
      it = it->second.empty() ? open_.erase(it) : std::next(it);
    }
    last_sweep_ = Clock::now();
  }

  asio::io_context io_;
  PacedAcceptor acceptor_;
  asio::steady_timer sweep_timer_{io_};
  const std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> gate_;
  const ConnectionLimits limits_;
  const std::string surface_;

  // The io_context's thread only.
  std::map<asio::ip::address, std::vector<Handoff>> open_;
  std::size_t total_ = 0;
  Clock::time_point last_sweep_{};
  Clock::time_point last_refusal_log_{};
  std::uint64_t refused_since_log_ = 0;

  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> refused_total_{0};
  std::atomic<std::uint64_t> refused_per_address_{0};

  std::thread thread_;
  bool stopped_ = false;  // the owner's thread only
  bool closing_ = false;  // io_'s thread only: stop() has begun
};

}  // namespace

std::unique_ptr<GrpcListener> add_grpc_listener(
    grpc::ServerBuilder& builder, const std::string& address,
    std::shared_ptr<grpc::ServerCredentials> credentials, ConnectionLimits limits,
    std::string surface) {
  return std::make_unique<AsioGrpcListener>(builder, address, std::move(credentials), limits,
                                            std::move(surface));
}

}  // namespace platform
