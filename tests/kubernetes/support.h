// Test support for the Kubernetes client: certificates made with OpenSSL's C API, a temporary
// directory, and a tiny HTTPS server on 127.0.0.1 (ephemeral port) whose answers a test scripts.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace kubernetes::test {

struct Pem {
  std::string cert;
  std::string key;
};

// A P-256 certificate for `cn`, signed by `issuer` (self-signed when null), valid for a day.
// `ca` makes it a CA; `ip_san` adds that IP address as a subjectAltName.
Pem make_certificate(const std::string& cn, const Pem* issuer, bool ca,
                     const std::string& ip_san = "");

// A CA with a server certificate for 127.0.0.1 and a client certificate for
// system:node:node-1 it signed.
struct TestPki {
  TestPki();
  Pem ca;
  Pem server;
  Pem node_client;   // CN=system:node:node-1
  Pem admin_client;  // CN=admin
};

// A directory under the system's temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `text` to path()/name (creating directories) and returns the full path.
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

struct FakeRequest {
  std::string method;
  std::string target;  // path and query
  std::string content_type;
  std::string authorization;
  std::string body;
  std::string client_cn;  // the client certificate's CN; empty without one

  std::string path() const { return target.substr(0, target.find('?')); }
  // A query parameter, percent-decoded; empty when absent.
  std::string query(const std::string& key) const;
};

// How a handler answers: reply() once, or stream lines (a watch) and return; or return without
// either, which closes the connection with no answer.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void reply(int status, const std::string& body,
                     const std::string& content_type = "application/json") = 0;
  // Sends a 200 header with a chunked body.
  virtual void start_stream() = 0;
  // One chunk holding `line` and a newline; false once the client has gone.
  virtual bool write_line(const std::string& line) = 0;
  // Writes raw bytes as one chunk (lines split across chunks); false once the client has gone.
  virtual bool write_chunk(const std::string& bytes) = 0;
  // The final chunk: the stream ends cleanly.
  virtual void end_stream() = 0;
  // Waits until the server stops or `timeout` passes; true when the server is stopping.
  virtual bool wait_for_stop(std::chrono::milliseconds timeout) = 0;
};

using Handler = std::function<void(const FakeRequest&, Responder&)>;

// HTTPS on 127.0.0.1 with a port of its own; each connection on a thread of its own, one request
// per connection. It asks for (but does not require) a client certificate signed by `client_ca`.
class FakeApiServer {
 public:
  FakeApiServer(const Pem& server, const std::string& client_ca, Handler handler);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // Requests received so far, in order.
  std::vector<FakeRequest> requests() const;
  int connections() const { return connections_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<FakeRequest> requests_;
  friend struct Impl;
};

// A small in-memory Node API behind a FakeApiServer: list (one page, field selector
// metadata.name=), watch from a version (history replay, 410 for expired versions, bookmarks are
// not sent), get and strategic-merge PATCH of annotations. Enough for the informer and annotator.
class FakeNodes {
 public:
  // Adds or replaces a Node: an ADDED or MODIFIED event.
  void put(const std::string& name, const std::map<std::string, std::string>& annotations = {},
           const std::string& uid = "");
  // A DELETED event; without it (`with_event` false) only a list shows the Node gone, as when
  // the history that held the event was compacted.
  void remove(const std::string& name, bool with_event = true);
  // The annotations of a stored Node; nullopt when there is none.
  std::optional<std::map<std::string, std::string>> annotations(const std::string& name) const;
  // Versions up to now can no longer be watched from: such a watch gets an ERROR 410 event.
  void expire_history();
  // Ends every open watch stream cleanly, as the server does at timeoutSeconds.
  void end_watches();
  // The next `count` requests are answered with `status` (a Status body).
  void fail_next(int count, int status);

  int lists() const;
  int watches() const;
  int patches() const;
  std::string version() const;

  void handle(const FakeRequest& request, Responder& responder);

 private:
  struct Stored {
    std::string uid;
    std::map<std::string, std::string> annotations;
    int version = 0;
  };
  struct Event {
    int version;
    std::string name;
    std::string line;
  };
  std::string object(const std::string& name, const Stored& node) const;
  void record(const std::string& type, const std::string& name, const Stored& node);
  void watch(const FakeRequest& request, Responder& responder);

  mutable std::mutex mu_;  // guards everything below; the server's threads share it
  int version_ = 100;
  std::map<std::string, Stored> nodes_;
  std::vector<Event> history_;
  int expired_through_ = 0;
  int end_generation_ = 0;
  int fail_count_ = 0;
  int fail_status_ = 0;
  int lists_ = 0;
  int watches_ = 0;
  int patches_ = 0;
};

// Node JSON as the API server writes it.
std::string node_json(const std::string& name, const std::string& resource_version,
                      const std::map<std::string, std::string>& annotations = {},
                      const std::string& uid = "");
std::string list_json(const std::vector<std::string>& nodes, const std::string& resource_version);
std::string event_json(const std::string& type, const std::string& object);
std::string status_json(int code, const std::string& reason, const std::string& message);

}  // namespace kubernetes::test
