#include "platform/tcp_listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <stdexcept>

#include "platform/listen_address.h"

namespace platform {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::chrono::milliseconds kAcceptRetry{100};

tcp::endpoint endpoint_of(const std::string& address) {
  const HostPort hp = parse_listen_address(address);
  const auto port = static_cast<unsigned short>(hp.port);
  if (hp.host.empty()) return {tcp::v6(), port};
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(hp.host, ec);
  if (!ec) return {ip, port};
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(hp.host, std::to_string(hp.port), ec);
  if (ec || results.empty()) throw std::runtime_error("cannot resolve " + address);
  return *results.begin();
}

boost::system::error_code listen(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec && endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
    // ":port" serves IPv4 too; ignored where the kernel refuses.
    boost::system::error_code ignored;
    acceptor.set_option(asio::ip::v6_only(false), ignored);
  }
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

}  // namespace

tcp::acceptor listen_tcp(const asio::any_io_executor& executor, const std::string& address) {
  const tcp::endpoint endpoint = endpoint_of(address);
  tcp::acceptor acceptor(executor);
  boost::system::error_code ec = listen(acceptor, endpoint);
  if (ec && address.starts_with(':')) {
    // No IPv6 on this host: every IPv4 address instead.
    acceptor.close();
    ec = listen(acceptor, tcp::endpoint(tcp::v4(), endpoint.port()));
  }
  if (ec) throw std::runtime_error("cannot listen on " + address + ": " + ec.message());
  return acceptor;
}

PacedAcceptor::PacedAcceptor(tcp::acceptor acceptor, std::string surface)
    : acceptor_(std::move(acceptor)),
      retry_(acceptor_.get_executor()),
      surface_(std::move(surface)),
      port_(acceptor_.local_endpoint().port()) {}

asio::awaitable<std::optional<tcp::socket>> PacedAcceptor::next() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return std::nullopt;
    if (!ec) {
      if (failing_) {
        spdlog::info("{} accept recovered port={}", surface_, port_);
        failing_ = false;
      }
      co_return socket;
    }
    if (!failing_) {
      spdlog::warn("{} accept failing port={} error=\"{}\" retry_in_ms={}", surface_, port_,
                   ec.message(), kAcceptRetry.count());
      failing_ = true;
    }
    retry_.expires_after(kAcceptRetry);
    co_await retry_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void PacedAcceptor::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
}

}  // namespace platform
