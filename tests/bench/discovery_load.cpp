// Load generator for discovery-service: C clusters x N affiliates, one Watch stream per affiliate,
// AffiliateUpdates at a target rate. Reports sustained updates/s, fan-out latency (update sent
// until every watcher of its cluster has it) and the server's RSS and CPU from /proc. Against
// several replicas of one store, a cluster's watchers and its updates use different replicas.
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "discovery/server.grpc.pb.h"
#include "tests/bench/discovery_load_stats.h"
#include "tests/support/child_process.h"

namespace {

namespace pb = ::sidero::discovery::server;
using SteadyClock = std::chrono::steady_clock;
using tds::bench::LatencyHistogram;
using tds::bench::ProcSample;
using tds::bench::sample_process;

struct Options {
  std::vector<std::string> servers;  // host:port of running servers (replicas of one store)
  std::string server_bin;            // or a discovery-service binary to start on 127.0.0.1:0
  std::vector<int> server_pids;      // for /proc figures of external servers
  int etcd_pid = 0;                  // for /proc figures of the store behind them
  int clusters = 100;
  int affiliates = 10;  // per cluster
  double rate = 1000;   // AffiliateUpdate/s in total; 0 runs as fast as --max-inflight allows
  double warmup = 2;
  double duration = 10;
  int data_size = 300;  // encrypted Talos affiliate data is a few hundred bytes
  int connections = 64;
  int max_inflight = 2000;  // updates sent whose fan-out has not completed
  bool watch = true;
  bool idle = false;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

// The head of every update's data: who, which update, and when it was sent; the rest is filler.
struct Stamp {
  std::int64_t sent_ns;
  std::uint64_t seq;
  std::uint32_t affiliate;
};
constexpr std::size_t kStampSize = 20;

// One affiliate's update in flight. An affiliate has at most one, so the server never coalesces
// two of them and every watcher of the cluster sees each update exactly once.
struct Slot {
  std::atomic<std::uint64_t> seq{0};  // 0: free
  std::atomic<int> remaining{0};      // watchers that have not seen it yet
};

struct Counters {
  std::atomic<std::uint64_t> acked{0};       // AffiliateUpdate RPCs answered OK
  std::atomic<std::uint64_t> completed{0};   // updates seen by every watcher (or acked, no watch)
  std::atomic<std::uint64_t> deliveries{0};  // watch messages received
  std::atomic<std::uint64_t> errors{0};      // failed RPCs
};

class Load;

class WatchStream final : public grpc::ClientReadReactor<pb::WatchResponse> {
 public:
  WatchStream(Load& load, pb::Cluster::Stub& stub, const std::string& cluster_id)
      : load_(load), stub_(stub) {
    request_.set_cluster_id(cluster_id);
  }

  void start() {
    stub_.async()->Watch(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  Load& load_;
  pb::Cluster::Stub& stub_;
  grpc::ClientContext context_;
  pb::WatchRequest request_;
  pb::WatchResponse response_;  // owned by the reactor's single outstanding read
  bool snapshot_seen_ = false;
};

class Load {
 public:
  Load(const Options& options, const std::vector<std::string>& targets)
      : options_(options), servers_(targets.size()) {
    total_ = options.clusters * options.affiliates;
    slots_ = std::make_unique<Slot[]>(static_cast<std::size_t>(total_));
    std::mt19937_64 rng(std::random_device{}());
    const auto tag = std::to_string(rng() % 1000000000);
    for (int c = 0; c < options.clusters; ++c) {
      // IDs as long as Talos's (44-char cluster ID, ~43-char affiliate ID) so memory is realistic.
      cluster_ids_.push_back(pad("load-" + tag + "-" + std::to_string(c), 44));
    }
    for (int a = 0; a < total_; ++a) affiliate_ids_.push_back(pad("aff-" + std::to_string(a), 43));
    for (int i = 0; i < options.connections; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one TCP connection per channel
      args.SetMaxReceiveMessageSize(-1);
      // Channel i goes to server i % servers_ (see stub_for).
      auto channel = grpc::CreateCustomChannel(targets[static_cast<std::size_t>(i) % servers_],
                                               grpc::InsecureChannelCredentials(), args);
      channels_.push_back(channel);
      stubs_.push_back(pb::Cluster::NewStub(channel));
    }
    for (int a = 0; a < total_; ++a) free_.push_back(a);
  }

  int total() const { return total_; }

  bool connect() {
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(60);
    for (auto& channel : channels_) {
      if (!channel->WaitForConnected(deadline)) return false;
    }
    return true;
  }

  // Opens one watch per affiliate and waits for every snapshot.
  bool open_watches() {
    for (int a = 0; a < total_; ++a) {
      watches_.push_back(std::make_unique<WatchStream>(*this, stub_for(watch_server(a), a),
                                                       cluster_ids_[a / options_.affiliates]));
    }
    fanout_ = true;
    for (auto& w : watches_) w->start();
    return wait_until(std::chrono::seconds(120), [&] { return snapshots_ == total_; });
  }

  // Sends updates from free affiliates until `end` or `limit` sends; `rate` 0 means unpaced.
  void drive(double rate, SteadyClock::time_point end, std::uint64_t limit) {
    const auto start = SteadyClock::now();
    for (std::uint64_t sent = 0; sent < limit;) {
      auto now = SteadyClock::now();
      if (now >= end) return;
      if (rate > 0) {
        const auto due =
            start + std::chrono::duration_cast<SteadyClock::duration>(
                        std::chrono::duration<double>(static_cast<double>(sent) / rate));
        if (now < due) {
          std::this_thread::sleep_until(std::min(due, end));
          continue;
        }
      }
      int affiliate = 0;
      {
        std::unique_lock lock(mu_);
        if (!cv_.wait_until(lock, std::min(now + std::chrono::milliseconds(10), end),
                            [&] { return !free_.empty() && inflight_ < options_.max_inflight; })) {
          continue;
        }
        affiliate = free_.front();
        free_.pop_front();
        ++inflight_;
      }
      send(affiliate);
      ++sent;
    }
  }

  bool drain(std::chrono::seconds timeout) {
    return wait_until(timeout, [&] { return inflight_ == 0; });
  }

  // Ends every stream and waits, without a time limit, until every stream has ended and every
  // update call has released its state: a Load destroyed earlier would be written to by the
  // callbacks still to come. The wait ends because each call has a 30 s deadline and every
  // stream is cancelled.
  void shutdown() {
    closing_ = true;
    for (auto& w : watches_) w->cancel();
    std::unique_lock lock(mu_);
    cv_.wait(lock,
             [&] { return watches_done_ == static_cast<int>(watches_.size()) && rpcs_ == 0; });
  }

  // Called from gRPC threads.
  void on_snapshot() { bump(snapshots_); }
  void on_watch_message(const pb::WatchResponse& response) {
    counters.deliveries.fetch_add(1, std::memory_order_relaxed);
    for (const auto& affiliate : response.affiliates()) {
      if (affiliate.data().size() < kStampSize) continue;
      Stamp stamp;
      std::memcpy(&stamp.sent_ns, affiliate.data().data(), 8);
      std::memcpy(&stamp.seq, affiliate.data().data() + 8, 8);
      std::memcpy(&stamp.affiliate, affiliate.data().data() + 16, 4);
      if (stamp.affiliate >= static_cast<std::uint32_t>(total_)) continue;
      Slot& slot = slots_[stamp.affiliate];
      if (slot.seq.load(std::memory_order_acquire) != stamp.seq) continue;
      if (slot.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        finish(static_cast<int>(stamp.affiliate), stamp.seq, stamp.sent_ns, true);
      }
    }
  }
  void on_watch_done(const grpc::Status& status) {
    if (!closing_) {
      std::lock_guard lock(mu_);
      if (watch_failures_++ == 0)
        first_watch_error_ = std::to_string(status.error_code()) + " " + status.error_message();
    }
    bump(watches_done_);
  }

  int open_streams() const { return static_cast<int>(watches_.size()) - watches_done_; }
  int watch_failures() {
    std::lock_guard lock(mu_);
    return watch_failures_;
  }
  std::string first_watch_error() {
    std::lock_guard lock(mu_);
    return first_watch_error_;
  }
  int inflight() {
    std::lock_guard lock(mu_);
    return inflight_;
  }

  Counters counters;
  LatencyHistogram latency;
  std::atomic<bool> measuring{false};

 private:
  static std::string pad(std::string s, std::size_t n) {
    s.resize(std::max(s.size(), n), 'x');
    return s;
  }

  // A cluster's watchers use server c % servers_ and its affiliates' updates the next server, so
  // with several replicas every fan-out goes through the store they share.
  std::size_t watch_server(int affiliate) const {
    return static_cast<std::size_t>(affiliate / options_.affiliates) % servers_;
  }
  std::size_t update_server(int affiliate) const {
    return (watch_server(affiliate) + 1) % servers_;
  }

  // One of `server`'s channels (server, server + servers_, ...), picked by affiliate; with one
  // server, channel affiliate % connections.
  pb::Cluster::Stub& stub_for(std::size_t server, int affiliate) {
    const std::size_t channels = (stubs_.size() - server + servers_ - 1) / servers_;
    return *stubs_[server + servers_ * (static_cast<std::size_t>(affiliate) % channels)];
  }

  template <typename Pred>
  bool wait_until(std::chrono::seconds timeout, Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, pred);
  }

  void bump(int& counter) { add(counter, 1); }
  void unbump(int& counter) { add(counter, -1); }
  // Notifies under the lock: the last decrement lets shutdown() return and the Load be
  // destroyed, so nothing of the Load may be touched once the lock is released (a notify after
  // unlocking would write into a freed condition variable).
  void add(int& counter, int delta) {
    std::lock_guard lock(mu_);
    counter += delta;
    cv_.notify_all();
  }

  // One AffiliateUpdate's buffers, shared by send() and the completion callback. It counts as
  // outstanding (rpcs_) until the last reference is dropped, which gRPC does only after the
  // callback has returned, so its ClientContext is gone before shutdown() can return.
  struct UpdateCall {
    explicit UpdateCall(Load& load) : outstanding(load) {}

    class Outstanding {
     public:
      explicit Outstanding(Load& load) : load_(load) { load_.bump(load_.rpcs_); }
      ~Outstanding() { load_.unbump(load_.rpcs_); }
      Outstanding(const Outstanding&) = delete;
      Outstanding& operator=(const Outstanding&) = delete;

     private:
      Load& load_;
    };
    Outstanding outstanding;  // first member, so destroyed after the others
    grpc::ClientContext context;
    pb::AffiliateUpdateRequest request;
    pb::AffiliateUpdateResponse response;
  };

  void send(int affiliate) {
    const std::uint64_t seq = next_seq_.fetch_add(1) + 1;
    auto call = std::make_shared<UpdateCall>(*this);
    auto& req = call->request;
    req.set_cluster_id(cluster_ids_[static_cast<std::size_t>(affiliate / options_.affiliates)]);
    req.set_affiliate_id(affiliate_ids_[static_cast<std::size_t>(affiliate)]);
    // One IPv4-sized (16-byte) endpoint, constant per affiliate, like a node's own address.
    std::string endpoint(16, '\0');
    std::memcpy(endpoint.data(), &affiliate, sizeof affiliate);
    req.add_affiliate_endpoints(std::move(endpoint));
    req.mutable_ttl()->set_seconds(30 * 60);
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));

    // Fan-out is tracked once watches are open; before that an update is done when acked.
    const bool fanout = fanout_;
    if (fanout) {
      Slot& slot = slots_[affiliate];
      slot.remaining.store(options_.affiliates, std::memory_order_relaxed);
      slot.seq.store(seq, std::memory_order_release);
    }
    std::string data(static_cast<std::size_t>(options_.data_size), 'd');
    const std::int64_t sent = now_ns();
    const auto index = static_cast<std::uint32_t>(affiliate);
    std::memcpy(data.data(), &sent, 8);
    std::memcpy(data.data() + 8, &seq, 8);
    std::memcpy(data.data() + 16, &index, 4);
    req.set_affiliate_data(std::move(data));

    pb::Cluster::Stub& stub = stub_for(update_server(affiliate), affiliate);
    stub.async()->AffiliateUpdate(
        &call->context, &call->request, &call->response,
        [this, call, affiliate, seq, sent, fanout](grpc::Status status) {
          if (status.ok()) {
            counters.acked.fetch_add(1, std::memory_order_relaxed);
            if (!fanout) finish(affiliate, seq, sent, false);
          } else {
            counters.errors.fetch_add(1, std::memory_order_relaxed);
            std::uint64_t expected = seq;
            if (!fanout || slots_[affiliate].seq.compare_exchange_strong(expected, 0)) {
              release(affiliate);  // watchers will never see it
            }
          }
        });
  }

  void finish(int affiliate, std::uint64_t seq, std::int64_t sent_ns, bool fanout) {
    if (fanout) {
      std::uint64_t expected = seq;
      if (!slots_[affiliate].seq.compare_exchange_strong(expected, 0)) return;
    }
    if (measuring.load(std::memory_order_relaxed)) {
      latency.record(std::chrono::nanoseconds(now_ns() - sent_ns));
    }
    counters.completed.fetch_add(1, std::memory_order_relaxed);
    release(affiliate);
  }

  void release(int affiliate) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(affiliate);
      --inflight_;
    }
    cv_.notify_all();
  }

  const Options& options_;
  const std::size_t servers_;
  int total_ = 0;
  std::vector<std::string> cluster_ids_;
  std::vector<std::string> affiliate_ids_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<pb::Cluster::Stub>> stubs_;
  std::vector<std::unique_ptr<WatchStream>> watches_;
  std::unique_ptr<Slot[]> slots_;
  std::atomic<std::uint64_t> next_seq_{0};
  std::atomic<bool> closing_{false};
  bool fanout_ = false;  // set on the driving thread before the first tracked send

  std::mutex mu_;  // guards everything below; cv_ signals any change of it
  std::condition_variable cv_;
  std::deque<int> free_;  // affiliates with no update in flight
  int inflight_ = 0;
  int snapshots_ = 0;
  int watches_done_ = 0;
  int rpcs_ = 0;  // UpdateCalls alive (see UpdateCall)
  int watch_failures_ = 0;
  std::string first_watch_error_;
};

void WatchStream::OnReadDone(bool ok) {
  if (!ok) return;  // OnDone follows
  if (!snapshot_seen_) {
    snapshot_seen_ = true;
    load_.on_snapshot();
  } else {
    load_.on_watch_message(response_);
  }
  StartRead(&response_);
}

void WatchStream::OnDone(const grpc::Status& status) { load_.on_watch_done(status); }

double self_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Every watch stream and connection is a descriptor on both sides; the server inherits this too.
void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

double mib(std::uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

// The processes measured through /proc: the discovery-service replicas and, when given, the etcd
// behind them. The "server" figures are the replicas' sum; each process is also reported alone
// when there is more than one.
struct Measured {
  std::vector<pid_t> servers;
  pid_t etcd = 0;

  struct Sample {
    std::vector<ProcSample> servers;
    ProcSample etcd;
    ProcSample total;  // of the servers
  };

  Sample sample() const {
    Sample s;
    for (const pid_t pid : servers) {
      s.servers.push_back(sample_process(pid));
      const ProcSample& p = s.servers.back();
      s.total.rss_kib += p.rss_kib;
      s.total.hwm_kib += p.hwm_kib;
      s.total.cpu_seconds += p.cpu_seconds;
      s.total.threads += p.threads;
    }
    if (etcd != 0) s.etcd = sample_process(etcd);
    return s;
  }

  bool separately() const { return servers.size() > 1 || etcd != 0; }

  // Calls f(label, pid, sample in a, sample in b) for every process.
  template <typename F>
  void each(const Sample& a, const Sample& b, F f) const {
    for (std::size_t i = 0; i < servers.size(); ++i) {
      f("replica" + std::to_string(i), servers[i], a.servers[i], b.servers[i]);
    }
    if (etcd != 0) f(std::string("etcd"), etcd, a.etcd, b.etcd);
  }
};

// RSS growth from `a` to `b` in bytes per item.
double growth_per(const ProcSample& a, const ProcSample& b, int items) {
  return (static_cast<double>(b.rss_kib) - static_cast<double>(a.rss_kib)) * 1024.0 / items;
}

// Memory per idle affiliate: RSS growth from storing records, then from opening their watches.
int run_idle(Load& load, const Options& options, const Measured& measured) {
  const Measured::Sample before_all = measured.sample();
  const ProcSample& before = before_all.total;
  load.drive(0, SteadyClock::time_point::max(), static_cast<std::uint64_t>(load.total()));
  if (!load.drain(std::chrono::seconds(120))) {
    std::fprintf(stderr, "populating did not finish\n");
    return 1;
  }
  // Lets the server return call buffers, and replicas apply what the others wrote.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const Measured::Sample stored_all = measured.sample();
  const ProcSample& stored = stored_all.total;
  const double payload = 43.0 + options.data_size + 16.0;
  const double per_record = growth_per(before, stored, load.total());
  std::printf(
      "idle affiliates=%d payload_bytes=%.0f rss_before_mib=%.1f rss_stored_mib=%.1f "
      "bytes_per_affiliate=%.0f overhead_beyond_payload=%.0f\n",
      load.total(), payload, mib(before.rss_kib), mib(stored.rss_kib), per_record,
      per_record - payload);
  if (measured.separately()) {
    measured.each(
        before_all, stored_all,
        [&](const std::string& label, pid_t pid, const ProcSample& a, const ProcSample& b) {
          const double per = growth_per(a, b, load.total());
          std::printf(
              "idle %s pid=%d rss_before_mib=%.1f rss_stored_mib=%.1f bytes_per_affiliate=%.0f "
              "overhead_beyond_payload=%.0f\n",
              label.c_str(), pid, mib(a.rss_kib), mib(b.rss_kib), per, per - payload);
        });
  }
  if (!options.watch) return 0;
  if (!load.open_watches()) {
    std::fprintf(stderr, "watch snapshots did not all arrive\n");
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const ProcSample watched = measured.sample().total;
  const double per_watch = growth_per(stored, watched, load.total());
  std::printf(
      "idle watches=%d connections=%d rss_watched_mib=%.1f bytes_per_watch=%.0f "
      "bytes_per_affiliate_with_watch_beyond_payload=%.0f server_threads=%llu\n",
      load.total(), options.connections, mib(watched.rss_kib), per_watch,
      per_record + per_watch - payload, static_cast<unsigned long long>(watched.threads));
  return 0;
}

int run_load(Load& load, const Options& options, const Measured& measured) {
  // Every affiliate registered once, at full speed and before any watch, so a big cluster costs
  // one snapshot per watcher instead of a fan-out per registration.
  load.drive(0, SteadyClock::time_point::max(), static_cast<std::uint64_t>(load.total()));
  if (!load.drain(std::chrono::seconds(120))) {
    std::fprintf(stderr, "populating did not finish\n");
    return 1;
  }
  if (options.watch && !load.open_watches()) {
    std::fprintf(stderr, "watch snapshots did not all arrive\n");
    return 1;
  }
  const auto warm_end = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                                 std::chrono::duration<double>(options.warmup));
  load.drive(options.rate, warm_end, UINT64_MAX);

  const auto c0 = std::make_tuple(load.counters.acked.load(), load.counters.completed.load(),
                                  load.counters.deliveries.load(), load.counters.errors.load());
  const Measured::Sample m0 = measured.sample();
  const double tool0 = self_cpu_seconds();
  const auto t0 = SteadyClock::now();
  load.latency.reset();
  load.measuring = true;
  load.drive(options.rate,
             t0 + std::chrono::duration_cast<SteadyClock::duration>(
                      std::chrono::duration<double>(options.duration)),
             UINT64_MAX);
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  const Measured::Sample m1 = measured.sample();
  const double tool1 = self_cpu_seconds();
  const auto acked = load.counters.acked - std::get<0>(c0);
  const auto completed = load.counters.completed - std::get<1>(c0);
  const auto deliveries = load.counters.deliveries - std::get<2>(c0);
  const auto errors = load.counters.errors - std::get<3>(c0);
  const bool drained = load.drain(std::chrono::seconds(30));
  load.measuring = false;
  const ProcSample& s0 = m0.total;
  const ProcSample& s1 = m1.total;
  auto cpu_us_per_update = [&](const ProcSample& a, const ProcSample& b) {
    return acked > 0 ? 1e6 * (b.cpu_seconds - a.cpu_seconds) / static_cast<double>(acked) : 0.0;
  };

  std::printf(
      "load servers=%zu clusters=%d affiliates_per_cluster=%d watches=%d connections=%d "
      "data_size=%d target_rate=%.0f seconds=%.1f\n",
      measured.servers.size(), options.clusters, options.affiliates,
      options.watch ? load.total() : 0, options.connections, options.data_size, options.rate,
      elapsed);
  std::printf(
      "result updates_per_s=%.0f fanned_out_per_s=%.0f deliveries_per_s=%.0f errors=%llu "
      "fanout_p50_ms=%.3f fanout_p99_ms=%.3f fanout_max_ms=%.3f samples=%llu\n",
      static_cast<double>(acked) / elapsed, static_cast<double>(completed) / elapsed,
      static_cast<double>(deliveries) / elapsed, static_cast<unsigned long long>(errors),
      load.latency.quantile_ms(0.5), load.latency.quantile_ms(0.99), load.latency.max_ms(),
      static_cast<unsigned long long>(load.latency.count()));
  std::printf(
      "server rss_mib=%.1f peak_rss_mib=%.1f cpu_percent=%.0f cpu_us_per_update=%.0f "
      "threads=%llu | tool cpu_percent=%.0f | open_streams=%d watch_failures=%d%s%s drained=%s\n",
      mib(s1.rss_kib), mib(s1.hwm_kib), 100.0 * (s1.cpu_seconds - s0.cpu_seconds) / elapsed,
      cpu_us_per_update(s0, s1), static_cast<unsigned long long>(s1.threads),
      100.0 * (tool1 - tool0) / elapsed, load.open_streams(), load.watch_failures(),
      load.watch_failures() ? " first_error=" : "", load.first_watch_error().c_str(),
      drained ? "yes" : "no");
  if (measured.separately()) {
    measured.each(
        m0, m1, [&](const std::string& label, pid_t pid, const ProcSample& a, const ProcSample& b) {
          std::printf(
              "process %s pid=%d rss_mib=%.1f peak_rss_mib=%.1f cpu_percent=%.0f "
              "cpu_us_per_update=%.0f threads=%llu\n",
              label.c_str(), pid, mib(b.rss_kib), mib(b.hwm_kib),
              100.0 * (b.cpu_seconds - a.cpu_seconds) / elapsed, cpu_us_per_update(a, b),
              static_cast<unsigned long long>(b.threads));
        });
  }
  return load.watch_failures() == 0 && errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"discovery-service load generator"};
  Options options;
  auto* server_opt =
      app.add_option("--server", options.servers,
                     "host:port of a running discovery-service; a comma-separated list of "
                     "replicas sharing one store spreads the connections over them")
          ->delimiter(',');
  app.add_option("--server-bin", options.server_bin, "start this discovery-service on 127.0.0.1:0")
      ->excludes(server_opt);
  app.add_option("--server-pid", options.server_pids,
                 "pid(s) of --server, comma-separated, for RSS/CPU figures (each and their sum)")
      ->delimiter(',')
      ->needs(server_opt);
  app.add_option("--etcd-pid", options.etcd_pid,
                 "pid of the etcd behind the servers, for its RSS/CPU figures");
  app.add_option("--clusters", options.clusters)->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--affiliates", options.affiliates, "per cluster")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--rate", options.rate, "AffiliateUpdate/s in total; 0 = as fast as possible")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--warmup", options.warmup, "seconds")->capture_default_str();
  app.add_option("--duration", options.duration, "measured seconds")->capture_default_str();
  app.add_option("--data-size", options.data_size, "bytes of affiliate data")
      ->capture_default_str()
      ->check(CLI::Range(static_cast<int>(kStampSize), 2048));
  app.add_option("--connections", options.connections,
                 "gRPC connections (streams spread over them)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-inflight", options.max_inflight, "updates whose fan-out has not finished")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("!--no-watch", options.watch, "no Watch streams: measure the update path alone");
  app.add_flag("--idle", options.idle, "measure server memory per stored affiliate and per watch");
  CLI11_PARSE(app, argc, argv);
  if (options.servers.empty() && options.server_bin.empty()) {
    std::fprintf(stderr, "one of --server or --server-bin is required\n");
    return 2;
  }

  raise_fd_limit();
  std::optional<tds::test::ChildProcess> child;
  std::vector<std::string> targets = options.servers;
  Measured measured{{options.server_pids.begin(), options.server_pids.end()}, options.etcd_pid};
  if (!options.server_bin.empty()) {
    // All load comes from 127.0.0.1, so the per-IP rate limit and the per-address caps are off,
    // and so are the other caps; no HTTP ports, no snapshot.
    child.emplace(std::vector<std::string>{
        options.server_bin, "--addr", "127.0.0.1:0", "--landing-addr", "", "--metrics-addr", "",
        "--snapshots-enabled=false", "--rate-limit", "0", "--max-watches-per-address", "0",
        "--max-watches", "0", "--max-connections-per-address", "0", "--max-clusters", "0",
        "--log-level", "info"});
    auto port =
        child->running() ? child->wait_for_listening_port(std::chrono::seconds(30)) : std::nullopt;
    if (!port) {
      std::fprintf(stderr, "discovery-service did not start:\n%s\n", child->output().c_str());
      return 1;
    }
    targets = {"127.0.0.1:" + std::to_string(*port)};
    measured.servers = {child->pid()};
  }
  if (options.connections < static_cast<int>(targets.size())) {
    std::fprintf(stderr, "--connections must be at least the number of servers\n");
    return 2;
  }

  Load load(options, targets);
  if (!load.connect()) {
    std::string list;
    for (const auto& t : targets) list += (list.empty() ? "" : ",") + t;
    std::fprintf(stderr, "could not connect %d channels to %s\n", options.connections,
                 list.c_str());
    return 1;
  }
  const int rc =
      options.idle ? run_idle(load, options, measured) : run_load(load, options, measured);
  load.shutdown();
  return rc;
}
