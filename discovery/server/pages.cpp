// The landing site and metrics routes. HTML output escapes everything that came from a client.
#include "discovery/server/pages.h"

#include <fmt/format.h>

#include <memory>
#include <mutex>

#include "discovery/server/registry.h"
#include "platform/log_value.h"
#include "platform/prometheus.h"

namespace discovery::server {
namespace {

constexpr std::string_view kIndex = R"(<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Discovery service</title></head>
<body>
<h1>Discovery service</h1>
<p>This service helps the nodes of a Talos Linux cluster find each other. Nodes of a cluster share
a cluster ID and a secret key; each node publishes a record about itself here and watches the
records of the others.</p>
<p>The service never sees anything readable: a node encrypts its record (addresses, hostname,
KubeSpan keys) with AES-GCM, and each of its endpoints with AES in ECB mode so that equal endpoints
reported by different nodes match, all under the cluster's key, which the service never receives.
It stores the encrypted blobs, merges endpoint reports, and forwards changes to watchers.</p>
<p>Records live only as long as their time-to-live, set by the clients (at most 30 minutes); nodes
refresh them while they run. The registry is kept in memory and saved to a snapshot periodically
and on shutdown, so a restart does not make nodes lose sight of each other.</p>
<p>API: gRPC <code>sidero.discovery.server.Cluster</code>. Statistics: <a href="/stats">/stats</a>.</p>
</body>
</html>
)";

std::string html_escape(std::string_view in) {
  static constexpr platform::CharEscape kHtml[] = {
      {'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&#39;"},
  };
  return platform::escape(in, kHtml);
}

std::string hex(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 2);
  for (unsigned char c : in) out += fmt::format("{:02x}", c);
  return out;
}

HttpResponse not_found() {
  return {404, "text/plain; charset=utf-8", "404 page not found\n", {}};
}

HttpResponse inspect(const Registry& registry, std::string_view target) {
  std::optional<std::string> cluster = query_param(target, "clusterID");
  std::string body =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Inspect</title>"
      "</head><body>\n<form method=\"get\"><label>Cluster ID <input name=\"clusterID\"></label> "
      "<button>Inspect</button></form>\n";
  if (cluster && !cluster->empty()) {
    auto affiliates = registry.list(*cluster);
    body += fmt::format("<p>{} affiliates</p>\n<ul>\n", affiliates.size());
    for (const auto& a : affiliates) {
      body += fmt::format("<li><b>{}</b> data ({} bytes): <code>{}</code><ul>\n",
                          html_escape(a->id), a->data.size(), hex(a->data));
      for (const auto& e : a->endpoints) body += fmt::format("<li><code>{}</code></li>\n", hex(e));
      body += "</ul></li>\n";
    }
    body += "</ul>\n";
  }
  body += "</body></html>\n";
  return {200, "text/html; charset=utf-8", std::move(body), {}};
}

// /stats from a cache; concurrent requests all come from the one server thread, so the mutex is
// only for clarity about what it guards.
class StatsCache {
 public:
  StatsCache(const Registry& registry, std::chrono::nanoseconds ttl) : registry_(registry), ttl_(ttl) {}

  std::string get() {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (!body_.empty() && now - computed_ < ttl_) return body_;
    body_ = fmt::format("{{\"affiliates\":{}}}", registry_.stats().affiliates);
    computed_ = now;
    return body_;
  }

 private:
  const Registry& registry_;
  const std::chrono::nanoseconds ttl_;
  std::mutex mu_;  // guards body_ and computed_
  std::string body_;
  std::chrono::steady_clock::time_point computed_;
};

}  // namespace

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string_view raw = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        out += ' ';
      } else if (raw[i] == '%') {
        auto digit = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          return -1;
        };
        if (i + 2 >= raw.size() || digit(raw[i + 1]) < 0 || digit(raw[i + 2]) < 0) {
          return std::nullopt;
        }
        out += static_cast<char>(digit(raw[i + 1]) * 16 + digit(raw[i + 2]));
        i += 2;
      } else {
        out += raw[i];
      }
    }
    return out;
  }
  return std::nullopt;
}

HttpHandler landing_handler(const Registry& registry, LandingOptions options) {
  auto stats = std::make_shared<StatsCache>(registry, options.stats_cache);
  return [&registry, options, stats](const HttpRequest& req) -> HttpResponse {
    if (req.method != "GET" && req.method != "HEAD") {
      return {405, "text/plain; charset=utf-8", "method not allowed\n", {{"Allow", "GET, HEAD"}}};
    }
    const std::string_view path = platform::http_path(req.target);
    if (path == "/") return {200, "text/html; charset=utf-8", std::string(kIndex), {}};
    if (path == "/healthz") {
      if (options.healthy && !options.healthy()) {
        return {503, "text/plain; charset=utf-8", "grpc listener not answering\n", {}};
      }
      return {200, "text/plain; charset=utf-8", "ok\n", {}};
    }
    if (path == "/stats") {
      return {200, "application/json", stats->get(), {{"Access-Control-Allow-Origin", "*"}}};
    }
    if (path == "/inspect" && options.enable_inspect) return inspect(registry, req.target);
    return not_found();
  };
}

HttpHandler metrics_handler(std::function<std::string()> render) {
  return [render = std::move(render)](const HttpRequest& req) -> HttpResponse {
    if (platform::http_path(req.target) != "/metrics") return not_found();
    if (req.method != "GET" && req.method != "HEAD") {
      return {405, "text/plain; charset=utf-8", "method not allowed\n", {{"Allow", "GET, HEAD"}}};
    }
    return platform::prometheus_response(render());
  };
}

}  // namespace discovery::server
