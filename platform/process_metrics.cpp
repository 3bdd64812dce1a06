// process_* metrics from /proc/self/stat, /proc/stat (boot time), /proc/self/fd and RLIMIT_NOFILE.
#include "platform/process_metrics.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "platform/prometheus.h"

namespace platform {
namespace {

std::optional<double> boot_time_seconds() {
  std::ifstream file("/proc/stat");
  std::string line;
  while (std::getline(file, line)) {
    if (line.starts_with("btime ")) return std::stod(line.substr(6));
  }
  return std::nullopt;
}

}  // namespace

std::optional<ProcessStats> read_process_stats() {
  std::ifstream file("/proc/self/stat");
  std::string stat;
  if (!std::getline(file, stat)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses; the fields after its last ')'
  // are plain numbers, starting with field 3 (state).
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  auto field = [&fields](std::size_t n) { return fields.at(n - 3); };  // 1-based, as in proc(5)
  auto boot = boot_time_seconds();
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (fields.size() < 22 || !boot || ticks <= 0 || page <= 0) return std::nullopt;

  ProcessStats s;
  try {
    s.cpu_seconds = static_cast<double>(std::stoull(field(14)) + std::stoull(field(15))) / ticks;
    s.start_time_seconds = *boot + static_cast<double>(std::stoull(field(22))) / ticks;
    s.virtual_memory_bytes = std::stoull(field(23));
    s.resident_memory_bytes = std::stoull(field(24)) * static_cast<std::uint64_t>(page);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++s.open_fds;
  }
  if (error) return std::nullopt;
  --s.open_fds;  // the directory iterator's own descriptor, closed again by now
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    s.max_fds = limit.rlim_cur;
  }
  return s;
}

std::string render_process_metrics(const ProcessStats& s) {
  PrometheusWriter w;
  w.metric("process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.", s.cpu_seconds);
  w.metric("process_max_fds", "gauge", "Maximum number of open file descriptors.",
           s.max_fds ? fmt::format("{}", *s.max_fds) : std::string("+Inf"));
  w.metric("process_open_fds", "gauge", "Number of open file descriptors.", s.open_fds);
  w.metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           s.resident_memory_bytes);
  w.metric("process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.",
           fmt::format("{:.2f}", s.start_time_seconds));
  w.metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
           s.virtual_memory_bytes);
  return w.text();
}

std::string render_process_metrics() {
  auto stats = read_process_stats();
  return stats ? render_process_metrics(*stats) : std::string();
}

}  // namespace platform
