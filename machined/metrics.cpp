// Prometheus text rendering of machined's counters, and the /metrics route.
#include "machined/metrics.h"

#include "platform/http_server_on_executor.h"
#include "platform/prometheus.h"

namespace machined {
namespace {

platform::HttpResponse not_found(const platform::HttpRequest& /*request*/) {
  return {404, "text/plain; charset=utf-8", "not found; metrics are at /metrics\n", {}};
}

}  // namespace

std::string render_metrics(const std::vector<runtime::controller::ControllerStats>& controllers,
                           const runtime::state::InMemoryStateStats& state,
                           const kubernetes::ClientStats& kubernetes,
                           const platform::ListenerCounts& api_connections,
                           const ApiCallCounts& api_calls) {
  platform::PrometheusWriter w;
  const struct {
    const char* name;
    const char* help;
    std::uint64_t runtime::controller::ControllerStats::*field;
  } counters[] = {
      {"machined_controller_wakeups_total", "Input changes that woke the controller.",
       &runtime::controller::ControllerStats::wakeups},
      {"machined_controller_reconciles_total", "Reconcile passes begun.",
       &runtime::controller::ControllerStats::reconciles},
      {"machined_controller_crashes_total", "Starts and reconcile passes that failed.",
       &runtime::controller::ControllerStats::crashes},
  };
  for (const auto& counter : counters) {
    w.family(counter.name, "counter", counter.help);
    for (const auto& c : controllers) {
      w.sample(counter.name, platform::prometheus_label("controller", c.name), c.*counter.field);
    }
  }
  w.metric("machined_state_watchers", "gauge", "Live watches on the resource store.",
           state.watchers);
  w.metric("machined_state_watch_resyncs_total", "counter",
           "Watchers that fell behind the event history and were rebootstrapped.", state.resyncs);
  w.metric("machined_kubernetes_requests_total", "counter",
           "Kubernetes API calls answered (the Kubernetes registry), watches included.",
           kubernetes.requests);
  w.metric("machined_kubernetes_failures_total", "counter",
           "Kubernetes API calls without an answer, with an error status, or whose watch ended in "
           "an error.",
           kubernetes.failures);
  w.metric("machined_kubernetes_watch_events_total", "counter",
           "Node events received on Kubernetes watches.", kubernetes.watch_events);
  platform::write_connection_metrics(w, api_connections);
  w.family("machined_api_calls_total", "counter",
           "Calls to the TCP API by route: served here, forwarded to one node, one-to-many, or "
           "refused by routing.");
  for (const auto& [route, value] : {std::pair{"local", api_calls.local},
                                     {"node", api_calls.node},
                                     {"nodes", api_calls.nodes},
                                     {"refused", api_calls.refused}}) {
    w.sample("machined_api_calls_total", platform::prometheus_label("route", route), value);
  }
  w.metric("machined_api_unreachable_nodes_total", "counter",
           "Other nodes a forwarded call could not reach, per node asked.", api_calls.unreachable);
  return w.text();
}

std::unique_ptr<platform::HttpServer> start_metrics_server(runtime::state::Executor executor,
                                                           const std::string& address,
                                                           std::function<std::string()> render) {
  auto metrics = [render = std::move(render)](const platform::HttpRequest& request) {
    if (request.method != "GET") return not_found(request);
    return platform::prometheus_response(render());
  };
  return platform::start_http_server(std::move(executor), address,
                                     platform::route_by_path({{"/metrics", metrics}}, not_found));
}

}  // namespace machined
