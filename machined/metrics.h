// machined's Prometheus metrics: controller counters from the engine and watch counters from
// the store, rendered in the text exposition format and served over plain HTTP.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/controller/engine.h"
#include "runtime/state/inmem_state.h"

namespace machined {

std::string render_metrics(const std::vector<runtime::controller::ControllerStats>& controllers,
                           const runtime::state::InMemoryStateStats& state);

class MetricsServer {
 public:
  virtual ~MetricsServer() = default;
  virtual int port() const = 0;
  // Stops accepting and closes open connections; blocks until done. Not from an executor thread.
  virtual void stop() = 0;
};

// Serves GET /metrics (everything else is 404) on `address` ("host:port" or ":port"), calling
// `render` per request on `executor`. Throws std::runtime_error when it cannot listen.
std::unique_ptr<MetricsServer> start_metrics_server(runtime::state::Executor executor,
                                                    const std::string& address,
                                                    std::function<std::string()> render);

}  // namespace machined
