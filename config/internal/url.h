// The slice of Go's net/url that Talos's endpoint checks depend on: scheme, host, port, path.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/machine_config.h"

namespace config::internal {

struct Url {
  std::string scheme;  // lowercased; empty when absent
  std::string host;    // without brackets
  std::string port;
  std::string path;
  bool bracketed = false;
};

// Go's url.Parse, reduced; null with the reason in *error on failure.
std::optional<Url> parse_url(std::string_view raw, std::string* error);

// A DiscoveryServiceConfig endpoint: Talos's message, or null when usable.
std::optional<std::string> check_endpoint(std::string_view raw);

// The legacy endpoint: Go's ParseRequestURI rule, then (stricter than Talos) check_endpoint.
std::optional<std::string> check_request_uri(std::string_view raw);

std::string url_path(std::string_view raw);

// Throws std::invalid_argument with the check_endpoint message.
Endpoint normalize(std::string_view raw);

}  // namespace config::internal
