// The connection cap kept below the descriptor limit, and the connection counters' metrics.
#include "platform/connection_limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "platform/prometheus.h"

namespace platform {
namespace {

using ::testing::HasSubstr;

TEST(ConnectionLimits, TotalStaysBelowTheDescriptorLimit) {
  EXPECT_EQ(connections_within(1048576, 50000), 50000u);
  EXPECT_EQ(connections_within(4096, 50000), 3072u) << "1024 left for everything else";
  EXPECT_EQ(connections_within(1024, 50000), 512u) << "a small limit is halved";
  EXPECT_EQ(connections_within(2048, 0), 1024u) << "0 asks for all the room there is";
  EXPECT_EQ(connections_within(1024, 100), 100u);
}

TEST(ConnectionLimits, MetricsCountRefusalsByCap) {
  PrometheusWriter writer;
  write_connection_metrics(writer, {.accepted = 7, .refused_total = 2, .refused_per_address = 3});
  EXPECT_THAT(writer.text(), HasSubstr("grpc_server_connections_accepted_total 7\n"));
  EXPECT_THAT(writer.text(), HasSubstr("grpc_server_connections_refused_total{cap=\"total\"} 2\n"));
  EXPECT_THAT(writer.text(),
              HasSubstr("grpc_server_connections_refused_total{cap=\"per-address\"} 3\n"));
}

}  // namespace
}  // namespace platform
