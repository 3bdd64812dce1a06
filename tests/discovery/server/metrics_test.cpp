// Metric names and values in the exposition, and the client_version label table.
#include "discovery/server/metrics.h"

#include <gtest/gtest.h>

#include "discovery/server/state.h"

namespace discovery::server {
namespace {

TEST(Metrics, ClientVersionLabel) {
  EXPECT_EQ(client_version_label("v1.8.3"), "v1.8");
  EXPECT_EQ(client_version_label("v1.8.3-alpha.1"), "v1.8-pre");
  EXPECT_EQ(client_version_label("v10.20.3"), "v10.20");
  EXPECT_EQ(client_version_label("v1.2"), "unknown");
  EXPECT_EQ(client_version_label("1.8.3"), "unknown");
  EXPECT_EQ(client_version_label("v1000.1.1"), "unknown");
  EXPECT_EQ(client_version_label("v1.1000.1"), "unknown");
  EXPECT_EQ(client_version_label("vab.cde.x"), "unknown") << "digits required, unlike upstream";
  EXPECT_EQ(client_version_label(""), "unknown");
}

TEST(Metrics, RendersUpstreamNamesAndOurs) {
  Metrics metrics(true);
  metrics.hello("v1.8.3");
  metrics.hello("bogus");
  metrics.rpc_started(Method::kList);
  metrics.rpc_handled(Method::kList, 8, std::chrono::milliseconds(50));
  metrics.gc({1, 2, 3});
  metrics.rate_limit_wait();
  metrics.rate_limit_reject();
  metrics.rate_limit_reject();
  metrics.storage({.save = true, .ok = true, .bytes = 93, .clusters = 2});
  StateStats stats{4, 5, 6, 7, 8};
  const std::string text = metrics.render({&stats, 9});
  for (std::string_view line : {
           "discovery_state_clusters 4\n",
           "discovery_state_affiliates 5\n",
           "discovery_state_endpoints 6\n",
           "discovery_state_subscriptions 7\n",
           "discovery_state_watch_coalesced_changes_total 8\n",
           "discovery_state_gc_runs_total 1\n",
           "discovery_state_gc_clusters_total 1\n",
           "discovery_state_gc_affiliates_total 2\n",
           "discovery_ratelimit_waits_total 1\n",
           "discovery_ratelimit_rejects_total 2\n",
           "discovery_ratelimit_buckets 9\n",
           "discovery_server_hello_requests_total{client_version=\"v1.8\"} 1\n",
           "discovery_server_hello_requests_total{client_version=\"unknown\"} 1\n",
           "grpc_server_started_total{grpc_method=\"List\",grpc_service=\"sidero.discovery.server."
           "Cluster\",grpc_type=\"unary\"} 1\n",
           "grpc_server_handled_total{grpc_code=\"ResourceExhausted\",grpc_method=\"List\"",
           "grpc_server_handling_seconds_bucket{grpc_method=\"List\",grpc_service=\"sidero."
           "discovery.server.Cluster\",grpc_type=\"unary\",le=\"0.01\"} 0\n",
           "grpc_server_handling_seconds_bucket{grpc_method=\"List\",grpc_service=\"sidero."
           "discovery.server.Cluster\",grpc_type=\"unary\",le=\"0.1\"} 1\n",
           "grpc_server_started_total{grpc_method=\"Watch\",grpc_service=\"sidero.discovery."
           "server.Cluster\",grpc_type=\"server_stream\"} 0\n",
           "discovery_storage_operations_total{operation=\"save\",status=\"success\"} 1\n",
           "discovery_storage_last_snapshot_size_bytes{operation=\"save\"} 93\n",
           "discovery_storage_snapshot_age_seconds ",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n---\n" << text;
  }
  EXPECT_EQ(Metrics(false).render({&stats, 0}).find("discovery_storage"), std::string::npos)
      << "storage metrics exist only with snapshots enabled, as upstream";
}

}  // namespace
}  // namespace discovery::server
