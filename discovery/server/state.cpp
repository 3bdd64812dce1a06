// Registry implementation. Lock order: clusters map -> one cluster -> one subscription; wake-ups
// and every other call-out happen after all locks are released.
#include "discovery/server/state.h"

#include "discovery/server/limits.h"

#include <algorithm>
#include <atomic>
#include <list>
#include <optional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace discovery::server {
namespace {

// Pending changes of one watch, coalesced per affiliate ID. `known_` is what the consumer has been
// told exists, so a deletion of something it never saw is dropped instead of queued: pending
// entries are bounded by live affiliates plus known ones awaiting their deletion.
class Subscription {
 public:
  Subscription(std::vector<std::string> known, std::function<void()> wake,
               std::atomic<std::uint64_t>& coalesced)
      : known_(std::make_move_iterator(known.begin()), std::make_move_iterator(known.end())),
        wake_(std::move(wake)),
        coalesced_(coalesced) {}

  // Returns true when the caller must invoke wake() once its locks are released.
  bool push(const std::string& id, const AffiliatePtr& affiliate) {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    auto it = pending_.find(id);
    if (it != pending_.end()) {
      coalesced_.fetch_add(1, std::memory_order_relaxed);
      if (affiliate == nullptr && !known_.contains(id)) {
        order_.erase(it->second.pos);
        pending_.erase(it);
      } else {
        it->second.affiliate = affiliate;
      }
    } else if (affiliate != nullptr || known_.contains(id)) {
      order_.push_back(id);
      pending_.emplace(id, Pending{affiliate, std::prev(order_.end())});
    }
    return take_wake_locked();
  }

  bool close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    return take_wake_locked();
  }

  Watch::Poll next(Change& out) {
    std::lock_guard lock(mu_);
    if (closed_) return Watch::Poll::kClosed;
    if (order_.empty()) {
      armed_ = true;
      return Watch::Poll::kIdle;
    }
    auto it = pending_.find(order_.front());
    out.id = std::move(order_.front());
    out.affiliate = std::move(it->second.affiliate);
    pending_.erase(it);
    order_.pop_front();
    if (out.affiliate != nullptr) {
      known_.insert(out.id);
    } else {
      known_.erase(out.id);
    }
    return Watch::Poll::kChange;
  }

  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return order_.size();
  }

  void wake() const {
    if (wake_) wake_();
  }

 private:
  struct Pending {
    AffiliatePtr affiliate;  // null: deleted
    std::list<std::string>::iterator pos;
  };

  bool take_wake_locked() {
    if (!armed_ || (order_.empty() && !closed_)) return false;
    armed_ = false;
    return true;
  }

  mutable std::mutex mu_;  // guards everything below; taken by writers and the consumer
  std::list<std::string> order_;  // IDs in order of their first pending change
  std::unordered_map<std::string, Pending> pending_;
  std::unordered_set<std::string> known_;
  bool armed_ = false;
  bool closed_ = false;
  const std::function<void()> wake_;
  std::atomic<std::uint64_t>& coalesced_;  // the State's counter, which outlives subscriptions
};

using SubscriptionPtr = std::shared_ptr<Subscription>;
using WakeList = std::vector<SubscriptionPtr>;

void wake_all(const WakeList& list) {
  for (const auto& sub : list) sub->wake();
}

struct Affiliate {
  AffiliatePtr record;
  std::vector<TimePoint> endpoint_expiry;  // parallel to record->endpoints
  TimePoint expiration;
};

struct Cluster {
  std::mutex mu;  // guards everything below
  // Set, under both the map lock and `mu`, when the cluster leaves the map; whoever finds it set
  // looks the cluster up again, so no write or watch can land on a collected cluster.
  bool removed = false;
  std::unordered_map<std::string, Affiliate> affiliates;
  std::vector<SubscriptionPtr> subscriptions;

  bool empty() const { return affiliates.empty() && subscriptions.empty(); }

  void notify(const std::string& id, const AffiliatePtr& affiliate, WakeList& wakes) const {
    for (const auto& sub : subscriptions) {
      if (sub->push(id, affiliate)) wakes.push_back(sub);
    }
  }
};

using ClusterPtr = std::shared_ptr<Cluster>;

}  // namespace

class State::Impl : public std::enable_shared_from_this<State::Impl> {
 public:
  explicit Impl(const Clock& clock) : clock_(clock) {}

  // Runs fn(cluster) with the cluster locked; returns false if it does not exist and !create.
  template <typename Fn>
  bool with_cluster(std::string_view id, bool create, Fn&& fn) {
    for (;;) {
      ClusterPtr cluster = find(id, create);
      if (cluster == nullptr) return false;
      std::lock_guard lock(cluster->mu);
      if (cluster->removed) continue;
      fn(*cluster);
      return true;
    }
  }

  ClusterPtr find(std::string_view id, bool create) {
    std::lock_guard lock(mu_);
    auto it = clusters_.find(std::string(id));
    if (it != clusters_.end()) return it->second;
    if (!create) return nullptr;
    return clusters_.emplace(std::string(id), std::make_shared<Cluster>()).first->second;
  }

  // Returns whether the cluster was removed.
  bool remove_if_empty(std::string_view id) {
    std::lock_guard map_lock(mu_);
    auto it = clusters_.find(std::string(id));
    if (it == clusters_.end()) return false;
    ClusterPtr cluster = it->second;
    std::lock_guard lock(cluster->mu);
    if (!cluster->empty()) return false;
    cluster->removed = true;
    clusters_.erase(it);
    return true;
  }

  std::vector<std::pair<std::string, ClusterPtr>> all_clusters() const {
    std::lock_guard lock(mu_);
    return {clusters_.begin(), clusters_.end()};
  }

  void unsubscribe(const std::string& cluster_id, const Subscription* sub) {
    with_cluster(cluster_id, false, [&](Cluster& cluster) {
      std::erase_if(cluster.subscriptions, [&](const auto& s) { return s.get() == sub; });
    });
    remove_if_empty(cluster_id);
  }

  const Clock& clock_;
  std::atomic<std::uint64_t> coalesced_{0};

 private:
  mutable std::mutex mu_;  // guards clusters_ (the map, not the clusters)
  std::unordered_map<std::string, ClusterPtr> clusters_;
};

namespace {

class WatchImpl final : public Watch {
 public:
  WatchImpl(std::shared_ptr<State::Impl> state, std::string cluster_id, SubscriptionPtr sub)
      : state_(std::move(state)), cluster_id_(std::move(cluster_id)), sub_(std::move(sub)) {}
  ~WatchImpl() override { state_->unsubscribe(cluster_id_, sub_.get()); }

  Poll next(Change& out) override { return sub_->next(out); }
  std::size_t pending() const override { return sub_->pending(); }

 private:
  std::shared_ptr<State::Impl> state_;
  std::string cluster_id_;
  SubscriptionPtr sub_;
};

// Merges one update into an affiliate; returns whether clients can see a difference. The record
// is copied only on a visible change, so pure TTL refreshes allocate nothing.
bool merge(Affiliate& affiliate, const AffiliateUpdate& request, TimePoint expiration,
           UpdateStatus& status) {
  std::optional<AffiliateRecord> next;
  auto edit = [&]() -> AffiliateRecord& {
    if (!next) next = *affiliate.record;
    return *next;
  };
  if (!request.data.empty()) {
    // Data refreshes set the lifetime outright (it may shorten), as upstream.
    affiliate.expiration = expiration;
    if (affiliate.record->data != request.data) edit().data = std::string(request.data);
  }
  for (std::string_view endpoint : request.endpoints) {
    const auto& endpoints = next ? next->endpoints : affiliate.record->endpoints;
    auto it = std::find(endpoints.begin(), endpoints.end(), endpoint);
    if (it != endpoints.end()) {
      auto& expiry = affiliate.endpoint_expiry[it - endpoints.begin()];
      expiry = std::max(expiry, expiration);
      continue;
    }
    if (endpoints.size() >= kAffiliateEndpointsMax) {
      status = UpdateStatus::kTooManyEndpoints;
      break;
    }
    edit().endpoints.emplace_back(endpoint);
    affiliate.endpoint_expiry.push_back(expiration);
  }
  // Applied even after hitting the endpoint limit, so the affiliate outlives its merged endpoints.
  affiliate.expiration = std::max(affiliate.expiration, expiration);
  if (!next) return false;
  affiliate.record = std::make_shared<const AffiliateRecord>(std::move(*next));
  return true;
}

// Drops expired endpoints; returns how many.
std::size_t expire_endpoints(Affiliate& affiliate, TimePoint now) {
  const auto& old = *affiliate.record;
  AffiliateRecord next{old.id, old.data, {}};
  std::vector<TimePoint> expiry;
  for (std::size_t i = 0; i < old.endpoints.size(); ++i) {
    if (affiliate.endpoint_expiry[i] > now) {
      next.endpoints.push_back(old.endpoints[i]);
      expiry.push_back(affiliate.endpoint_expiry[i]);
    }
  }
  std::size_t dropped = old.endpoints.size() - next.endpoints.size();
  if (dropped > 0) {
    affiliate.record = std::make_shared<const AffiliateRecord>(std::move(next));
    affiliate.endpoint_expiry = std::move(expiry);
  }
  return dropped;
}

}  // namespace

State::State(const Clock& clock) : impl_(std::make_shared<Impl>(clock)) {}

State::~State() = default;

UpdateStatus State::update(const AffiliateUpdate& request) {
  const TimePoint expiration =
      impl_->clock_.now() + std::max(request.ttl, std::chrono::nanoseconds::zero());
  UpdateStatus status = UpdateStatus::kOk;
  WakeList wakes;
  impl_->with_cluster(request.cluster_id, true, [&](Cluster& cluster) {
    std::string id(request.affiliate_id);
    auto it = cluster.affiliates.find(id);
    bool created = false;
    if (it == cluster.affiliates.end()) {
      if (cluster.affiliates.size() >= kClusterAffiliatesMax) {
        status = UpdateStatus::kTooManyAffiliates;
        return;
      }
      auto record = std::make_shared<const AffiliateRecord>(AffiliateRecord{id, {}, {}});
      it = cluster.affiliates.emplace(id, Affiliate{std::move(record), {}, expiration}).first;
      created = true;
    }
    if (merge(it->second, request, expiration, status) || created) {
      cluster.notify(id, it->second.record, wakes);
    }
  });
  wake_all(wakes);
  return status;
}

void State::remove(std::string_view cluster_id, std::string_view affiliate_id) {
  WakeList wakes;
  bool emptied = false;
  impl_->with_cluster(cluster_id, false, [&](Cluster& cluster) {
    std::string id(affiliate_id);
    if (cluster.affiliates.erase(id) == 0) return;
    cluster.notify(id, nullptr, wakes);
    emptied = cluster.empty();
  });
  if (emptied) impl_->remove_if_empty(cluster_id);
  wake_all(wakes);
}

std::vector<AffiliatePtr> State::list(std::string_view cluster_id) const {
  std::vector<AffiliatePtr> out;
  impl_->with_cluster(cluster_id, false, [&](Cluster& cluster) {
    out.reserve(cluster.affiliates.size());
    for (const auto& [id, affiliate] : cluster.affiliates) out.push_back(affiliate.record);
  });
  return out;
}

WatchStart State::watch(std::string_view cluster_id, std::function<void()> on_pending) {
  WatchStart start;
  SubscriptionPtr sub;
  impl_->with_cluster(cluster_id, true, [&](Cluster& cluster) {
    std::vector<std::string> known;
    known.reserve(cluster.affiliates.size());
    start.snapshot.reserve(cluster.affiliates.size());
    for (const auto& [id, affiliate] : cluster.affiliates) {
      known.push_back(id);
      start.snapshot.push_back(affiliate.record);
    }
    sub = std::make_shared<Subscription>(std::move(known), std::move(on_pending),
                                         impl_->coalesced_);
    cluster.subscriptions.push_back(sub);
  });
  start.watch = std::make_unique<WatchImpl>(impl_, std::string(cluster_id), std::move(sub));
  return start;
}

GcResult State::collect_garbage() {
  const TimePoint now = impl_->clock_.now();
  GcResult result;
  WakeList wakes;
  std::vector<std::string> emptied;
  for (const auto& [cluster_id, cluster] : impl_->all_clusters()) {
    std::lock_guard lock(cluster->mu);
    if (cluster->removed) continue;
    for (auto it = cluster->affiliates.begin(); it != cluster->affiliates.end();) {
      Affiliate& affiliate = it->second;
      if (affiliate.expiration < now) {
        result.affiliates_removed++;
        result.endpoints_removed += affiliate.record->endpoints.size();
        cluster->notify(it->first, nullptr, wakes);
        it = cluster->affiliates.erase(it);
        continue;
      }
      if (std::size_t dropped = expire_endpoints(affiliate, now); dropped > 0) {
        // The affiliate lives on, so watchers get its new state (upstream sends a deletion).
        result.endpoints_removed += dropped;
        cluster->notify(it->first, affiliate.record, wakes);
      }
      ++it;
    }
    if (cluster->empty()) emptied.push_back(cluster_id);
  }
  for (const auto& cluster_id : emptied) {
    // Re-checked under the map lock: a writer may have revived the cluster meanwhile.
    if (impl_->remove_if_empty(cluster_id)) result.clusters_removed++;
  }
  wake_all(wakes);
  return result;
}

void State::close_watches() {
  WakeList wakes;
  for (const auto& [cluster_id, cluster] : impl_->all_clusters()) {
    std::lock_guard lock(cluster->mu);
    for (const auto& sub : cluster->subscriptions) {
      if (sub->close()) wakes.push_back(sub);
    }
  }
  wake_all(wakes);
}

StateStats State::stats() const {
  StateStats stats;
  stats.coalesced_changes = impl_->coalesced_.load(std::memory_order_relaxed);
  for (const auto& [cluster_id, cluster] : impl_->all_clusters()) {
    std::lock_guard lock(cluster->mu);
    if (cluster->removed) continue;
    stats.clusters++;
    stats.affiliates += cluster->affiliates.size();
    stats.watches += cluster->subscriptions.size();
    for (const auto& [id, affiliate] : cluster->affiliates) {
      stats.endpoints += affiliate.record->endpoints.size();
    }
  }
  return stats;
}

void State::export_clusters(const std::function<void(ClusterExport&&)>& fn) const {
  for (const auto& [cluster_id, cluster] : impl_->all_clusters()) {
    ClusterExport out{cluster_id, {}};
    {
      std::lock_guard lock(cluster->mu);
      if (cluster->removed || cluster->affiliates.empty()) continue;
      const TimePoint now = impl_->clock_.now();
      out.affiliates.reserve(cluster->affiliates.size());
      for (const auto& [id, affiliate] : cluster->affiliates) {
        AffiliateExport entry{affiliate.record, affiliate.expiration - now, {}};
        entry.endpoint_ttls.reserve(affiliate.endpoint_expiry.size());
        for (TimePoint expiry : affiliate.endpoint_expiry) {
          entry.endpoint_ttls.push_back(expiry - now);
        }
        out.affiliates.push_back(std::move(entry));
      }
    }
    fn(std::move(out));
  }
}

bool State::import_cluster(const ClusterExport& in) {
  bool imported = false;
  WakeList wakes;
  impl_->with_cluster(in.id, true, [&](Cluster& cluster) {
    if (!cluster.affiliates.empty()) return;
    const TimePoint now = impl_->clock_.now();
    for (const auto& entry : in.affiliates) {
      Affiliate affiliate{entry.record, {}, now + entry.ttl};
      for (auto ttl : entry.endpoint_ttls) affiliate.endpoint_expiry.push_back(now + ttl);
      affiliate.endpoint_expiry.resize(entry.record->endpoints.size(), now);
      if (cluster.affiliates.emplace(entry.record->id, std::move(affiliate)).second) {
        cluster.notify(entry.record->id, entry.record, wakes);
      }
    }
    imported = true;
  });
  wake_all(wakes);
  // An empty import leaves nothing behind for GC to find.
  if (imported && in.affiliates.empty()) impl_->remove_if_empty(in.id);
  return imported;
}

}  // namespace discovery::server
