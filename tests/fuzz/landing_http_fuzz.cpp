// libFuzzer target: the discovery-service's HTTP handlers (landing site, /stats, /healthz,
// /inspect, /metrics) and their request helpers, over a registry filled with records whose IDs
// come from the input. The input is a few registry writes, then requests (method and target as
// sent). Every answer has a known status; /inspect shows the queried cluster with everything from
// clients escaped (no markup but the page's own); /stats counts the registry; query decoding
// inverts percent-encoding.
#include <map>
#include <set>
#include <string>

#include "discovery/server/metrics.h"
#include "discovery/server/pages.h"
#include "discovery/server/state.h"
#include "tests/discovery/server/manual_clock.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

namespace ds = discovery::server;
using fuzz::check;
using fuzz::fail;

// The only tags the pages write themselves; anything else came from a client.
bool own_markup(const std::string& body) {
  static const std::set<std::string> kTags = {
      "!DOCTYPE", "html",  "/html", "head",  "/head", "meta",   "title", "/title",
      "body",     "/body", "h1",    "/h1",   "p",     "/p",     "a",     "/a",
      "code",     "/code", "form",  "/form", "label", "/label", "input", "button",
      "/button",  "ul",    "/ul",   "li",    "/li",   "b",      "/b"};
  for (std::size_t at = body.find('<'); at != std::string::npos; at = body.find('<', at + 1)) {
    const std::size_t end = body.find_first_of(" >", at + 1);
    if (end == std::string::npos || !kTags.count(body.substr(at + 1, end - at - 1))) return false;
  }
  return true;
}

std::string percent_encoded(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string cluster_id(fuzz::Input& in) {
  const std::uint8_t c = in.u8();
  return c == 0xff ? in.str() : "c" + std::to_string(c % 4);
}

class Harness {
 public:
  explicit Harness(fuzz::Input& in) {
    options_.enable_inspect = in.flag();
    options_.stats_cache = std::chrono::nanoseconds(0);
    healthy_ = in.flag();
    options_.healthy = [this] { return healthy_; };
    landing_ = ds::landing_handler(state_, options_);
    metrics_handler_ = ds::metrics_handler([this] {
      const ds::StateStats stats = state_.stats();
      return metrics_.render({&stats, 0});
    });
  }

  void update(fuzz::Input& in) {
    const std::string cluster = cluster_id(in);
    const std::string affiliate = in.str();
    const std::string data = in.str();
    std::vector<std::string> endpoints;
    const int count = in.u8() % 3;
    for (int i = 0; i < count; ++i) endpoints.push_back(in.str());
    if (cluster.empty() || affiliate.empty()) return;
    ds::AffiliateUpdate update{cluster, affiliate, data, {}, std::chrono::minutes(5)};
    for (const auto& e : endpoints) update.endpoints.push_back(e);
    state_.update(update);
    metrics_.hello(data);
  }

  void request(const std::string& method, const std::string& target) {
    const ds::HttpResponse resp = landing_({method, target});
    const std::string_view path = platform::http_path(target);
    check(path == target.substr(0, target.find('?')), "the path is the target before '?'");
    if (method != "GET" && method != "HEAD") {
      check(resp.status == 405, "other methods are refused", method);
      check(!resp.headers.empty() && resp.headers.front().first == "Allow", "405 says what is");
      return;
    }
    if (path == "/") {
      check(resp.status == 200 && own_markup(resp.body), "the landing page");
    } else if (path == "/healthz") {
      check(resp.status == (healthy_ ? 200 : 503), "/healthz follows the probe");
    } else if (path == "/stats") {
      check(resp.status == 200, "/stats answers");
      check(resp.body == "{\"affiliates\":" + std::to_string(state_.stats().affiliates) + "}",
            "/stats counts the registry", resp.body);
    } else if (path == "/inspect" && options_.enable_inspect) {
      inspect(target, resp);
    } else {
      check(resp.status == 404, "unknown paths are not found", target);
    }
  }

  void metrics_request(const std::string& method, const std::string& target) {
    const ds::HttpResponse resp = metrics_handler_({method, target});
    if (platform::http_path(target) != "/metrics") {
      check(resp.status == 404, "the metrics server serves /metrics only");
    } else if (method != "GET" && method != "HEAD") {
      check(resp.status == 405, "metrics: other methods are refused");
    } else {
      check(resp.status == 200 && !resp.body.empty(), "metrics render");
    }
  }

  void query(const std::string& name, const std::string& value, const std::string& noise) {
    // Other parameters first, none of them of this name: this one is found, decoded.
    if (name.empty() || noise.find(name) != std::string::npos) return;
    const std::string target = "/inspect?" + noise + "&" + name + "=" + percent_encoded(value);
    check(ds::query_param(target, name) == value,
          "a percent-encoded parameter decodes to its value", target);
  }

 private:
  void inspect(const std::string& target, const ds::HttpResponse& resp) {
    check(resp.status == 200, "/inspect answers", target);
    check(own_markup(resp.body), "/inspect escapes what clients sent", resp.body);
    const auto cluster = ds::query_param(target, "clusterID");
    if (!cluster || cluster->empty()) {
      check(resp.body.find(" affiliates</p>") == std::string::npos, "no cluster, no list");
      return;
    }
    const std::string count =
        "<p>" + std::to_string(state_.list(*cluster).size()) + " affiliates</p>";
    check(resp.body.find(count) != std::string::npos, "/inspect shows the queried cluster",
          resp.body);
  }

  ds::test::ManualClock clock_;
  ds::State state_{clock_};
  ds::Metrics metrics_{false};
  ds::LandingOptions options_;
  bool healthy_ = true;
  ds::HttpHandler landing_;
  ds::HttpHandler metrics_handler_;
};

std::string method(fuzz::Input& in) {
  static const char* const kMethods[] = {"GET", "HEAD", "POST", "get", ""};
  const std::uint8_t m = in.u8();
  return m < 5 ? kMethods[m] : (m == 0xff ? in.str() : "GET");
}

std::string target(fuzz::Input& in) {
  static const char* const kTargets[] = {
      "/", "/healthz", "/stats", "/inspect", "/inspect?clusterID=", "/metrics", "/nope"};
  const std::uint8_t t = in.u8();
  std::string out = kTargets[t % 7];
  if (t & 0x80) out += in.str();  // a query, a cluster ID, or more path
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  Harness h(in);
  for (int steps = 0; !in.empty() && steps < 64; ++steps) {
    switch (in.u8() % 5) {
      case 0:
        h.update(in);
        break;
      case 1: {
        const std::string m = method(in);
        h.request(m, target(in));
        break;
      }
      case 2: {
        const std::string m = method(in);
        h.metrics_request(m, target(in));
        break;
      }
      case 3: {
        const std::string name = in.str();
        const std::string value = in.str();
        if (name.find_first_of("&=?") == std::string::npos) h.query(name, value, in.str());
        break;
      }
      case 4: {
        const std::string m = method(in);
        h.request(m, in.str16());  // a target exactly as sent
        break;
      }
    }
  }
  return 0;
}
