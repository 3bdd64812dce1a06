// Keeps a State equal to the affiliates stored in etcd: lists them all once, then follows one
// etcd watch on the whole prefix. A compacted or cancelled watch is followed by a new listing that
// is reconciled with the State, so watchers get exactly the changes they missed, with the State's
// usual ordering, coalescing and deletion semantics.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "discovery/server/etcd_layout.h"

namespace etcd {
class Client;
struct WatchResponse;
}  // namespace etcd

namespace discovery::server {

class EtcdStats;
class State;

class EtcdMirror {
 public:
  // Starts listing at once, on a thread of its own, retrying until etcd answers.
  EtcdMirror(etcd::Client& client, const EtcdKeys& keys, State& state, EtcdStats& stats);
  ~EtcdMirror();
  EtcdMirror(const EtcdMirror&) = delete;
  EtcdMirror& operator=(const EtcdMirror&) = delete;

  // Whether the first listing is in the State.
  bool loaded() const;
  // Waits up to `timeout` until every change up to `revision` is in the State.
  bool wait_applied(std::int64_t revision, std::chrono::nanoseconds timeout) const;

 private:
  void run(std::stop_token stop);
  // Lists everything into the State and returns the revision listed.
  std::int64_t relist();
  void on_watch(const etcd::WatchResponse& response);
  void advance(std::int64_t revision);

  etcd::Client& client_;
  const EtcdKeys& keys_;
  State& state_;
  EtcdStats& stats_;

  mutable std::mutex mu_;  // guards the three below
  mutable std::condition_variable_any changed_;
  std::int64_t applied_ = 0;  // 0 until the first listing
  bool restart_ = false;      // the watch ended; list again
  std::jthread thread_;       // last: uses everything above
};

}  // namespace discovery::server
