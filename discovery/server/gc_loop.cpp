// Periodic garbage collection of a State.
#include "discovery/server/gc_loop.h"

#include <spdlog/spdlog.h>

#include "discovery/server/state.h"

namespace discovery::server {

GcLoop::GcLoop(State& state, std::chrono::nanoseconds interval)
    : state_(state), interval_(interval), thread_([this](std::stop_token stop) { run(stop); }) {}

GcLoop::~GcLoop() {
  thread_.request_stop();
  thread_.join();
}

void GcLoop::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    GcResult gc = state_.collect_garbage();
    StateStats stats = state_.stats();
    const bool removed = gc.clusters_removed + gc.affiliates_removed + gc.endpoints_removed > 0;
    spdlog::log(removed ? spdlog::level::info : spdlog::level::debug,
                "gc removed_clusters={} removed_affiliates={} removed_endpoints={} clusters={} "
                "affiliates={} endpoints={} watches={}",
                gc.clusters_removed, gc.affiliates_removed, gc.endpoints_removed, stats.clusters,
                stats.affiliates, stats.endpoints, stats.watches);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, stop, interval_, [] { return false; });
  }
}

}  // namespace discovery::server
