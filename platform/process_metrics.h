// The standard Prometheus process_* metrics (as the client libraries export them), read from
// /proc/self, for every daemon's /metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace platform {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  std::uint64_t resident_memory_bytes = 0;
  std::uint64_t virtual_memory_bytes = 0;
  std::uint64_t open_fds = 0;
  std::optional<std::uint64_t> max_fds;  // empty: unlimited
  double start_time_seconds = 0;         // since the Unix epoch
};

// Reads this process's figures; nullopt when /proc is not readable (not Linux, no procfs).
std::optional<ProcessStats> read_process_stats();

// The six families in the text exposition format, HELP and TYPE as client_golang prints them.
std::string render_process_metrics(const ProcessStats& stats);

// read_process_stats() rendered, or "" when /proc is not readable: a scrape must never fail
// because of these.
std::string render_process_metrics();

}  // namespace platform
