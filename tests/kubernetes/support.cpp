// Certificates, temporary directories and the scripted HTTPS server for the Kubernetes tests.
#include "tests/kubernetes/support.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

namespace kubernetes::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

KeyPtr read_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return KeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

CertPtr read_cert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return CertPtr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

}  // namespace

Pem make_certificate(const std::string& cn, const Pem* issuer, bool ca, const std::string& ip_san) {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "key");
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  static std::atomic<long> serial{1};
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_pubkey(cert.get(), key.get());

  CertPtr issuer_cert;
  KeyPtr issuer_key;
  if (issuer != nullptr) {
    issuer_cert = read_cert(issuer->cert);
    issuer_key = read_key(issuer->key);
    check(issuer_cert && issuer_key, "issuer");
  }
  X509* signer = issuer_cert ? issuer_cert.get() : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  add_extension(cert.get(), signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!ip_san.empty()) {
    add_extension(cert.get(), signer, NID_subject_alt_name, ("IP:" + ip_san).c_str());
  }
  check(X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()) > 0, "sign");

  Pem out;
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  out.cert = bio_text(cert_bio.get());
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.key = bio_text(key_bio.get());
  return out;
}

TestPki::TestPki()
    : ca(make_certificate("test-ca", nullptr, true)),
      server(make_certificate("kube-apiserver", &ca, false, "127.0.0.1")),
      node_client(make_certificate("system:node:node-1", &ca, false)),
      admin_client(make_certificate("admin", &ca, false)) {}

TempDir::TempDir() {
  std::random_device random;
  path_ = std::filesystem::temp_directory_path() /
          ("tds-kubernetes-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& text) const {
  const auto file = path_ / name;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  return file;
}

std::string FakeRequest::query(const std::string& key) const {
  const auto start = target.find('?');
  if (start == std::string::npos) return {};
  std::string_view rest = std::string_view(target).substr(start + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

struct FakeApiServer::Impl {
  Impl(FakeApiServer& owner, const Pem& server, const std::string& client_ca, Handler handler)
      : owner(owner), handler(std::move(handler)) {
    tls.use_certificate_chain(asio::buffer(server.cert));
    tls.use_private_key(asio::buffer(server.key), ssl::context::pem);
    tls.add_certificate_authority(asio::buffer(client_ca));
    // Ask for a client certificate; a client without one is served too (token tests).
    tls.set_verify_mode(ssl::verify_peer);
    acceptor.open(tcp::v4());
    acceptor.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor.listen();
    accept_thread = std::thread([this] { accept_loop(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
      for (int fd : open) ::shutdown(fd, SHUT_RDWR);
    }
    stop_cv.notify_all();
    ::shutdown(acceptor.native_handle(), SHUT_RDWR);  // wakes the blocking accept
    accept_thread.join();
    for (auto& worker : workers) worker.join();
  }

  void accept_loop() {
    for (;;) {
      tcp::socket socket(io);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      std::lock_guard lock(mu);
      if (stopping) return;
      if (ec) continue;
      ++owner.connections_;
      open.insert(socket.native_handle());
      workers.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  class Reply final : public Responder {
   public:
    Reply(Impl& impl, ssl::stream<tcp::socket>& stream) : impl_(impl), stream_(stream) {}

    void reply(int status, const std::string& body, const std::string& content_type) override {
      http::response<http::string_body> response{static_cast<http::status>(status), 11};
      response.set(http::field::content_type, content_type);
      response.body() = body;
      response.keep_alive(false);
      response.prepare_payload();
      boost::system::error_code ignored;
      http::write(stream_, response, ignored);
    }
    void start_stream() override {
      http::response<http::empty_body> response{http::status::ok, 11};
      response.set(http::field::content_type, "application/json");
      response.chunked(true);
      http::response_serializer<http::empty_body> serializer(response);
      boost::system::error_code ignored;
      http::write_header(stream_, serializer, ignored);
    }
    bool write_line(const std::string& line) override { return write_chunk(line + "\n"); }
    bool write_chunk(const std::string& bytes) override {
      boost::system::error_code ec;
      asio::write(stream_, http::make_chunk(asio::buffer(bytes)), ec);
      return !ec;
    }
    void end_stream() override {
      boost::system::error_code ignored;
      asio::write(stream_, http::make_chunk_last(), ignored);
    }
    bool wait_for_stop(std::chrono::milliseconds timeout) override {
      std::unique_lock lock(impl_.mu);
      return impl_.stop_cv.wait_for(lock, timeout, [this] { return impl_.stopping; });
    }

   private:
    Impl& impl_;
    ssl::stream<tcp::socket>& stream_;
  };

  void serve(tcp::socket socket) {
    const int fd = socket.native_handle();
    {
      ssl::stream<tcp::socket> stream(std::move(socket), tls);
      boost::system::error_code ec;
      stream.handshake(ssl::stream_base::server, ec);
      beast::flat_buffer buffer;
      http::request<http::string_body> request;
      if (!ec) http::read(stream, buffer, request, ec);
      if (!ec) {
        FakeRequest r;
        r.method = std::string(request.method_string());
        r.target = std::string(request.target());
        r.content_type = std::string(request[http::field::content_type]);
        r.authorization = std::string(request[http::field::authorization]);
        r.body = request.body();
        if (X509* peer = SSL_get1_peer_certificate(stream.native_handle())) {
          char cn[256] = {};
          X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
          r.client_cn = cn;
          X509_free(peer);
        }
        {
          std::lock_guard lock(owner.mu_);
          owner.requests_.push_back(r);
        }
        Reply reply(*this, stream);
        handler(r, reply);
      }
      std::lock_guard lock(mu);
      open.erase(fd);  // before the socket closes: the fd number may be reused at once
    }
  }

  FakeApiServer& owner;
  const Handler handler;
  asio::io_context io;
  ssl::context tls{ssl::context::tls_server};
  tcp::acceptor acceptor{io};
  std::mutex mu;  // guards stopping, open and workers
  std::condition_variable stop_cv;
  bool stopping = false;
  std::set<int> open;
  std::vector<std::thread> workers;
  std::thread accept_thread;
};

FakeApiServer::FakeApiServer(const Pem& server, const std::string& client_ca, Handler handler)
    : impl_(std::make_unique<Impl>(*this, server, client_ca, std::move(handler))) {
  port_ = impl_->acceptor.local_endpoint().port();
}

FakeApiServer::~FakeApiServer() { impl_.reset(); }

std::vector<FakeRequest> FakeApiServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::string FakeNodes::object(const std::string& name, const Stored& node) const {
  std::map<std::string, std::string> annotations = node.annotations;
  return node_json(name, std::to_string(node.version), annotations, node.uid);
}

void FakeNodes::record(const std::string& type, const std::string& name, const Stored& node) {
  history_.push_back({node.version, name, event_json(type, object(name, node))});
}

void FakeNodes::put(const std::string& name, const std::map<std::string, std::string>& annotations,
                    const std::string& uid) {
  std::lock_guard lock(mu_);
  const bool exists = nodes_.contains(name);
  Stored& node = nodes_[name];
  node.uid = uid.empty() ? (exists ? node.uid : "uid-" + name) : uid;
  node.annotations = annotations;
  node.version = ++version_;
  record(exists ? "MODIFIED" : "ADDED", name, node);
}

void FakeNodes::remove(const std::string& name, bool with_event) {
  std::lock_guard lock(mu_);
  auto found = nodes_.find(name);
  if (found == nodes_.end()) return;
  Stored node = found->second;
  nodes_.erase(found);
  node.version = ++version_;
  if (with_event) record("DELETED", name, node);
}

std::optional<std::map<std::string, std::string>> FakeNodes::annotations(
    const std::string& name) const {
  std::lock_guard lock(mu_);
  auto found = nodes_.find(name);
  if (found == nodes_.end()) return std::nullopt;
  return found->second.annotations;
}

void FakeNodes::expire_history() {
  std::lock_guard lock(mu_);
  expired_through_ = version_;
}

void FakeNodes::end_watches() {
  std::lock_guard lock(mu_);
  ++end_generation_;
}

void FakeNodes::fail_next(int count, int status) {
  std::lock_guard lock(mu_);
  fail_count_ = count;
  fail_status_ = status;
}

int FakeNodes::lists() const {
  std::lock_guard lock(mu_);
  return lists_;
}
int FakeNodes::watches() const {
  std::lock_guard lock(mu_);
  return watches_;
}
int FakeNodes::patches() const {
  std::lock_guard lock(mu_);
  return patches_;
}
std::string FakeNodes::version() const {
  std::lock_guard lock(mu_);
  return std::to_string(version_);
}

void FakeNodes::handle(const FakeRequest& request, Responder& responder) {
  std::unique_lock lock(mu_);
  if (fail_count_ > 0) {
    --fail_count_;
    const int status = fail_status_;
    lock.unlock();
    responder.reply(status, status_json(status, "InternalError", "injected failure"));
    return;
  }
  const std::string path = request.path();
  constexpr std::string_view kNodes = "/api/v1/nodes";
  if (request.method == "GET" && path == kNodes && request.query("watch") == "1") {
    ++watches_;
    lock.unlock();
    watch(request, responder);
    return;
  }
  if (request.method == "GET" && path == kNodes) {
    ++lists_;
    const std::string selector = request.query("fieldSelector");
    std::vector<std::string> items;
    for (const auto& [name, node] : nodes_) {
      if (selector.empty() || selector == "metadata.name=" + name)
        items.push_back(object(name, node));
    }
    const std::string body = list_json(items, std::to_string(version_));
    lock.unlock();
    responder.reply(200, body);
    return;
  }
  const std::string prefix = std::string(kNodes) + "/";
  if (!path.starts_with(prefix)) {
    lock.unlock();
    responder.reply(404, status_json(404, "NotFound", "no such path"));
    return;
  }
  const std::string name = path.substr(prefix.size());
  auto found = nodes_.find(name);
  if (found == nodes_.end()) {
    lock.unlock();
    responder.reply(404, status_json(404, "NotFound", "nodes \"" + name + "\" not found"));
    return;
  }
  if (request.method == "PATCH") {
    ++patches_;
    const auto patch = nlohmann::json::parse(request.body, nullptr, false);
    if (request.content_type != "application/strategic-merge-patch+json" || patch.is_discarded()) {
      lock.unlock();
      responder.reply(415, status_json(415, "UnsupportedMediaType", "bad patch"));
      return;
    }
    for (const auto& [key, value] : patch["metadata"]["annotations"].items()) {
      if (value.is_null()) {
        found->second.annotations.erase(key);
      } else {
        found->second.annotations[key] = value.get<std::string>();
      }
    }
    found->second.version = ++version_;
    record("MODIFIED", name, found->second);
  }
  const std::string body = object(name, found->second);
  lock.unlock();
  responder.reply(200, body);
}

void FakeNodes::watch(const FakeRequest& request, Responder& responder) {
  const std::string from_text = request.query("resourceVersion");
  const int from = from_text.empty() ? 0 : std::stoi(from_text);
  const std::string selector = request.query("fieldSelector");
  const std::string timeout = request.query("timeoutSeconds");
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(timeout.empty() ? 300 : std::stoi(timeout));
  std::unique_lock lock(mu_);
  const int generation = end_generation_;
  const bool expired = from != 0 && from <= expired_through_;
  lock.unlock();
  responder.start_stream();
  if (expired) {
    responder.write_line(
        event_json("ERROR", status_json(410, "Expired", "too old resource version: " + from_text)));
    responder.end_stream();
    return;
  }
  std::size_t next = 0;
  for (;;) {
    std::vector<std::string> lines;
    lock.lock();
    for (; next < history_.size(); ++next) {
      const Event& event = history_[next];
      if (event.version <= from) continue;
      if (!selector.empty() && selector != "metadata.name=" + event.name) continue;
      lines.push_back(event.line);
    }
    const bool ended = end_generation_ != generation;
    lock.unlock();
    for (const auto& line : lines) {
      if (!responder.write_line(line)) return;
    }
    if (ended || std::chrono::steady_clock::now() > deadline) {
      responder.end_stream();
      return;
    }
    if (responder.wait_for_stop(std::chrono::milliseconds(10))) return;
  }
}

std::string node_json(const std::string& name, const std::string& resource_version,
                      const std::map<std::string, std::string>& annotations,
                      const std::string& uid) {
  nlohmann::json node = {{"kind", "Node"},
                         {"apiVersion", "v1"},
                         {"metadata",
                          {{"name", name},
                           {"uid", uid.empty() ? "uid-" + name : uid},
                           {"resourceVersion", resource_version},
                           {"labels", {{"kubernetes.io/hostname", name}}}}},
                         {"status",
                          {{"addresses",
                            {{{"type", "InternalIP"}, {"address", "10.0.0.1"}},
                             {{"type", "Hostname"}, {"address", name}}}},
                           {"nodeInfo", {{"osImage", "Talos (v1.9.0)"}}}}}};
  if (!annotations.empty()) node["metadata"]["annotations"] = annotations;
  return node.dump();
}

std::string list_json(const std::vector<std::string>& nodes, const std::string& resource_version) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& node : nodes) items.push_back(nlohmann::json::parse(node));
  return nlohmann::json{{"kind", "NodeList"},
                        {"apiVersion", "v1"},
                        {"metadata", {{"resourceVersion", resource_version}}},
                        {"items", items}}
      .dump();
}

std::string event_json(const std::string& type, const std::string& object) {
  return nlohmann::json{{"type", type}, {"object", nlohmann::json::parse(object)}}.dump();
}

std::string status_json(int code, const std::string& reason, const std::string& message) {
  return nlohmann::json{{"kind", "Status"},   {"apiVersion", "v1"}, {"status", "Failure"},
                        {"message", message}, {"reason", reason},   {"code", code}}
      .dump();
}

}  // namespace kubernetes::test
