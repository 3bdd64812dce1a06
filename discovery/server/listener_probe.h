// Whether the gRPC listener still answers, found by asking it. gRPC 1.51 can stop accepting for
// good after running out of descriptors while the process carries on (and its HTTP listeners
// keep saying "ok"); a probe that fails makes /healthz say so, so an orchestrator restarts the
// process instead of routing clients to a dead port.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace discovery::server {

class Periodic;

struct ListenerProbeOptions {
  std::string target;  // "127.0.0.1:port" (the listener's own port on loopback)
  bool tls = false;    // the listener serves TLS (the probe does not check the certificate)
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds timeout{2000};  // per probe: connect, handshake and answer
  int failures = 3;  // consecutive failed probes before the listener counts as dead
};

// Every `interval`, a grpc.health.v1 Check on a fresh connection (a reused one would not notice
// a listener that stopped accepting). Healthy until `failures` probes in a row have failed; the
// first success makes it healthy again. Logs once when it turns unhealthy and once when it
// recovers.
class ListenerProbe {
 public:
  explicit ListenerProbe(ListenerProbeOptions options);
  ~ListenerProbe();
  ListenerProbe(const ListenerProbe&) = delete;
  ListenerProbe& operator=(const ListenerProbe&) = delete;

  bool healthy() const { return healthy_.load(); }

 private:
  void probe();

  const ListenerProbeOptions options_;
  std::atomic<bool> healthy_{true};
  int failed_in_a_row_ = 0;         // the probe thread's
  std::unique_ptr<Periodic> loop_;  // last: started after the members it uses exist
};

}  // namespace discovery::server
