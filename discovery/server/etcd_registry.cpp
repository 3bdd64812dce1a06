// Writes, expiry and health of the etcd-backed registry. Writes run on a small thread pool, since
// the etcd client's calls block: gRPC's callback threads only hand them over.
#include "discovery/server/etcd_registry.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <optional>
#include <random>
#include <thread>

#include "discovery/server/etcd_layout.h"
#include "discovery/server/etcd_mirror.h"
#include "discovery/server/etcd_stats.h"
#include "discovery/server/limits.h"
#include "discovery/server/periodic.h"
#include "discovery/server/state.h"
#include "etcd/client.h"
#include "platform/log_value.h"

namespace discovery::server {
namespace {

using Steady = std::chrono::steady_clock;
using etcd::Compare;

// The longest pause between two rounds of a write.
constexpr std::chrono::milliseconds kMaxBackoff{20};

// An AffiliateUpdate that owns its bytes, for a write that finishes after the call returned.
struct OwnedUpdate {
  std::string cluster_id;
  std::string affiliate_id;
  std::string data;
  std::vector<std::string> endpoints;
  std::chrono::nanoseconds ttl{0};

  explicit OwnedUpdate(const AffiliateUpdate& u)
      : cluster_id(u.cluster_id),
        affiliate_id(u.affiliate_id),
        data(u.data),
        endpoints(u.endpoints.begin(), u.endpoints.end()),
        ttl(u.ttl) {}

  AffiliateUpdate view() const {
    AffiliateUpdate u{cluster_id, affiliate_id, data, {}, ttl};
    u.endpoints.assign(endpoints.begin(), endpoints.end());
    return u;
  }
};

// What etcd holds for one affiliate and how many affiliates its cluster has, read together at
// one revision.
struct Seen {
  std::int64_t revision = 0;
  std::optional<etcd::KeyValue> affiliate;
  std::optional<StoredAffiliate> value;  // null when absent or not decodable
  std::int64_t cluster_size = 0;
};

// Sleeps a random moment, longer after each lost round, so that writers that keep colliding
// spread out.
void back_off(int attempt) {
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto cap = std::min<std::int64_t>(kMaxBackoff.count() * 1000, 250LL << attempt);
  std::this_thread::sleep_for(
      std::chrono::microseconds(std::uniform_int_distribution<std::int64_t>(0, cap)(random)));
}

}  // namespace

class EtcdRegistry::Impl {
 public:
  Impl(std::unique_ptr<etcd::Client> client, const Clock& clock, EtcdRegistryOptions options)
      : options_(std::move(options)),
        client_(std::move(client)),
        keys_(options_.prefix),
        state_(clock, State::kDefaultSnapshotBudget, options_.max_clusters),
        mirror_(*client_, keys_, state_, stats_),
        writers_(options_.writers),
        probe_(
            options_.probe_interval, [this] { probe(); }, true),
        compactor_(options_.compaction_interval > std::chrono::nanoseconds::zero()
                       ? std::make_unique<Periodic>(
                             options_.compaction_interval, [this] { compact(); }, false)
                       : nullptr),
        expiry_(
            options_.expiry_interval,
            [this] {
              GcResult result = expire();
              if (options_.on_expired) options_.on_expired(result);
            },
            false) {}

  ~Impl() {
    shutdown();
    writers_.join();
  }

  // Writes not started yet fail from now on.
  void shutdown() { stopping_ = true; }

  void post(std::function<UpdateStatus()> write, Done done) {
    // Failing at once, rather than after a request timeout each, keeps the queue short while etcd
    // is down; a client retries UNAVAILABLE.
    if (stopping_ || down_) return done(UpdateStatus::kUnavailable);
    if (queued_.fetch_add(1) >= options_.queued_writes) {
      queued_--;
      return done(UpdateStatus::kUnavailable);
    }
    boost::asio::post(writers_, [this, write = std::move(write), done = std::move(done)] {
      queued_--;
      UpdateStatus status = UpdateStatus::kUnavailable;
      try {
        if (!stopping_) status = write();
      } catch (const etcd::Error& e) {
        spdlog::debug("etcd_write_failed endpoint={} error=\"{}\"", e.endpoint(),
                      platform::log_value(e.what()));
      }
      done(status);
    });
  }

  UpdateStatus update(const OwnedUpdate& owned) {
    const AffiliateUpdate request = owned.view();
    const std::string tag = EtcdKeys::cluster_tag(owned.cluster_id);
    const std::string key = keys_.affiliate(tag, owned.affiliate_id);
    std::optional<Seen> seen;
    return retrying(tag, [&]() -> std::optional<UpdateStatus> {
      const Seen current = take(seen, tag, key);
      const WallTime now = std::chrono::system_clock::now();
      const WallTime expiration = now + std::max(owned.ttl, std::chrono::nanoseconds::zero());
      const bool creating = !current.affiliate;
      if (creating && current.cluster_size >= static_cast<std::int64_t>(kClusterAffiliatesMax)) {
        return UpdateStatus::kTooManyAffiliates;
      }
      if (creating && current.cluster_size == 0 && over_cluster_cap()) {
        return UpdateStatus::kTooManyClusters;
      }
      // A value we cannot decode is replaced, as if the affiliate were new.
      StoredAffiliate stored =
          current.value ? *current.value
                        : StoredAffiliate{{owned.affiliate_id, {}, {}}, {expiration, {}}, {}};
      UpdateStatus status = UpdateStatus::kOk;
      if (auto next = merge_update(stored.record, stored.times, request, expiration, status)) {
        stored.record = std::move(*next);
      }
      stored.written = now;
      etcd::TxnRequest txn;
      txn.success.push_back(etcd::PutRequest{key, encode_stored(stored)});
      if (creating) {
        // Nobody created it, nor any other affiliate of the cluster, since the read: so the
        // cluster is still below the limit. Refreshes of other affiliates do not interfere.
        txn.compare.push_back(Compare::version(key, Compare::Result::kEqual, 0));
        txn.compare.push_back(Compare::create_revisions_in(
            keys_.cluster(tag), Compare::Result::kLess, current.revision + 1));
      } else {
        txn.compare.push_back(
            Compare::mod_revision(key, Compare::Result::kEqual, current.affiliate->mod_revision));
      }
      if (commit(std::move(txn), tag, key, seen)) return status;
      return std::nullopt;
    });
  }

  UpdateStatus remove(const std::string& cluster_id, const std::string& affiliate_id) {
    const std::string tag = EtcdKeys::cluster_tag(cluster_id);
    const std::string key = keys_.affiliate(tag, affiliate_id);
    std::optional<Seen> seen;
    return retrying(tag, [&]() -> std::optional<UpdateStatus> {
      const Seen current = take(seen, tag, key);
      if (!current.affiliate) return UpdateStatus::kOk;
      if (commit(unless_changed(key, current, etcd::DeleteRequest{key}), tag, key, seen)) {
        return UpdateStatus::kOk;
      }
      return std::nullopt;
    });
  }

  GcResult expire() {
    GcResult result;
    for (const auto& [tag, affiliate_id] : state_.expiring()) {
      try {
        expire_one(tag, affiliate_id, result);
      } catch (const etcd::Error& e) {
        // The next pass tries again; so does every other replica.
        spdlog::debug("etcd_expiry_failed error=\"{}\"", platform::log_value(e.what()));
        break;
      }
    }
    StateStats stats = state_.stats();
    const bool removed = result.affiliates_removed + result.endpoints_removed > 0;
    spdlog::log(removed ? spdlog::level::info : spdlog::level::debug,
                "gc removed_clusters={} removed_affiliates={} removed_endpoints={} clusters={} "
                "affiliates={} endpoints={} watches={}",
                result.clusters_removed, result.affiliates_removed, result.endpoints_removed,
                stats.clusters, stats.affiliates, stats.endpoints, stats.watches);
    return result;
  }

  bool healthy() const { return stats_.up() && mirror_.loaded(); }

  const EtcdRegistryOptions options_;
  const std::unique_ptr<etcd::Client> client_;
  const EtcdKeys keys_;
  EtcdStats stats_;
  State state_;
  EtcdMirror mirror_;

 private:
  template <typename Call>
  auto timed(EtcdOp op, Call&& call) {
    const auto started = Steady::now();
    try {
      auto result = call();
      stats_.request(op, Steady::now() - started, true);
      return result;
    } catch (const etcd::Error&) {
      stats_.request(op, Steady::now() - started, false);
      throw;
    }
  }

  // Reads an affiliate's key and how many keys its cluster has, in one transaction.
  std::vector<etcd::Op> reads(const std::string& tag, const std::string& key) const {
    etcd::RangeRequest cluster = etcd::RangeRequest::prefix(keys_.cluster(tag));
    cluster.limit = 1;  // only the count is wanted
    return {etcd::RangeRequest{key}, std::move(cluster)};
  }

  Seen seen_in(const etcd::TxnResult& result, const std::string& key) {
    Seen seen;
    seen.revision = result.revision;
    const auto& affiliate = std::get<etcd::RangeResult>(result.responses.at(0)).kvs;
    seen.cluster_size = std::get<etcd::RangeResult>(result.responses.at(1)).count;
    if (!affiliate.empty()) {
      seen.affiliate = affiliate.front();
      std::string error;
      seen.value = decode_stored(affiliate.front().value, error);
      if (!seen.value) {
        stats_.bad_value();
        spdlog::warn("etcd_bad_value key=\"{}\" error=\"{}\" (replaced by the next write)",
                     platform::log_value(key), error);
      }
    }
    return seen;
  }

  // What the last lost round read (and empties it), or a fresh read.
  Seen take(std::optional<Seen>& seen, const std::string& tag, const std::string& key) {
    if (seen) {
      Seen taken = std::move(*seen);
      seen.reset();
      return taken;
    }
    etcd::TxnRequest txn;
    txn.success = reads(tag, key);
    return seen_in(timed(EtcdOp::kRead, [&] { return client_->txn(txn); }), key);
  }

  // Runs `txn`; true when its compares held, and then once the mirror shows it. When they did
  // not, `seen` becomes what etcd holds instead, read by the same transaction, so the next round
  // needs no read of its own.
  bool commit(etcd::TxnRequest txn, const std::string& tag, const std::string& key,
              std::optional<Seen>& seen) {
    txn.failure = reads(tag, key);
    const etcd::TxnResult result = timed(EtcdOp::kWrite, [&] { return client_->txn(txn); });
    if (!result.succeeded) {
      stats_.cas_conflict();
      seen = seen_in(result, key);
      return false;
    }
    mirror_.wait_applied(result.revision, options_.apply_wait);
    return true;
  }

  // Repeats `round` (which returns nullopt when its compare-and-swap lost) until it returns a
  // status, pausing a random moment, longer each time, between rounds so that colliding writers
  // spread out. A request etcd did not answer is repeated too, which is safe: each round merges
  // onto what it reads, and a write applied without an answer shows in the next round's read.
  // Past the write timeout the write fails with kUnavailable.
  template <typename Round>
  UpdateStatus retrying(const std::string& tag, Round&& round) {
    const auto deadline = Steady::now() + options_.write_timeout;
    for (int n = 0;; ++n) {
      if (n > 0) back_off(n);
      try {
        if (auto status = round()) return *status;
      } catch (const etcd::Error& e) {
        if (!e.transient() || Steady::now() >= deadline) throw;
      }
      if (Steady::now() >= deadline) {
        spdlog::warn("etcd_write_contended cluster={} rounds={}", tag.substr(0, 8), n + 1);
        return UpdateStatus::kUnavailable;
      }
    }
  }

  // `op` on `key`, guarded by the key being as `seen` read it.
  static etcd::TxnRequest unless_changed(const std::string& key, const Seen& seen, etcd::Op op) {
    etcd::TxnRequest txn;
    txn.compare.push_back(
        Compare::mod_revision(key, Compare::Result::kEqual, seen.affiliate->mod_revision));
    txn.success.push_back(std::move(op));
    return txn;
  }

  // Deletes the affiliate if it has expired, or rewrites it without its expired endpoints, unless
  // it changes meanwhile (then the next pass looks again).
  void expire_one(const std::string& tag, const std::string& affiliate_id, GcResult& result) {
    const WallTime now = std::chrono::system_clock::now();
    const std::string key = keys_.affiliate(tag, affiliate_id);
    std::optional<Seen> lost;
    const Seen current = take(lost, tag, key);
    if (!current.value) return;  // gone, or not a value to judge
    const StoredAffiliate& value = *current.value;
    if (value.times.expiration < now) {
      if (commit(unless_changed(key, current, etcd::DeleteRequest{key}), tag, key, lost)) {
        result.affiliates_removed++;
        result.endpoints_removed += value.record.endpoints.size();
        if (current.cluster_size == 1) result.clusters_removed++;
      }
      return;
    }
    StoredAffiliate trimmed = value;
    auto next = drop_expired_endpoints(trimmed.record, trimmed.times, now);
    if (!next) return;
    const std::size_t dropped = value.record.endpoints.size() - next->endpoints.size();
    trimmed.record = std::move(*next);
    trimmed.written = now;
    if (commit(unless_changed(key, current, etcd::PutRequest{key, encode_stored(trimmed)}), tag,
               key, lost)) {
      result.endpoints_removed += dropped;
    }
  }

  bool over_cluster_cap() const {
    return options_.max_clusters != 0 && state_.cluster_ids().size() >= options_.max_clusters;
  }

  // Compacts etcd's history to the revision the previous pass saw. Replicas all do it; one that
  // finds the revision compacted already (by another) has nothing to do.
  void compact() {
    try {
      const std::int64_t current = client_->range(etcd::RangeRequest{keys_.prefix()}).revision;
      if (compacted_to_ > 0) {
        timed(EtcdOp::kCompact, [&] {
          client_->compact(compacted_to_, false);
          return 0;
        });
        spdlog::debug("etcd_compacted revision={}", compacted_to_);
      }
      compacted_to_ = current;
    } catch (const etcd::Error& e) {
      spdlog::debug("etcd_compaction_failed error=\"{}\"", platform::log_value(e.what()));
    }
  }

  void probe() {
    bool ok = true;
    try {
      // A linearizable read: it needs the cluster's leader, as writes do.
      timed(EtcdOp::kProbe, [&] { return client_->range(etcd::RangeRequest{keys_.prefix()}); });
    } catch (const etcd::Error& e) {
      ok = false;
      if (stats_.up()) {
        spdlog::warn("etcd_unreachable endpoint={} error=\"{}\" (writes fail with UNAVAILABLE)",
                     e.endpoint(), platform::log_value(e.what()));
      }
    }
    if (ok && !stats_.up()) spdlog::info("etcd_reachable");
    stats_.set_up(ok);
    down_ = !ok;
  }

  std::atomic<bool> stopping_{false};
  std::atomic<bool> down_{false};       // the last probe failed
  std::atomic<std::size_t> queued_{0};  // writes posted and not started
  std::int64_t compacted_to_ = 0;       // compactor thread only
  boost::asio::thread_pool writers_;
  Periodic probe_;
  std::unique_ptr<Periodic> compactor_;  // null when compaction is off
  Periodic expiry_;                      // last: runs expire(), which uses everything above
};

EtcdRegistry::EtcdRegistry(std::unique_ptr<etcd::Client> client, const Clock& clock,
                           EtcdRegistryOptions options)
    : impl_(std::make_unique<Impl>(std::move(client), clock, std::move(options))) {}

EtcdRegistry::~EtcdRegistry() = default;

void EtcdRegistry::update(const AffiliateUpdate& request, Done done) {
  auto owned = std::make_shared<OwnedUpdate>(request);
  impl_->post([impl = impl_.get(), owned] { return impl->update(*owned); }, std::move(done));
}

void EtcdRegistry::remove(std::string_view cluster_id, std::string_view affiliate_id, Done done) {
  impl_->post([impl = impl_.get(), cluster = std::string(cluster_id),
               affiliate = std::string(affiliate_id)] { return impl->remove(cluster, affiliate); },
              std::move(done));
}

std::vector<AffiliatePtr> EtcdRegistry::list(std::string_view cluster_id) const {
  return impl_->state_.list(EtcdKeys::cluster_tag(cluster_id));
}

WatchStart EtcdRegistry::watch(std::string_view cluster_id, std::function<void()> on_pending) {
  return impl_->state_.watch(EtcdKeys::cluster_tag(cluster_id), std::move(on_pending));
}

void EtcdRegistry::shutdown() {
  impl_->shutdown();
  impl_->state_.close_watches();
}

StateStats EtcdRegistry::stats() const { return impl_->state_.stats(); }

bool EtcdRegistry::wait_loaded(std::chrono::nanoseconds timeout) const {
  return impl_->mirror_.wait_applied(1, timeout);
}

bool EtcdRegistry::healthy() const { return impl_->healthy(); }

GcResult EtcdRegistry::expire() { return impl_->expire(); }

std::string EtcdRegistry::render_metrics() const { return impl_->stats_.render(); }

}  // namespace discovery::server
