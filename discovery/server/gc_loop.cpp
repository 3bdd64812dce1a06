// Periodic garbage collection of a State.
#include "discovery/server/gc_loop.h"

#include <spdlog/spdlog.h>

#include "discovery/server/state.h"

namespace discovery::server {

GcLoop::GcLoop(State& state, std::chrono::nanoseconds interval,
               std::function<void(const GcResult&)> on_run)
    : state_(state), on_run_(std::move(on_run)), loop_(interval, [this] { run_once(); }, true) {}

void GcLoop::run_once() {
  GcResult gc = state_.collect_garbage();
  if (on_run_) on_run_(gc);
  StateStats stats = state_.stats();
  const bool removed = gc.clusters_removed + gc.affiliates_removed + gc.endpoints_removed > 0;
  spdlog::log(removed ? spdlog::level::info : spdlog::level::debug,
              "gc removed_clusters={} removed_affiliates={} removed_endpoints={} clusters={} "
              "affiliates={} endpoints={} watches={}",
              gc.clusters_removed, gc.affiliates_removed, gc.endpoints_removed, stats.clusters,
              stats.affiliates, stats.endpoints, stats.watches);
}

}  // namespace discovery::server
