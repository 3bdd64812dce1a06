// Prometheus text rendering and a minimal Boost.Beast HTTP server for it.
#include "machined/metrics.h"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <set>
#include <stdexcept>

#include "machined/listen_address.h"
#include "platform/process_metrics.h"

namespace machined {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// Label values escape backslash, quote and newline (exposition format).
std::string label_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

class HttpMetricsServer final : public MetricsServer {
 public:
  HttpMetricsServer(runtime::state::Executor executor, const std::string& address,
                    std::function<std::string()> render)
      : strand_(asio::make_strand(executor)), acceptor_(strand_), render_(std::move(render)) {
    const HostPort hp = parse_listen_address(address);
    boost::system::error_code ec;
    const auto ip =
        hp.host.empty() ? asio::ip::address_v4::any() : asio::ip::make_address(hp.host, ec);
    if (ec) throw std::runtime_error("metrics address \"" + address + "\": " + ec.message());
    const tcp::endpoint endpoint(ip, static_cast<unsigned short>(hp.port));
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint, ec);
    if (ec) throw std::runtime_error("metrics address \"" + address + "\": " + ec.message());
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(strand_, accept_loop(), asio::detached);
  }

  ~HttpMetricsServer() override { stop(); }

  int port() const override { return port_; }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    std::promise<void> drained;
    asio::post(strand_, [this, &drained] {
      drained_ = &drained;
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      for (auto* s : open_) s->close(ignored);
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
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      ++tasks_;
      asio::co_spawn(strand_, serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
    task_done(true);
  }

  asio::awaitable<void> serve(beast::tcp_stream stream) {
    open_.insert(&stream.socket());
    beast::flat_buffer buffer;
    try {
      for (;;) {
        stream.expires_after(std::chrono::seconds(10));
        http::request_parser<http::empty_body> parser;
        parser.header_limit(8192);
        co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
        const auto& request = parser.get();
        http::response<http::string_body> response;
        response.version(request.version());
        response.keep_alive(request.keep_alive());
        if (request.method() == http::verb::get && request.target() == "/metrics") {
          response.result(http::status::ok);
          response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
          response.body() = render_() + platform::render_process_metrics();
        } else {
          response.result(http::status::not_found);
          response.set(http::field::content_type, "text/plain; charset=utf-8");
          response.body() = "not found; metrics are at /metrics\n";
        }
        response.prepare_payload();
        co_await http::async_write(stream, response, asio::use_awaitable);
        if (!response.keep_alive()) break;
      }
    } catch (const std::exception&) {
      // A client that goes away, sends garbage or idles past the deadline just loses its socket.
    }
    open_.erase(&stream.socket());
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    task_done(true);
  }

  asio::strand<runtime::state::Executor> strand_;
  // Owned by strand_: the acceptor and the open connections.
  tcp::acceptor acceptor_;
  std::set<tcp::socket*> open_;
  int tasks_ = 1;  // the accept loop
  std::promise<void>* drained_ = nullptr;
  std::function<std::string()> render_;
  int port_ = 0;
  bool stopped_ = false;  // caller's thread only
};

}  // namespace

std::string render_metrics(const std::vector<runtime::controller::ControllerStats>& controllers,
                           const runtime::state::InMemoryStateStats& state) {
  std::string out;
  const struct {
    const char* name;
    const char* help;
    std::uint64_t runtime::controller::ControllerStats::*field;
  } counters[] = {
      {"machined_controller_wakeups_total", "Input changes that woke the controller.",
       &runtime::controller::ControllerStats::wakeups},
      {"machined_controller_reconciles_total", "Reconcile passes begun.",
       &runtime::controller::ControllerStats::reconciles},
      {"machined_controller_crashes_total", "Starts and reconcile passes that failed.",
       &runtime::controller::ControllerStats::crashes},
  };
  for (const auto& counter : counters) {
    family(out, counter.name, "counter", counter.help);
    for (const auto& c : controllers) {
      out += fmt::format("{}{{controller=\"{}\"}} {}\n", counter.name, label_value(c.name),
                         c.*counter.field);
    }
  }
  family(out, "machined_state_watchers", "gauge", "Live watches on the resource store.");
  out += fmt::format("machined_state_watchers {}\n", state.watchers);
  family(out, "machined_state_watch_resyncs_total", "counter",
         "Watchers that fell behind the event history and were rebootstrapped.");
  out += fmt::format("machined_state_watch_resyncs_total {}\n", state.resyncs);
  return out;
}

std::unique_ptr<MetricsServer> start_metrics_server(runtime::state::Executor executor,
                                                    const std::string& address,
                                                    std::function<std::string()> render) {
  return std::make_unique<HttpMetricsServer>(std::move(executor), address, std::move(render));
}

}  // namespace machined
