// The Node client over HTTPS: each call opens its own connection and runs it as a coroutine on an
// io_context of its own, driven by the calling thread, so a call blocks like a function and
// cancel() from another thread only has to post into that io_context.
#include "kubernetes/client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <limits>
#include <mutex>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange under C++20
#include <variant>

#include "kubernetes/internal/api.h"
#include "kubernetes/internal/files.h"

namespace kubernetes {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kPageSize = 500;
// A list of thousands of Nodes is tens of MiB; a single object is at most a few MiB (etcd's limit),
// so a longer watch line is not from an API server.
constexpr std::uint64_t kMaxBody = 512ull << 20;
constexpr std::size_t kMaxLine = 16 << 20;
constexpr std::uint32_t kMaxHeader = 64 << 10;
constexpr std::size_t kReadChunk = 64 << 10;
constexpr char kUserAgent[] = "talos-discovery-cpp";

// Receives each line of a watch body; may throw to end the call.
using LineHandler = std::function<void(std::string_view)>;

ssl::context tls_context(const Credentials& credentials) {
  auto fail = [&](const std::string& what, const boost::system::error_code& ec) {
    return CredentialsError(credentials.description + ": " + what + ": " + ec.message());
  };
  ssl::context context(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  if (credentials.insecure_skip_verify) {
    context.set_verify_mode(ssl::verify_none);
  } else {
    context.set_verify_mode(ssl::verify_peer);
    if (credentials.ca_pem.empty()) {
      context.set_default_verify_paths(ec);
      if (ec) throw fail("system certificate authorities", ec);
    } else {
      context.add_certificate_authority(asio::buffer(credentials.ca_pem), ec);
      if (ec) throw fail("certificate authority is not a PEM certificate", ec);
    }
  }
  if (credentials.client_cert_pem.empty() != credentials.client_key_pem.empty()) {
    throw CredentialsError(credentials.description +
                           ": a client certificate needs both the certificate and the key");
  }
  if (!credentials.client_cert_pem.empty()) {
    context.use_certificate_chain(asio::buffer(credentials.client_cert_pem), ec);
    if (ec) throw fail("client certificate is not a PEM certificate", ec);
    context.use_private_key(asio::buffer(credentials.client_key_pem), ssl::context::pem, ec);
    const bool mismatch =
        ec && ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
    if (mismatch || (!ec && SSL_CTX_check_private_key(context.native_handle()) != 1)) {
      throw CredentialsError(credentials.description +
                             ": the client key does not match the client certificate");
    }
    if (ec) throw fail("client key is not a PEM private key", ec);
  }
  return context;
}

internal::ServerUrl server_url(const Credentials& credentials) {
  std::string error;
  auto url = internal::parse_server(credentials.server, &error);
  if (!url) throw CredentialsError(credentials.description + ": server " + error);
  return *url;
}

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

class ClientImpl;

// Behind client_stats().
struct Counters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> watch_events{0};
};
Counters counters;

// One request on a connection of its own. Lives on the calling thread's stack; everything in it
// is touched only by that thread, inside io_.run(), except through abort() posted by cancel().
class Call {
 public:
  Call(ClientImpl& client, http::verb verb, std::string url);
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // The answer, whatever its status; a watch (`on_line` set) with status 200 streams its body
  // into on_line and returns an empty body. Throws ApiError status 0 when there is no answer.
  Response run(std::string target, std::string_view body, std::string_view content_type,
               const LineHandler* on_line);

  // From cancel(), with the client's lock held: ends the call from inside its io_context.
  void abort() {
    asio::post(io_, [this] {
      aborted_ = true;
      close();
    });
  }

 private:
  asio::awaitable<Response> exchange(http::request<http::string_body> request,
                                     const LineHandler* on_line);
  asio::awaitable<Response> stream_lines(http::response_parser<http::buffer_body>& parser,
                                         const LineHandler& on_line);
  // Closes the connection when `at` passes, so the pending operation fails as timed out.
  void arm(SteadyClock::time_point at, std::string phase);
  void close() {
    resolver_.cancel();
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
  }
  // Throws the ApiError of a failed or cancelled step; returns when neither.
  void check(const boost::system::error_code& ec, const std::string& step);
  [[noreturn]] void fail(const std::string& what);
  [[noreturn]] void throw_cancelled();

  ClientImpl& client_;
  const http::verb verb_;
  const std::string url_;  // for messages
  asio::io_context io_{1};
  tcp::resolver resolver_{io_};
  ssl::stream<tcp::socket> stream_;
  asio::steady_timer deadline_{io_};
  beast::flat_buffer buffer_;
  std::uint64_t deadline_generation_ = 0;
  std::string timed_out_;  // the phase whose deadline passed; empty while none did
  bool aborted_ = false;
};

class ClientImpl final : public Client {
 public:
  ClientImpl(Credentials credentials, ClientOptions options)
      : credentials_(std::move(credentials)),
        options_(options),
        url_(server_url(credentials_)),
        tls_(tls_context(credentials_)),
        token_(credentials_.token) {}

  Node get_node(std::string_view name) override {
    const std::string path = internal::node_path(name);
    return parse_answer("GET", path, checked("GET", path, {}, {}), internal::parse_node);
  }

  NodeList list_nodes(std::string_view field_selector) override {
    NodeList out;
    std::string continue_token;
    do {
      const std::string path = internal::list_path(field_selector, kPageSize, continue_token);
      auto page =
          parse_answer("GET", path, checked("GET", path, {}, {}), internal::parse_node_page);
      for (auto& node : page.list.items) out.items.push_back(std::move(node));
      // Every page of one list is the same snapshot: the last page's version is the list's.
      out.resource_version = std::move(page.list.resource_version);
      continue_token = std::move(page.continue_token);
    } while (!continue_token.empty());
    return out;
  }

  void watch_nodes(std::string_view resource_version, std::string_view field_selector,
                   const std::function<void(const WatchEvent&)>& on_event) override {
    const std::string path =
        internal::watch_path(resource_version, field_selector, options_.watch_timeout);
    const std::string url = full_url(path);
    const LineHandler on_line = [&](std::string_view line) {
      std::variant<WatchEvent, internal::Status> event;
      try {
        event = internal::parse_watch_line(line);
      } catch (const internal::ParseError& e) {
        throw ApiError(200, "InvalidResponse",
                       internal::failure_message("GET", url, std::string("watch: ") + e.what()));
      }
      if (const auto* status = std::get_if<internal::Status>(&event)) {
        throw ApiError(status->code, status->reason,
                       internal::error_message("GET", url, status->code, *status, credentials_));
      }
      ++counters.watch_events;
      on_event(std::get<WatchEvent>(event));
    };
    try {
      Response answer = perform("GET", path, {}, {}, &on_line);
      if (answer.status != 200) throw_status("GET", path, answer);
    } catch (const ApiError&) {
      if (cancelled()) return;
      throw;
    }
  }

  Node patch_node_annotations(
      std::string_view name,
      const std::map<std::string, std::optional<std::string>>& annotations) override {
    const std::string path = internal::node_path(name);
    std::string body;
    try {
      body = internal::annotations_patch(annotations);
    } catch (const internal::ParseError& e) {
      throw ApiError(0, "InvalidRequest",
                     internal::failure_message("PATCH", full_url(path), e.what()));
    }
    return parse_answer("PATCH", path,
                        checked("PATCH", path, body, "application/strategic-merge-patch+json"),
                        internal::parse_node);
  }

  Response request(std::string_view method, std::string_view path, std::string_view body,
                   std::string_view content_type) override {
    return perform(method, std::string(path), body, content_type, nullptr);
  }

  void cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (active_ != nullptr) active_->abort();
  }

  // For Call.
  std::string full_url(std::string_view path) const {
    return url_.origin() + url_.base_path + std::string(path);
  }
  const internal::ServerUrl& url() const { return url_; }
  const ClientOptions& options() const { return options_; }
  ssl::context& tls() { return tls_; }
  const Credentials& credentials() const { return credentials_; }

  // The bearer token for the next request, re-read from the token file when there is one.
  const std::string& token() {
    if (!credentials_.token_file.empty()) {
      std::string ignored;  // a file mid-rotation: the last token is still the best guess
      if (auto text = internal::read_file(credentials_.token_file, &ignored)) {
        const auto fresh = internal::trim(*text);
        if (!fresh.empty()) token_ = std::string(fresh);
      }
    }
    return token_;
  }

  // A Call registers while it runs, so cancel() can reach it; after cancel() none starts.
  bool enter(Call* call) {
    std::lock_guard lock(mu_);
    if (cancelled_) return false;
    active_ = call;
    return true;
  }
  void leave() {
    std::lock_guard lock(mu_);
    active_ = nullptr;
  }
  bool cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

 private:
  Response perform(std::string_view method, std::string path, std::string_view body,
                   std::string_view content_type, const LineHandler* on_line) {
    const http::verb verb = http::string_to_verb({method.data(), method.size()});
    if (verb == http::verb::unknown) {
      throw ApiError(0, "InvalidRequest",
                     internal::failure_message(method, full_url(path), "unknown HTTP method"));
    }
    Call call(*this, verb, full_url(path));
    try {
      Response answer = call.run(std::move(path), body, content_type, on_line);
      ++counters.requests;
      if (answer.status >= 400) ++counters.failures;
      return answer;
    } catch (const ApiError& e) {
      // No answer, a broken watch stream or a watch ERROR event (a 410 among them); a
      // cancelled call is neither.
      if (!cancelled()) ++counters.failures;
      throw;
    }
  }

  // The answer of a request that must succeed: an error status throws its ApiError.
  Response checked(std::string_view method, const std::string& path, std::string_view body,
                   std::string_view content_type) {
    Response answer = perform(method, path, body, content_type, nullptr);
    if (answer.status < 200 || answer.status > 299) throw_status(method, path, answer);
    return answer;
  }

  [[noreturn]] void throw_status(std::string_view method, const std::string& path,
                                 const Response& answer) const {
    const internal::Status status = internal::parse_status(answer.status, answer.body);
    throw ApiError(
        answer.status, status.reason,
        internal::error_message(method, full_url(path), answer.status, status, credentials_));
  }

  template <class Parse>
  std::invoke_result_t<Parse, std::string_view> parse_answer(std::string_view method,
                                                             const std::string& path,
                                                             const Response& answer,
                                                             Parse parse) const {
    try {
      return parse(answer.body);
    } catch (const internal::ParseError& e) {
      throw ApiError(answer.status, "InvalidResponse",
                     internal::failure_message(
                         method, full_url(path),
                         std::to_string(answer.status) + " with an invalid body: " + e.what()));
    }
  }

  const Credentials credentials_;
  const ClientOptions options_;
  const internal::ServerUrl url_;
  ssl::context tls_;
  std::string token_;  // the calling thread's (one call at a time)

  mutable std::mutex mu_;  // guards cancelled_ and active_, which cancel() reads from any thread
  bool cancelled_ = false;
  Call* active_ = nullptr;
};

Call::Call(ClientImpl& client, http::verb verb, std::string url)
    : client_(client), verb_(verb), url_(std::move(url)), stream_(io_, client.tls()) {
  if (!client_.enter(this)) throw_cancelled();
}

Call::~Call() { client_.leave(); }  // before io_ goes: a later cancel() must not post into it

void Call::fail(const std::string& what) {
  throw ApiError(0, "", internal::failure_message(std::string(http::to_string(verb_)), url_, what));
}

void Call::throw_cancelled() {
  throw ApiError(0, "Cancelled",
                 internal::failure_message(std::string(http::to_string(verb_)), url_, "cancelled"));
}

void Call::check(const boost::system::error_code& ec, const std::string& step) {
  // Even without an error: an abort that ran before the step began (it closed nothing yet, e.g.
  // before the connect opened the socket) must still end the call.
  if (aborted_) throw_cancelled();
  if (!ec) return;
  if (!timed_out_.empty()) fail("no answer: timed out " + timed_out_);
  std::string what = step + ": " + ec.message();
  if (step.starts_with("TLS handshake")) {
    const long verify = SSL_get_verify_result(stream_.native_handle());
    if (verify != X509_V_OK) {
      what += " (" + std::string(X509_verify_cert_error_string(verify)) + ", trusting " +
              (client_.credentials().ca_pem.empty() ? "the system's certificate authorities"
                                                    : "the credentials' certificate authority") +
              ")";
    }
  }
  fail("no answer: " + what);
}

void Call::arm(SteadyClock::time_point at, std::string phase) {
  const auto generation = ++deadline_generation_;
  deadline_.expires_at(at);
  deadline_.async_wait([this, generation, phase = std::move(phase)](boost::system::error_code ec) {
    // A wait re-armed after it had already fired still runs: the generation tells.
    if (ec || generation != deadline_generation_) return;
    timed_out_ = phase;
    close();
  });
}

Response Call::run(std::string target, std::string_view body, std::string_view content_type,
                   const LineHandler* on_line) {
  const auto& url = client_.url();
  http::request<http::string_body> request{verb_, url.base_path + target, 11};
  request.set(http::field::host, url.host_header());
  request.set(http::field::user_agent, kUserAgent);
  request.set(http::field::accept, "application/json");
  if (const std::string& token = client_.token(); !token.empty()) {
    request.set(http::field::authorization, "Bearer " + token);
  }
  if (!body.empty()) {
    request.set(http::field::content_type, std::string(content_type));
    request.body() = std::string(body);
  }
  request.keep_alive(false);
  request.prepare_payload();

  std::exception_ptr error;
  Response answer;
  asio::co_spawn(io_, exchange(std::move(request), on_line), [&](std::exception_ptr e, Response r) {
    deadline_.cancel();  // else io_.run() would wait for it
    error = e;
    answer = std::move(r);
  });
  io_.run();
  if (error) std::rethrow_exception(error);
  return answer;
}

asio::awaitable<Response> Call::exchange(http::request<http::string_body> request,
                                         const LineHandler* on_line) {
  const auto& url = client_.url();
  const auto& options = client_.options();
  boost::system::error_code ec;
  auto use = asio::redirect_error(asio::use_awaitable, ec);

  arm(SteadyClock::now() + options.connect_timeout,
      "connecting (connect timeout " + millis(options.connect_timeout) + ")");
  const auto endpoints = co_await resolver_.async_resolve(url.host, url.port, use);
  check(ec, "resolve " + url.host);
  co_await asio::async_connect(stream_.lowest_layer(), endpoints, use);
  check(ec, "connect to " + url.host_header());
  // A watch may idle for minutes: keepalive notices a peer that vanished without a word.
  stream_.lowest_layer().set_option(asio::socket_base::keep_alive(true), ec);

  SSL* ssl = stream_.native_handle();
  if (!url.ip) SSL_set_tlsext_host_name(ssl, url.host.c_str());
  if (!client_.credentials().insecure_skip_verify) {
    const int ok = url.ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str())
                          : SSL_set1_host(ssl, url.host.c_str());
    if (ok != 1) fail("cannot verify the server as " + url.host);
  }
  co_await stream_.async_handshake(ssl::stream_base::client, use);
  check(ec, "TLS handshake with " + url.host_header());

  arm(SteadyClock::now() + options.request_timeout,
      "waiting for the answer (request timeout " + millis(options.request_timeout) + ")");
  co_await http::async_write(stream_, request, use);
  check(ec, "send");

  if (on_line == nullptr) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxHeader);
    parser.body_limit(kMaxBody);
    co_await http::async_read(stream_, buffer_, parser, use);
    check(ec, "read the answer");
    co_return Response{static_cast<int>(parser.get().result_int()), std::move(parser.get().body())};
  }

  http::response_parser<http::buffer_body> head;
  head.header_limit(kMaxHeader);
  // The stream is bounded line by line instead. (Not boost::none: Boost 1.74 compares a
  // Content-Length against an empty limit as exceeding it.)
  head.body_limit(std::numeric_limits<std::uint64_t>::max());
  co_await http::async_read_header(stream_, buffer_, head, use);
  check(ec, "read the answer");
  if (head.get().result_int() != 200) {
    http::response_parser<http::string_body> rest(std::move(head));
    rest.body_limit(kMaxBody);
    co_await http::async_read(stream_, buffer_, rest, use);
    check(ec, "read the answer");
    co_return Response{static_cast<int>(rest.get().result_int()), std::move(rest.get().body())};
  }
  co_return co_await stream_lines(head, *on_line);
}

asio::awaitable<Response> Call::stream_lines(http::response_parser<http::buffer_body>& parser,
                                             const LineHandler& on_line) {
  const auto& options = client_.options();
  // The server ends the watch after watch_timeout; past that and a request timeout more, the
  // stream is taken as ended (a silently dead peer), and the caller watches again.
  arm(SteadyClock::now() + options.watch_timeout + options.request_timeout, "watching");
  boost::system::error_code ec;
  std::vector<char> chunk(kReadChunk);
  std::string pending;
  auto deliver = [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) on_line(line);
  };
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    // read_some: returns with whatever arrived, so each event is delivered when it comes.
    co_await http::async_read_some(stream_, buffer_, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (aborted_) throw_cancelled();
    if (ec) {
      // The stream's own deadline passed (the only one armed by now): the caller watches again.
      if (!timed_out_.empty()) co_return Response{200, {}};
      fail("the watch stream broke: " + ec.message());
    }
    pending.append(chunk.data(), chunk.size() - parser.get().body().size);
    std::size_t start = 0;
    for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n', start)) {
      deliver(std::string_view(pending).substr(start, end - start));
      start = end + 1;
    }
    pending.erase(0, start);
    if (pending.size() > kMaxLine) fail("a watch event is larger than 16 MiB");
  }
  deliver(pending);
  co_return Response{200, {}};
}

}  // namespace

ClientStats client_stats() {
  return {counters.requests.load(), counters.failures.load(), counters.watch_events.load()};
}

std::unique_ptr<Client> make_client(Credentials credentials, ClientOptions options) {
  return std::make_unique<ClientImpl>(std::move(credentials), options);
}

}  // namespace kubernetes
