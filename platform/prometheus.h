// The Prometheus text exposition format (0.0.4), written by every daemon's /metrics: one
// writer, so HELP/TYPE lines, label escaping and number formatting are the same everywhere.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "platform/http_server.h"

namespace platform {

// `name="value"`, the value escaped as the format requires (backslash, quote, newline).
std::string prometheus_label(std::string_view name, std::string_view value);

class PrometheusWriter {
 public:
  // Starts a family: its HELP and TYPE lines. `type` is "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);

  // One sample line, `name{labels} value` (no braces when `labels` is empty). `labels` is a
  // comma-separated list of prometheus_label()s.
  void sample(std::string_view name, std::string_view labels, std::uint64_t value);
  void sample(std::string_view name, std::string_view labels, double value);
  // A value already spelled as the format wants it ("+Inf", a fixed precision).
  void sample(std::string_view name, std::string_view labels, std::string_view value);

  // A family with one unlabelled sample, the shape of most counters and gauges.
  template <typename Value>
  void metric(std::string_view name, std::string_view type, std::string_view help,
              const Value& value) {
    family(name, type, help);
    sample(name, {}, value);
  }

  // A histogram's samples: `name_bucket` per upper bound (cumulative counts, one per bound)
  // plus +Inf, then `name_sum` and `name_count`.
  void histogram(std::string_view name, std::string_view labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> cumulative_counts, double sum, std::uint64_t count);

  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

// The answer to a scrape: `families` (a PrometheusWriter's text) followed by the process_*
// families of this process.
HttpResponse prometheus_response(std::string families);

}  // namespace platform
