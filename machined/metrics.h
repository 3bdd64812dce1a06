// machined's Prometheus metrics: controller counters from the engine, watch counters from the
// store and the Kubernetes registry's API traffic, rendered in the text exposition format and
// served over plain HTTP.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kubernetes/client.h"
#include "machined/api_proxy.h"
#include "platform/connection_limits.h"
#include "platform/http_server.h"
#include "runtime/controller/engine.h"
#include "runtime/state/inmem_state.h"

namespace machined {

std::string render_metrics(const std::vector<runtime::controller::ControllerStats>& controllers,
                           const runtime::state::InMemoryStateStats& state,
                           const kubernetes::ClientStats& kubernetes,
                           const platform::ListenerCounts& api_connections,
                           const ApiCallCounts& api_calls);

// Serves GET /metrics (everything else is 404) on `address` ("host:port" or ":port"), calling
// `render` per request on `executor`. Throws std::invalid_argument for a malformed address and
// std::runtime_error when it cannot listen.
std::unique_ptr<platform::HttpServer> start_metrics_server(runtime::state::Executor executor,
                                                           const std::string& address,
                                                           std::function<std::string()> render);

}  // namespace machined
