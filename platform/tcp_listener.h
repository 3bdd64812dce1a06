// The listening side shared by the daemons' servers (HTTP, gRPC): binding a flag's address and
// an accept loop that survives running out of descriptors. Asio types are part of this header,
// so only server implementations include it.
#pragma once

// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <string>

namespace platform {

// A listening socket on `address` ("host:port", "[v6]:port", or ":port" for every address: IPv6
// and IPv4 where the host has IPv6, else IPv4; port 0 picks one). Throws std::invalid_argument
// for a malformed address and std::runtime_error naming it when it cannot be bound.
boost::asio::ip::tcp::acceptor listen_tcp(const boost::asio::any_io_executor& executor,
                                          const std::string& address);

// Accepts connections one at a time. An accept error (out of descriptors or memory) leaves the
// connection queued, so accepting again at once would fail at once: it pauses 100 ms instead of
// spinning, logging once when the failures start and once when they stop.
class PacedAcceptor {
 public:
  // `surface` names the listener in the log lines ("http", "grpc").
  PacedAcceptor(boost::asio::ip::tcp::acceptor acceptor, std::string surface);

  int port() const { return port_; }
  int native_handle() { return acceptor_.native_handle(); }

  // The next connection; empty once close() was called. One caller at a time, on the
  // acceptor's executor.
  boost::asio::awaitable<std::optional<boost::asio::ip::tcp::socket>> next();

  // Ends a pending next(); on the acceptor's executor.
  void close();

 private:
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  const std::string surface_;
  int port_ = 0;
  bool failing_ = false;
};

}  // namespace platform
