// Metrics of the etcd store: request latency and errors by operation, compare-and-swap conflicts,
// relists, watch events and lag, and whether etcd answers. Thread-safe (atomics only).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace discovery::server {

// What a request to etcd was for.
enum class EtcdOp {
  kRead,    // reading an affiliate and its cluster's count before a write
  kWrite,   // the compare-and-swap transaction of an update, delete or expiry
  kRelist,  // one page of the full listing
  kProbe,   // the health probe
  kCompact,
};

class EtcdStats {
 public:
  static constexpr std::size_t kOps = 5;
  static constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1,    2.5};

  void request(EtcdOp op, std::chrono::nanoseconds elapsed, bool ok);
  void cas_conflict() { cas_conflicts_++; }
  void relisted() { relists_++; }
  void watch_restarted() { watch_restarts_++; }
  void watch_event(std::chrono::nanoseconds lag);
  void bad_value() { bad_values_++; }
  void set_up(bool up) { up_ = up; }
  void set_revision(std::int64_t revision) { revision_ = revision; }

  bool up() const { return up_; }

  // Prometheus text exposition of the families above.
  std::string render() const;

 private:
  struct Histogram {
    std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets{};  // not cumulative
    std::atomic<std::uint64_t> count{0};
    std::atomic<double> sum{0};

    void observe(double seconds);
  };

  std::array<Histogram, kOps> latency_;
  std::array<std::atomic<std::uint64_t>, kOps> errors_{};
  Histogram lag_;
  std::atomic<std::uint64_t> cas_conflicts_{0}, relists_{0}, watch_restarts_{0}, bad_values_{0};
  std::atomic<bool> up_{false};
  std::atomic<std::int64_t> revision_{0};
};

}  // namespace discovery::server
