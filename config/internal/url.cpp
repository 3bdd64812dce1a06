// Endpoint URL parsing and normalization, as Talos's NormalizeEndpoint does it.
#include "config/internal/url.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace config::internal {
namespace {

bool scheme_char(char c, bool first) {
  if (std::isalpha(static_cast<unsigned char>(c))) return true;
  return !first &&
         (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.');
}

}  // namespace

std::optional<Url> parse_url(std::string_view raw, std::string* error) {
  Url u;
  std::string_view rest = raw;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == ':' && i > 0) {
      u.scheme = std::string(raw.substr(0, i));
      std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      rest = raw.substr(i + 1);
      break;
    }
    if (!scheme_char(raw[i], i == 0)) break;
  }
  if (u.scheme.empty()) {
    auto slash = rest.find('/');
    if (rest.substr(0, slash).find(':') != std::string_view::npos) {
      *error = "first path segment in URL cannot contain colon";
      return std::nullopt;
    }
  }
  rest = rest.substr(0, rest.find('#'));
  rest = rest.substr(0, rest.find('?'));
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    auto end = rest.find('/');
    std::string_view authority = rest.substr(0, end);
    u.path = end == std::string_view::npos ? "" : std::string(rest.substr(end));
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      authority.remove_prefix(at + 1);
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
      auto close = authority.find(']');
      if (close == std::string_view::npos) {
        *error = "missing ']' in host";
        return std::nullopt;
      }
      u.host = std::string(authority.substr(1, close - 1));
      u.bracketed = true;
      auto after = authority.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') {
          *error = "invalid port \"" + std::string(after) + "\" after host";
          return std::nullopt;
        }
        port = after.substr(1);
      }
    } else {
      auto colon = authority.rfind(':');
      u.host = std::string(authority.substr(0, colon));
      if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (!std::all_of(port.begin(), port.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      *error = "invalid port \":" + std::string(port) + "\" after host";
      return std::nullopt;
    }
    u.port = std::string(port);
  } else {
    u.path = std::string(rest);
  }
  return u;
}

std::optional<std::string> check_endpoint(std::string_view raw) {
  std::string error;
  auto u = parse_url(raw, &error);
  if (!u) return "invalid endpoint \"" + std::string(raw) + "\": " + error;
  if (u->scheme.empty()) return "endpoint scheme is required";
  if (u->scheme != "http" && u->scheme != "https" && u->scheme != "grpc") {
    return "endpoint scheme must be http://, https:// or grpc://";
  }
  if (u->host.empty()) return "endpoint host is required";
  return std::nullopt;
}

std::optional<std::string> check_request_uri(std::string_view raw) {
  std::string error;
  auto u = parse_url(raw, &error);
  if (!u) return "parse \"" + std::string(raw) + "\": " + error;
  if (u->scheme.empty() && (raw.empty() || raw.front() != '/')) {
    return "parse \"" + std::string(raw) + "\": invalid URI for request";
  }
  return check_endpoint(raw);
}

std::string url_path(std::string_view raw) {
  std::string error;
  auto u = parse_url(raw, &error);
  return u ? u->path : std::string();
}

Endpoint normalize(std::string_view raw) {
  if (auto err = check_endpoint(raw)) throw std::invalid_argument(*err);
  std::string error;
  auto u = *parse_url(raw, &error);
  Endpoint e;
  e.insecure = u.scheme == "http";
  std::string port = u.port.empty() ? (e.insecure ? "80" : "443") : u.port;
  bool v6 = u.bracketed || u.host.find(':') != std::string::npos;
  e.host_port = (v6 ? "[" + u.host + "]" : u.host) + ":" + port;
  return e;
}

}  // namespace config::internal
