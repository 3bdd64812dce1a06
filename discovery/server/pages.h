// What the discovery-service serves over HTTP: the landing site (/, /stats, /healthz, optional
// /inspect) and the Prometheus endpoint (/metrics).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "platform/http_server.h"

namespace discovery::server {

using platform::HttpHandler;
using platform::HttpRequest;
using platform::HttpResponse;
using platform::HttpServer;

class Registry;

struct LandingOptions {
  bool enable_inspect = false;  // /inspect shows a cluster's affiliate IDs and blob sizes
  // /stats is served from a cache this old at most (it feeds a public counter; a scan per request
  // would let anyone make the server walk the whole registry).
  std::chrono::nanoseconds stats_cache = std::chrono::hours(1);
  // /healthz answers 503 while this says false (the gRPC listener's self-probe); null: always ok.
  std::function<bool()> healthy = {};
};

// Reads never create state. `registry` must outlive the handler.
HttpHandler landing_handler(const Registry& registry, LandingOptions options);

// Serves `render()` at /metrics in the Prometheus text format.
HttpHandler metrics_handler(std::function<std::string()> render);

// Decodes one query parameter ("clusterID" from "/inspect?clusterID=a%2Bb") with HTML-form rules
// ('+' is a space); nullopt when absent or badly escaped.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

}  // namespace discovery::server
