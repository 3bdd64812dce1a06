// The exposition text: HELP/TYPE lines, label escaping, number spelling and histogram layout.
#include "platform/prometheus.h"

#include <gtest/gtest.h>

#include <array>

namespace platform {
namespace {

TEST(Prometheus, LabelValuesAreEscaped) {
  EXPECT_EQ(prometheus_label("controller", "plain"), "controller=\"plain\"");
  EXPECT_EQ(prometheus_label("l", "a\"b\\c\nd"), "l=\"a\\\"b\\\\c\\nd\"");
}

TEST(Prometheus, FamiliesAndSamples) {
  PrometheusWriter w;
  w.family("jobs_total", "counter", "Jobs done.");
  w.sample("jobs_total", prometheus_label("kind", "a"), std::uint64_t{3});
  w.sample("jobs_total", "", std::uint64_t{18446744073709551615u});
  w.metric("ratio", "gauge", "A ratio.", 0.25);
  w.metric("whole", "gauge", "A whole double.", 2.0);
  w.metric("limit", "gauge", "Unbounded.", std::string_view("+Inf"));
  EXPECT_EQ(w.text(),
            "# HELP jobs_total Jobs done.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total{kind=\"a\"} 3\n"
            "jobs_total 18446744073709551615\n"
            "# HELP ratio A ratio.\n"
            "# TYPE ratio gauge\n"
            "ratio 0.25\n"
            "# HELP whole A whole double.\n"
            "# TYPE whole gauge\n"
            "whole 2\n"
            "# HELP limit Unbounded.\n"
            "# TYPE limit gauge\n"
            "limit +Inf\n");
}

TEST(Prometheus, HistogramBucketsSumAndCount) {
  constexpr std::array<double, 2> kBounds = {0.1, 1};
  constexpr std::array<std::uint64_t, 2> kCounts = {1, 2};
  PrometheusWriter w;
  w.histogram("rpc_seconds", "m=\"x\"", kBounds, kCounts, 1.5, 3);
  w.histogram("bare_seconds", "", kBounds, kCounts, 0.5, 2);
  EXPECT_EQ(w.text(),
            "rpc_seconds_bucket{m=\"x\",le=\"0.1\"} 1\n"
            "rpc_seconds_bucket{m=\"x\",le=\"1\"} 2\n"
            "rpc_seconds_bucket{m=\"x\",le=\"+Inf\"} 3\n"
            "rpc_seconds_sum{m=\"x\"} 1.5\n"
            "rpc_seconds_count{m=\"x\"} 3\n"
            "bare_seconds_bucket{le=\"0.1\"} 1\n"
            "bare_seconds_bucket{le=\"1\"} 2\n"
            "bare_seconds_bucket{le=\"+Inf\"} 2\n"
            "bare_seconds_sum 0.5\n"
            "bare_seconds_count 2\n");
}

TEST(Prometheus, ResponseAppendsTheProcessFamilies) {
  const HttpResponse response = prometheus_response("up 1\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(response.body.starts_with("up 1\n")) << response.body;
  EXPECT_NE(response.body.find("\n# TYPE process_open_fds gauge\n"), std::string::npos)
      << response.body;
}

}  // namespace
}  // namespace platform
