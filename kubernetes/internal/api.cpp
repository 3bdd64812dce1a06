// The API's text formats. Everything read here came from the network: any shape is accepted or
// refused with a ParseError, and a missing field reads as empty.
#include "kubernetes/internal/api.h"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/beast/http/status.hpp>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>

#include "kubernetes/internal/files.h"

namespace kubernetes::internal {
namespace {

using nlohmann::json;

constexpr std::string_view kNodesPath = "/api/v1/nodes";
constexpr std::size_t kMaxMessage = 512;

// The server's words go into a one-line error: line breaks and control characters become
// spaces, and a runaway message (a proxy's HTML page) is cut.
std::string one_line(std::string_view text) {
  std::string out(text.substr(0, kMaxMessage));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (text.size() > kMaxMessage) out += "...";
  return out;
}

json parse_json(std::string_view text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw ParseError(std::string("not JSON: ") + e.what());
  }
}

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string string_of(const json* value) {
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

std::map<std::string, std::string> string_map(const json* value) {
  std::map<std::string, std::string> out;
  if (value == nullptr || !value->is_object()) return out;
  for (const auto& [key, item] : value->items()) {
    if (item.is_string()) out.emplace(key, item.get<std::string>());
  }
  return out;
}

Node node_from(const json& object) {
  if (!object.is_object()) throw ParseError("a Node is not a JSON object");
  const std::string kind = string_of(member(object, "kind"));
  if (!kind.empty() && kind != "Node")
    throw ParseError("expected a Node, got kind " + one_line(kind));
  Node node;
  if (const json* metadata = member(object, "metadata")) {
    node.name = string_of(member(*metadata, "name"));
    node.uid = string_of(member(*metadata, "uid"));
    node.resource_version = string_of(member(*metadata, "resourceVersion"));
    node.labels = string_map(member(*metadata, "labels"));
    node.annotations = string_map(member(*metadata, "annotations"));
  }
  if (const json* status = member(object, "status")) {
    if (const json* addresses = member(*status, "addresses"); addresses && addresses->is_array()) {
      for (const auto& address : *addresses) {
        if (string_of(member(address, "type")) == "Hostname") {
          node.hostname = string_of(member(address, "address"));
          break;
        }
      }
    }
    if (const json* info = member(*status, "nodeInfo")) {
      node.os_image = string_of(member(*info, "osImage"));
    }
  }
  return node;
}

Status status_from(const json& object, int fallback_code) {
  Status out;
  const json* code = member(object, "code");
  out.code = fallback_code;
  if (code != nullptr && code->is_number_integer()) {
    const auto value = code->get<std::int64_t>();
    if (value > 0 && value < 1000) out.code = static_cast<int>(value);
  }
  out.reason = string_of(member(object, "reason"));
  out.message = one_line(string_of(member(object, "message")));
  return out;
}

// "Service Unavailable" -> "ServiceUnavailable", the shape of Kubernetes reasons.
std::string http_reason(int status) {
  std::string out(
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status)));
  std::erase(out, ' ');
  return out;
}

std::string_view first_line(std::string_view body) {
  body = trim(body);
  return trim(body.substr(0, body.find('\n')));
}

bool is_unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

bool is_ip(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

std::string ServerUrl::host_header() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

std::string ServerUrl::origin() const { return "https://" + host_header(); }

std::optional<ServerUrl> parse_server(std::string_view server, std::string* error) {
  auto refuse = [&](const std::string& why) -> std::optional<ServerUrl> {
    *error = one_line(server) + " " + why;
    return std::nullopt;
  };
  const auto scheme_end = server.find("://");
  if (scheme_end == std::string_view::npos) return refuse("has no https:// scheme");
  std::string scheme(server.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme == "http") return refuse("uses plain http, which is refused (https only)");
  if (scheme != "https") return refuse("has scheme " + scheme + " (https only)");

  std::string_view rest = server.substr(scheme_end + 3);
  const auto authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view path =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (path.find_first_of("?#") != std::string_view::npos) {
    return refuse("has a query or fragment");
  }
  if (authority.find('@') != std::string_view::npos) return refuse("has user info");

  ServerUrl out;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return refuse("has an unclosed [");
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return refuse("has text after ]");
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos) {
      return refuse("has an IPv6 host without brackets");
    }
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return refuse("has no host");
  if (authority.find(':') != std::string_view::npos && !authority.starts_with('[') &&
      port.empty()) {
    return refuse("has an empty port");
  }
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
      return refuse("has an invalid port");
    }
    out.port = std::string(port);
  } else {
    out.port = "443";
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  out.base_path = std::string(path);
  out.ip = is_ip(out.host);
  if (!out.ip && authority.starts_with('[')) return refuse("has an invalid IPv6 host");
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

std::string node_path(std::string_view name) {
  return std::string(kNodesPath) + "/" + url_encode(name);
}

std::string list_path(std::string_view field_selector, std::size_t limit,
                      std::string_view continue_token) {
  std::string out = std::string(kNodesPath) + "?limit=" + std::to_string(limit);
  if (!field_selector.empty()) out += "&fieldSelector=" + url_encode(field_selector);
  if (!continue_token.empty()) out += "&continue=" + url_encode(continue_token);
  return out;
}

std::string watch_path(std::string_view resource_version, std::string_view field_selector,
                       std::chrono::seconds timeout) {
  std::string out = std::string(kNodesPath) + "?watch=1";
  if (!resource_version.empty()) out += "&resourceVersion=" + url_encode(resource_version);
  out += "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout.count());
  if (!field_selector.empty()) out += "&fieldSelector=" + url_encode(field_selector);
  return out;
}

bool lists_nodes(std::string_view method, std::string_view path) {
  return method == "GET" && path.substr(0, path.find('?')).ends_with(kNodesPath);
}

Node parse_node(std::string_view text) { return node_from(parse_json(text)); }

NodePage parse_node_page(std::string_view text) {
  const json list = parse_json(text);
  if (!list.is_object()) throw ParseError("a NodeList is not a JSON object");
  const std::string kind = string_of(member(list, "kind"));
  if (!kind.empty() && kind != "NodeList") {
    throw ParseError("expected a NodeList, got kind " + one_line(kind));
  }
  NodePage out;
  if (const json* items = member(list, "items"); items != nullptr && !items->is_null()) {
    if (!items->is_array()) throw ParseError("NodeList items is not an array");
    for (const auto& item : *items) out.list.items.push_back(node_from(item));
  }
  if (const json* metadata = member(list, "metadata")) {
    out.list.resource_version = string_of(member(*metadata, "resourceVersion"));
    out.continue_token = string_of(member(*metadata, "continue"));
  }
  return out;
}

Status parse_status(int http_status, std::string_view body) {
  try {
    const json object = json::parse(body);
    if (object.is_object() && (member(object, "message") || member(object, "reason"))) {
      Status out = status_from(object, http_status);
      if (out.reason.empty()) out.reason = http_reason(http_status);
      return out;
    }
  } catch (const json::exception&) {
    // Not a Status: a proxy's or load balancer's page; its first line is the message.
  }
  Status out;
  out.code = http_status;
  out.reason = http_reason(http_status);
  out.message = one_line(first_line(body));
  return out;
}

std::variant<WatchEvent, Status> parse_watch_line(std::string_view line) {
  const json event = parse_json(line);
  if (!event.is_object()) throw ParseError("a watch event is not a JSON object");
  const std::string type = string_of(member(event, "type"));
  const json* object = member(event, "object");
  if (object == nullptr) throw ParseError("watch event " + one_line(type) + " has no object");
  if (type == "ERROR") return status_from(*object, 500);
  static const std::map<std::string, WatchEvent::Type, std::less<>> kTypes = {
      {"ADDED", WatchEvent::Type::kAdded},
      {"MODIFIED", WatchEvent::Type::kModified},
      {"DELETED", WatchEvent::Type::kDeleted},
      {"BOOKMARK", WatchEvent::Type::kBookmark},
  };
  const auto found = kTypes.find(type);
  if (found == kTypes.end()) throw ParseError("unknown watch event type " + one_line(type));
  WatchEvent out{found->second, node_from(*object)};
  if (out.type == WatchEvent::Type::kBookmark) {
    Node bookmark;
    bookmark.resource_version = std::move(out.node.resource_version);
    out.node = std::move(bookmark);
  }
  return out;
}

std::string annotations_patch(
    const std::map<std::string, std::optional<std::string>>& annotations) {
  json values = json::object();
  for (const auto& [key, value] : annotations) {
    values[key] = value ? json(*value) : json(nullptr);
  }
  json patch = {{"metadata", {{"annotations", std::move(values)}}}};
  try {
    return patch.dump();
  } catch (const json::exception&) {
    throw ParseError("an annotation key or value is not valid UTF-8");
  }
}

std::string error_message(std::string_view method, std::string_view url, int http_status,
                          const Status& status, const Credentials& credentials) {
  std::string out = std::string(method) + " " + one_line(url) + ": " + std::to_string(http_status);
  if (!status.reason.empty()) out += " " + one_line(status.reason);
  if (!status.message.empty()) out += ": " + one_line(status.message);
  if (http_status == 401 || http_status == 403) {
    out += "; credentials: " + one_line(credentials.description);
  }
  if (http_status == 403 && lists_nodes(method, url) &&
      (!credentials.node_user.empty() ||
       status.message.find("User \"system:node:") != std::string::npos)) {
    out +=
        "; Kubernetes 1.32+ (AuthorizeNodeWithSelectors) forbids a node's credentials to list or "
        "watch other Nodes: the Kubernetes registry needs admin or service-account credentials "
        "to pull";
  }
  return out;
}

std::string failure_message(std::string_view method, std::string_view url, std::string_view what) {
  return std::string(method) + " " + one_line(url) + ": " + one_line(what);
}

}  // namespace kubernetes::internal
