// HTTP/1.1 server on one Asio thread: each connection is a coroutine that reads a request,
// answers it from the handler and repeats while the client keeps the connection alive.
#include "discovery/server/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace discovery::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kReadTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxRequest = 8192;
constexpr int kMaxConnections = 512;

tcp::endpoint endpoint_of(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("bad listen address " + address);
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned long number = 0;
  try {
    std::size_t used = 0;
    number = std::stoul(port, &used);
    if (used != port.size() || number > 65535) throw std::out_of_range(port);
  } catch (const std::exception&) {
    throw std::runtime_error("bad port in listen address " + address);
  }
  if (host.empty()) return {tcp::v6(), static_cast<unsigned short>(number)};
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) {
    asio::io_context io;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, port, ec);
    if (ec || results.empty()) throw std::runtime_error("cannot resolve " + address);
    return *results.begin();
  }
  return {ip, static_cast<unsigned short>(number)};
}

class BeastServer final : public HttpServer {
 public:
  BeastServer(const std::string& address, HttpHandler handler)
      : handler_(std::move(handler)), acceptor_(io_) {
    tcp::endpoint endpoint = endpoint_of(address);
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec && endpoint.address().is_v6()) {
      // ":port" serves IPv4 too; ignored where the kernel refuses.
      acceptor_.set_option(asio::ip::v6_only(false), ec);
      ec = {};
    }
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec && address.starts_with(':')) {
      // No IPv6 on this host: fall back to every IPv4 address.
      acceptor_.close();
      endpoint = tcp::endpoint(tcp::v4(), endpoint.port());
      ec = {};
      acceptor_.open(endpoint.protocol(), ec);
      if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor_.bind(endpoint, ec);
      if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) throw std::runtime_error("cannot listen on " + address + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~BeastServer() override { shutdown(); }

  int port() const override { return port_; }

  void shutdown() override {
    std::call_once(once_, [this] {
      io_.stop();
      if (thread_.joinable()) thread_.join();
    });
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;  // e.g. EMFILE: the next accept may work
      if (connections_ >= kMaxConnections) continue;  // closing the socket refuses the client
      asio::co_spawn(io_, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    ++connections_;
    struct Release {
      int& n;
      ~Release() { --n; }
    } release{connections_};
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(kMaxRequest);
    for (;;) {
      stream.expires_after(kReadTimeout);
      http::request_parser<http::string_body> parser;
      parser.header_limit(kMaxRequest);
      parser.body_limit(kMaxRequest);
      boost::system::error_code ec;
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;  // timeout, oversize, garbage or closed: drop the connection
      const auto& req = parser.get();
      HttpResponse answer = handler_({std::string(req.method_string()), std::string(req.target())});
      http::response<http::string_body> res{static_cast<http::status>(answer.status),
                                            req.version()};
      res.set(http::field::server, "discovery-service");
      res.set(http::field::content_type, answer.content_type);
      for (const auto& [name, value] : answer.headers) res.set(name, value);
      res.keep_alive(req.keep_alive());
      const bool head = req.method() == http::verb::head;
      res.body() = std::move(answer.body);
      res.prepare_payload();
      if (head) res.body().clear();
      stream.expires_after(kReadTimeout);
      if (head) {
        http::response_serializer<http::string_body> serializer(res);
        co_await http::async_write_header(stream, serializer,
                                          asio::redirect_error(asio::use_awaitable, ec));
      } else {
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec || !res.keep_alive()) co_return;
    }
  }

  const HttpHandler handler_;
  int connections_ = 0;  // io_ thread only; declared before io_, whose sessions release it
  asio::io_context io_;
  tcp::acceptor acceptor_;  // used only on the io_ thread once it runs
  int port_ = 0;
  std::once_flag once_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<HttpServer> start_http_server(const std::string& address, HttpHandler handler) {
  return std::make_unique<BeastServer>(address, std::move(handler));
}

}  // namespace discovery::server
