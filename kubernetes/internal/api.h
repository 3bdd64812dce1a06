// The Kubernetes API's text formats, apart from any transport so they are tested on their own:
// server URLs, request paths, the JSON of Nodes, lists, watch events and Status answers, and the
// one-line messages of ApiError.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "kubernetes/client.h"
#include "kubernetes/credentials.h"
#include "kubernetes/node.h"

namespace kubernetes::internal {

// "https://host:port/prefix" taken apart. A kubeconfig server may carry a path prefix (an API
// proxy's); request paths are appended to it.
struct ServerUrl {
  std::string host;       // without brackets
  std::string port;       // "443" when absent
  std::string base_path;  // "" or "/prefix" without the trailing slash
  bool ip = false;        // host is an IP literal: verified as an IP, no SNI

  std::string host_header() const;  // "host:port", IPv6 bracketed
  std::string origin() const;       // "https://host:port"
};

// Null with the reason in *error for anything but an https URL with a host.
std::optional<ServerUrl> parse_server(std::string_view server, std::string* error);

// Percent-encodes every byte except RFC 3986's unreserved characters, for query values and
// path segments.
std::string url_encode(std::string_view text);

std::string node_path(std::string_view name);
// One page of a Node list; `continue_token` empty for the first.
std::string list_path(std::string_view field_selector, std::size_t limit,
                      std::string_view continue_token);
std::string watch_path(std::string_view resource_version, std::string_view field_selector,
                       std::chrono::seconds timeout);
bool lists_nodes(std::string_view method, std::string_view path);

// Input that is not what the API returns; what() says what is wrong. The client turns it into an
// ApiError that names the request.
class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Node parse_node(std::string_view json);

struct NodePage {
  NodeList list;
  std::string continue_token;  // empty on the last page
};
NodePage parse_node_page(std::string_view json);

// What an error answer says. From a Kubernetes Status body when there is one, else (a proxy's
// page, an empty body) the HTTP reason and the body's first line.
struct Status {
  int code = 0;
  std::string reason;   // e.g. "Forbidden", "Expired"
  std::string message;  // one line
};
Status parse_status(int http_status, std::string_view body);

// One line of a watch stream: an event, or the Status of an ERROR event.
std::variant<WatchEvent, Status> parse_watch_line(std::string_view line);

// {"metadata":{"annotations":{...}}} with null for each annotation to remove.
std::string annotations_patch(const std::map<std::string, std::optional<std::string>>& annotations);

// The what() of an ApiError for an error answer to `method url`: status, reason and message, the
// credential for 401 and 403, and for a node credential refused a Node list or watch, why.
std::string error_message(std::string_view method, std::string_view url, int http_status,
                          const Status& status, const Credentials& credentials);
// The what() of an ApiError when there is no usable answer: `what` says why.
std::string failure_message(std::string_view method, std::string_view url, std::string_view what);

}  // namespace kubernetes::internal
