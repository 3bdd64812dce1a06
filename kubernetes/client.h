// A Kubernetes API client for Node objects over HTTPS (Boost.Beast, OpenSSL): the calls the
// discovery registry makes. Blocking, one call at a time per Client; cancel() from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kubernetes/credentials.h"
#include "kubernetes/node.h"

namespace kubernetes {

// The API server answered with an error status (or could not be reached: status 0). what() is
// one line: the request, the status and reason, the server's message and, for 401/403, the
// credential used (Credentials::description); for a node credential refused a list or watch,
// that Kubernetes 1.32+ with the AuthorizeNodeWithSelectors feature gate forbids a node to list
// other Nodes.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string reason, const std::string& message)
      : std::runtime_error(message), status_(status), reason_(std::move(reason)) {}

  int status() const { return status_; }                 // HTTP status; 0: no answer
  const std::string& reason() const { return reason_; }  // Status.reason, e.g. "Forbidden"

 private:
  int status_;
  std::string reason_;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{10000};  // whole request, except a watch's stream
  // A watch asks the server to end it after this long (timeoutSeconds); the caller watches again.
  std::chrono::seconds watch_timeout{300};
};

struct NodeList {
  std::vector<Node> items;
  std::string resource_version;
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark };
  Type type;
  Node node;  // for a bookmark, only resource_version
};

struct Response {
  int status = 0;
  std::string body;
};

class Client {
 public:
  virtual ~Client() = default;

  // Each throws ApiError.
  virtual Node get_node(std::string_view name) = 0;
  // `field_selector` e.g. "metadata.name=node-1"; empty: every Node.
  virtual NodeList list_nodes(std::string_view field_selector = {}) = 0;
  // Streams events from `resource_version` until the server ends the watch (returns), an error
  // (throws; a 410 Gone, status 410, means list again), or cancel() (returns).
  virtual void watch_nodes(std::string_view resource_version, std::string_view field_selector,
                           const std::function<void(const WatchEvent&)>& on_event) = 0;
  // A strategic-merge patch of metadata.annotations: a value sets the annotation, nullopt
  // removes it. Returns the Node as patched.
  virtual Node patch_node_annotations(
      std::string_view name,
      const std::map<std::string, std::optional<std::string>>& annotations) = 0;

  // Any request, for tests and tools: `path` like "/api/v1/nodes". Throws ApiError only when
  // there is no answer; an error status is returned.
  virtual Response request(std::string_view method, std::string_view path, std::string_view body,
                           std::string_view content_type = "application/json") = 0;

  // Ends the call in progress (and every later one) with no error: watch_nodes returns, the
  // others throw ApiError with status 0. Thread-safe.
  virtual void cancel() = 0;
};

// Process-wide counts of this library's API traffic, for metrics. Cancelled calls count as
// neither answered nor failed.
struct ClientStats {
  std::uint64_t requests = 0;      // calls the server answered, whatever the status (watches too)
  std::uint64_t failures = 0;      // no answer, an answer >= 400, a watch stream ending in error
  std::uint64_t watch_events = 0;  // events received on watch streams
};
ClientStats client_stats();

// Throws CredentialsError when the credentials cannot be loaded into TLS (a bad PEM).
std::unique_ptr<Client> make_client(Credentials credentials, ClientOptions options = {});

}  // namespace kubernetes
