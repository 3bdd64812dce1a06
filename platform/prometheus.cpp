// Number formatting is fmt's shortest round-trip form ("1", "0.25"), which Prometheus parses.
#include "platform/prometheus.h"

#include <fmt/format.h>

#include "platform/log_value.h"
#include "platform/process_metrics.h"

namespace platform {
namespace {

template <typename Value>
void append_sample(std::string& out, std::string_view name, std::string_view labels,
                   const Value& value) {
  if (labels.empty()) {
    fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
  } else {
    fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, value);
  }
}

}  // namespace

std::string prometheus_label(std::string_view name, std::string_view value) {
  static constexpr CharEscape kLabelValue[] = {{'\\', "\\\\"}, {'"', "\\\""}, {'\n', "\\n"}};
  return std::string(name) + "=\"" + escape(value, kLabelValue) + '"';
}

void PrometheusWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusWriter::sample(std::string_view name, std::string_view labels, std::uint64_t value) {
  append_sample(out_, name, labels, value);
}

void PrometheusWriter::sample(std::string_view name, std::string_view labels, double value) {
  append_sample(out_, name, labels, value);
}

void PrometheusWriter::sample(std::string_view name, std::string_view labels,
                              std::string_view value) {
  append_sample(out_, name, labels, value);
}

void PrometheusWriter::histogram(std::string_view name, std::string_view labels,
                                 std::span<const double> bounds,
                                 std::span<const std::uint64_t> cumulative_counts, double sum,
                                 std::uint64_t count) {
  const std::string bucket = fmt::format("{}_bucket", name);
  const std::string prefix = labels.empty() ? std::string() : fmt::format("{},", labels);
  for (std::size_t i = 0; i < bounds.size() && i < cumulative_counts.size(); ++i) {
    sample(bucket, fmt::format("{}le=\"{}\"", prefix, bounds[i]), cumulative_counts[i]);
  }
  sample(bucket, prefix + "le=\"+Inf\"", count);
  sample(fmt::format("{}_sum", name), labels, sum);
  sample(fmt::format("{}_count", name), labels, count);
}

HttpResponse prometheus_response(std::string families) {
  return {200,
          "text/plain; version=0.0.4; charset=utf-8",
          std::move(families) + render_process_metrics(),
          {}};
}

}  // namespace platform
