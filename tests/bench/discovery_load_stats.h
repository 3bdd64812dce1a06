// Measurement helpers for the discovery load tool: a lock-free latency histogram and a process's
// RSS and CPU time from /proc.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace tds::bench {

// Log-linear buckets over microseconds: 32 sub-buckets per power of two (about 3% error), enough
// for p50/p99 without storing samples. Recording is wait-free from any thread.
class LatencyHistogram {
 public:
  void record(std::chrono::nanoseconds latency) {
    const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count() / 1000));
    buckets_[index(us)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    auto seen = max_us_.load(std::memory_order_relaxed);
    while (us > seen && !max_us_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
    }
  }

  void reset() {
    for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
    count_.store(0);
    max_us_.store(0);
  }

  std::uint64_t count() const { return count_.load(); }
  double max_ms() const { return static_cast<double>(max_us_.load()) / 1000.0; }

  // The upper edge of the bucket holding quantile q (0 < q <= 1), in milliseconds.
  double quantile_ms(double q) const {
    const std::uint64_t total = count();
    if (total == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total) + 0.5);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= std::max<std::uint64_t>(rank, 1)) {
        return std::min(static_cast<double>(upper_us(i)), static_cast<double>(max_us_.load())) /
               1000.0;
      }
    }
    return max_ms();
  }

 private:
  static constexpr unsigned kSubBits = 5;  // 32 sub-buckets per octave
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) << kSubBits;

  static std::size_t index(std::uint64_t us) {
    if (us < (1u << kSubBits)) return us;
    const unsigned octave = std::bit_width(us) - kSubBits;  // >= 1
    return (octave << kSubBits) + ((us >> (octave - 1)) & ((1u << kSubBits) - 1));
  }

  static std::uint64_t upper_us(std::size_t i) {
    if (i < (1u << kSubBits)) return i;
    const std::size_t octave = i >> kSubBits;
    const std::uint64_t sub = (i & ((1u << kSubBits) - 1)) | (1u << kSubBits);
    return ((sub + 1) << (octave - 1)) - 1;
  }

  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> max_us_{0};
};

// What /proc says about a process at one instant.
struct ProcSample {
  std::uint64_t rss_kib = 0;  // VmRSS
  std::uint64_t hwm_kib = 0;  // VmHWM (peak RSS)
  double cpu_seconds = 0;     // utime + stime
  std::uint64_t threads = 0;
  bool ok = false;
};

inline ProcSample sample_process(pid_t pid) {
  ProcSample s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream in(line);
    std::string key;
    std::uint64_t value = 0;
    in >> key >> value;
    if (key == "VmRSS:") s.rss_kib = value;
    if (key == "VmHWM:") s.hwm_kib = value;
    if (key == "Threads:") s.threads = value;
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name may hold spaces and parentheses; the fields we want follow the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int n = 3; fields >> field; ++n) {  // field 3 is the state
    if (n == 14) utime = std::stoull(field);
    if (n == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  s.ok = s.rss_kib > 0;
  return s;
}

}  // namespace tds::bench
