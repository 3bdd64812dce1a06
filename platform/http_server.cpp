// HTTP/1.1 server on one strand: each connection is a coroutine that reads a request, answers it
// from the handler and repeats while the client keeps the connection alive.
#include "platform/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "platform/http_server_on_executor.h"
#include "platform/tcp_listener.h"

namespace platform {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kReadTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxRequest = 8192;
constexpr std::size_t kMaxConnections = 512;
constexpr std::size_t kMaxPerAddress = 32;

class BeastServer final : public HttpServer {
 public:
  BeastServer(asio::any_io_executor executor, const std::string& address, HttpHandler handler,
              std::string server_name)
      : strand_(asio::make_strand(std::move(executor))),
        acceptor_(listen_tcp(strand_, address), "http"),
        handler_(std::move(handler)),
        server_name_(std::move(server_name)) {
    asio::co_spawn(strand_, accept_loop(), asio::detached);
  }

  ~BeastServer() override { stop(); }

  int port() const override { return acceptor_.port(); }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    std::promise<void> drained;
    asio::post(strand_, [this, &drained] {
      drained_ = &drained;
      acceptor_.close();
      boost::system::error_code ignored;
      for (auto* socket : open_) socket->close(ignored);
      task_done(false);
    });
    drained.get_future().wait();
  }

 private:
  // On the strand. Every coroutine counts as a task; stop() returns when the last has ended, so
  // none resumes after the server is gone.
  void task_done(bool coroutine) {
    if (coroutine) --tasks_;
    if (drained_ != nullptr && tasks_ == 0) {
      drained_->set_value();
      drained_ = nullptr;
    }
  }

  asio::awaitable<void> accept_loop() {
    while (auto accepted = co_await acceptor_.next()) {
      tcp::socket socket = std::move(*accepted);
      boost::system::error_code ec;
      // Closing the socket refuses the client. The cap per address keeps one client from taking
      // every connection, so a health probe from elsewhere still gets in.
      const auto peer = socket.remote_endpoint(ec).address();
      if (ec || open_.size() >= kMaxConnections) continue;
      auto& from_peer = per_address_[peer];  // released by the session
      if (from_peer >= kMaxPerAddress) continue;
      ++from_peer;
      ++tasks_;
      asio::co_spawn(strand_, session(beast::tcp_stream(std::move(socket)), peer),
                     asio::detached);
    }
    task_done(true);
  }

  asio::awaitable<void> session(beast::tcp_stream stream, asio::ip::address peer) {
    open_.insert(&stream.socket());
    try {
      co_await serve(stream);
    } catch (const std::exception&) {
      // A client that goes away, sends garbage or oversize requests or idles past the deadline,
      // or a handler that fails: the connection is dropped without a reply.
    }
    open_.erase(&stream.socket());
    if (--per_address_[peer] == 0) per_address_.erase(peer);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    task_done(true);
  }

  asio::awaitable<void> serve(beast::tcp_stream& stream) {
    beast::flat_buffer buffer(kMaxRequest);
    for (;;) {
      stream.expires_after(kReadTimeout);
      http::request_parser<http::string_body> parser;
      parser.header_limit(kMaxRequest);
      parser.body_limit(kMaxRequest);
      co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
      const auto& request = parser.get();
      HttpResponse answer =
          handler_({std::string(request.method_string()), std::string(request.target())});
      http::response<http::string_body> response{static_cast<http::status>(answer.status),
                                                 request.version()};
      if (!server_name_.empty()) response.set(http::field::server, server_name_);
      response.set(http::field::content_type, answer.content_type);
      for (const auto& [name, value] : answer.headers) response.set(name, value);
      response.keep_alive(request.keep_alive());
      response.body() = std::move(answer.body);
      response.prepare_payload();
      stream.expires_after(kReadTimeout);
      if (request.method() == http::verb::head) {
        // Content-Length stays that of the body a GET would get.
        http::response_serializer<http::string_body> serializer(response);
        co_await http::async_write_header(stream, serializer, asio::use_awaitable);
      } else {
        co_await http::async_write(stream, response, asio::use_awaitable);
      }
      if (!response.keep_alive()) co_return;
    }
  }

  asio::strand<asio::any_io_executor> strand_;
  // Owned by strand_: the acceptor, the open connections and the task count.
  PacedAcceptor acceptor_;
  std::set<tcp::socket*> open_;
  std::map<asio::ip::address, std::size_t> per_address_;  // open connections by client address
  int tasks_ = 1;  // the accept loop
  std::promise<void>* drained_ = nullptr;
  const HttpHandler handler_;
  const std::string server_name_;
  bool stopped_ = false;  // the owner's thread only
};

// The server on an io_context of its own, run by one thread until the server has stopped.
class ThreadedServer final : public HttpServer {
 public:
  ThreadedServer(const std::string& address, HttpHandler handler, std::string server_name)
      : server_(io_.get_executor(), address, std::move(handler), std::move(server_name)),
        thread_([this] { io_.run(); }) {}

  ~ThreadedServer() override { stop(); }

  int port() const override { return server_.port(); }

  void stop() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();  // nothing is left to run, so run() returns
  }

 private:
  asio::io_context io_;
  BeastServer server_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<HttpServer> start_http_server(const std::string& address, HttpHandler handler,
                                              const std::string& server_name) {
  return std::make_unique<ThreadedServer>(address, std::move(handler), server_name);
}

std::unique_ptr<HttpServer> start_http_server(boost::asio::any_io_executor executor,
                                              const std::string& address, HttpHandler handler,
                                              const std::string& server_name) {
  return std::make_unique<BeastServer>(std::move(executor), address, std::move(handler),
                                       server_name);
}

}  // namespace platform
