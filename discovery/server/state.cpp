// Registry implementation. Lock order: clusters map -> one cluster; wake-ups and every other
// call-out happen after all locks are released.
//
// Watches: each cluster numbers its changes (seq) and keeps, per affiliate ID, only its latest
// change in `log`, ordered by seq: the live record, or a tombstone while some watcher may still
// need the deletion. A watch is a cursor into that order and next() returns the first entry after
// it. So every change is encoded once for all watchers, and a watch costs O(1) memory however far
// behind it is.
#include "discovery/server/state.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "discovery/server/affiliate_merge.h"
#include "discovery/server/limits.h"
#include "discovery/server/watch_wire.h"

namespace discovery::server {
namespace {

// Heterogeneous lookup, so finding an ID from a request's string_view allocates nothing.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename T>
using StringMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;

// One affiliate version, or one deletion, as watchers receive it. Immutable and shared by the
// registry, List results, snapshots and every watcher's pending change.
struct Published {
  AffiliateRecord record;  // a deletion carries only the ID
  bool deleted = false;
  std::string message;  // this change as one WatchResponse
};
using PublishedPtr = std::shared_ptr<const Published>;

PublishedPtr publish_upsert(AffiliateRecord record) {
  auto published = std::make_shared<Published>();
  published->record = std::move(record);
  append_watch_upsert(published->message, published->record);
  return published;
}

PublishedPtr publish_deletion(const std::string& id) {
  auto published = std::make_shared<Published>();
  published->record.id = id;
  published->deleted = true;
  published->message = watch_deletion(id);
  return published;
}

AffiliatePtr record_of(const PublishedPtr& published) { return {published, &published->record}; }

// One watcher's position. Guarded by its cluster's mutex; `wake` is const after construction.
struct Subscription {
  explicit Subscription(std::function<void()> fn) : wake(std::move(fn)) {}

  std::uint64_t cursor = 0;  // the last change this watcher has (its snapshot's, at first)
  std::size_t index = 0;     // position in the cluster's `subscriptions`
  bool armed = false;        // found nothing pending: the next change must wake it
  bool closed = false;
  bool gone = false;  // unsubscribed; may linger in `armed` until the next change drops it
  const std::function<void()> wake;
};
using SubscriptionPtr = std::shared_ptr<Subscription>;
using WakeList = std::vector<SubscriptionPtr>;

void wake_all(const WakeList& list) {
  for (const auto& sub : list) {
    if (sub->wake) sub->wake();
  }
}

// The latest change of one affiliate ID: live, or a tombstone.
struct Entry {
  PublishedPtr current;
  std::uint64_t seq = 0;  // position in the change order; 0 until first published
  // The earliest change that created an incarnation a watcher may still know: a watcher whose
  // cursor is before it never saw the affiliate, so its deletion is not news to that watcher.
  std::uint64_t born = 0;
  AffiliateLifetimes<TimePoint> times;

  const AffiliateRecord& record() const { return current->record; }
};
using EntryMap = StringMap<Entry>;

// Holds this many tombstones before the first prune pass.
constexpr std::size_t kMinPrune = 64;

// A snapshot that gives its bytes back to the State's budget when the last holder lets go.
struct CountedSnapshot : WatchSnapshot {
  explicit CountedSnapshot(std::shared_ptr<std::atomic<std::size_t>> counter)
      : counter_(std::move(counter)) {}
  ~CountedSnapshot() { counter_->fetch_sub(bytes_, std::memory_order_relaxed); }
  CountedSnapshot(const CountedSnapshot&) = delete;
  CountedSnapshot& operator=(const CountedSnapshot&) = delete;

  void count() {
    bytes_ = message.capacity() + affiliates.capacity() * sizeof(AffiliatePtr);
    counter_->fetch_add(bytes_, std::memory_order_relaxed);
  }

 private:
  std::shared_ptr<std::atomic<std::size_t>> counter_;
  std::size_t bytes_ = 0;
};

struct Cluster {
  std::mutex mu;  // guards everything below
  // Set, under both the map lock and `mu`, when the cluster leaves the map; whoever finds it set
  // looks the cluster up again, so no write or watch can land on a collected cluster. Never set
  // while it has subscriptions, so watches hold the cluster itself.
  bool removed = false;
  std::uint64_t seq = 0;  // number of the last change
  EntryMap affiliates;
  EntryMap tombstones;
  std::map<std::uint64_t, Entry*> log;  // every entry of both maps by seq (nodes never move)
  std::size_t prune_at = kMinPrune;
  std::vector<SubscriptionPtr> subscriptions;
  std::vector<SubscriptionPtr> armed;
  std::weak_ptr<const WatchSnapshot> snapshot;  // the latest one, while anyone holds it
  std::uint64_t snapshot_seq = 0;

  bool empty() const { return affiliates.empty() && subscriptions.empty(); }

  // Deletions matter only to watchers, present or about to start from the held snapshot.
  bool keeps_tombstones() const { return !subscriptions.empty() || !snapshot.expired(); }

  // Makes `entry` the newest change and wakes the watchers that were idle.
  void publish(Entry& entry, WakeList& wakes) {
    ++seq;
    if (entry.seq != 0) {
      auto node = log.extract(entry.seq);
      node.key() = seq;
      log.insert(log.end(), std::move(node));
    } else {
      log.emplace_hint(log.end(), seq, &entry);
    }
    entry.seq = seq;
    for (auto& sub : armed) {
      if (sub->gone) continue;
      sub->armed = false;
      wakes.push_back(std::move(sub));
    }
    armed.clear();
  }

  // The live entry for `id`, created (or revived from its tombstone) when missing; null when the
  // cluster is full. A created entry has an empty record and must be published by the caller.
  Entry* find_or_create(std::string_view id, TimePoint expiration, bool& created) {
    if (auto it = affiliates.find(id); it != affiliates.end()) return &it->second;
    if (affiliates.size() >= kClusterAffiliatesMax) return nullptr;
    created = true;
    Entry* entry = nullptr;
    if (auto it = tombstones.find(id); it != tombstones.end()) {
      // Keeps its log position and `born`: watchers that knew the old incarnation get the upsert.
      entry = &affiliates.insert(tombstones.extract(it)).position->second;
    } else {
      entry = &affiliates.emplace(std::string(id), Entry{}).first->second;
      entry->born = seq + 1;  // the change that publishes it
    }
    entry->current =
        std::make_shared<const Published>(Published{{std::string(id), {}, {}}, false, {}});
    entry->times.expiration = expiration;
    return entry;
  }

  // Sets the affiliate `item` names to exactly `item` (record and lifetimes relative to `now`);
  // watchers get an upsert when it is new or its record differs. Null when the cluster is full.
  Entry* assign(const AffiliateExport& item, TimePoint now, WakeList& wakes, bool& created) {
    Entry* entry = find_or_create(item.record->id, now + item.ttl, created);
    if (entry == nullptr) return nullptr;
    entry->times.expiration = now + item.ttl;
    entry->times.endpoint_expiry.clear();
    for (auto ttl : item.endpoint_ttls) entry->times.endpoint_expiry.push_back(now + ttl);
    entry->times.endpoint_expiry.resize(item.record->endpoints.size(), now);
    if (created || entry->record() != *item.record) {
      entry->current = publish_upsert(*item.record);
      publish(*entry, wakes);
    }
    return entry;
  }

  // Deletes a live affiliate; returns the iterator after it.
  EntryMap::iterator erase(EntryMap::iterator it, WakeList& wakes) {
    auto next = std::next(it);
    if (!keeps_tombstones()) {
      log.erase(it->second.seq);
      affiliates.erase(it);
      return next;
    }
    Entry& entry = it->second;
    entry.current = publish_deletion(it->first);
    entry.times.endpoint_expiry = {};
    // Node handles move the element without copying it, so `log` still points at it.
    tombstones.insert(affiliates.extract(it));
    publish(entry, wakes);
    if (tombstones.size() >= prune_at) prune_tombstones();
    return next;
  }

  // Drops tombstones no watcher needs: one is needed while some watcher's cursor lies in
  // [born, seq), i.e. the watcher knew the affiliate and has not passed its deletion.
  void prune_tombstones() {
    if (!keeps_tombstones()) {
      for (const auto& [id, entry] : tombstones) log.erase(entry.seq);
      tombstones.clear();
      prune_at = kMinPrune;
      return;
    }
    std::vector<std::uint64_t> cursors;
    cursors.reserve(subscriptions.size() + 1);
    for (const auto& sub : subscriptions) cursors.push_back(sub->cursor);
    if (!snapshot.expired()) cursors.push_back(snapshot_seq);
    std::sort(cursors.begin(), cursors.end());
    for (auto it = tombstones.begin(); it != tombstones.end();) {
      const Entry& entry = it->second;
      auto c = std::lower_bound(cursors.begin(), cursors.end(), entry.born);
      if (c != cursors.end() && *c < entry.seq) {
        ++it;
        continue;
      }
      log.erase(entry.seq);
      it = tombstones.erase(it);
    }
    // Doubling keeps the passes amortized O(1) per deletion when most tombstones are needed.
    prune_at = std::max(kMinPrune, 2 * tombstones.size());
  }

  // The first change after `cursor` that a watcher there must get, or log.end().
  std::map<std::uint64_t, Entry*>::const_iterator after(std::uint64_t cursor) const {
    auto it = log.upper_bound(cursor);
    while (it != log.end() && it->second->current->deleted && it->second->born > cursor) ++it;
    return it;
  }

  void add(const SubscriptionPtr& sub) {
    sub->index = subscriptions.size();
    subscriptions.push_back(sub);
  }

  void remove(const SubscriptionPtr& sub) {
    sub->gone = true;
    const std::size_t i = sub->index;
    if (i + 1 != subscriptions.size()) {
      subscriptions[i] = std::move(subscriptions.back());
      subscriptions[i]->index = i;
    }
    subscriptions.pop_back();
    // Idle watchers of a quiet cluster that come and go must not pile up in `armed`.
    if (armed.size() > 2 * subscriptions.size() + kMinPrune) {
      std::erase_if(armed, [](const SubscriptionPtr& s) { return s->gone; });
    }
    if (!tombstones.empty()) prune_tombstones();
  }
};

using ClusterPtr = std::shared_ptr<Cluster>;

}  // namespace

class State::Impl {
 public:
  Impl(const Clock& clock, std::size_t snapshot_budget, std::size_t max_clusters)
      : clock_(clock), snapshot_budget_(snapshot_budget), max_clusters_(max_clusters) {}

  enum class Create { kNo, kUnderCap, kAlways };

  // Runs fn(cluster, ptr) with the cluster locked; returns false when it does not exist and
  // `create` (kUnderCap: while there are fewer than max_clusters_) did not make it.
  template <typename Fn>
  bool with_cluster(std::string_view id, Create create, Fn&& fn) {
    for (;;) {
      ClusterPtr cluster = find(id, create);
      if (cluster == nullptr) return false;
      std::lock_guard lock(cluster->mu);
      if (cluster->removed) continue;
      fn(*cluster, cluster);
      return true;
    }
  }

  ClusterPtr find(std::string_view id, Create create) {
    std::lock_guard lock(mu_);
    auto it = clusters_.find(id);
    if (it != clusters_.end()) return it->second;
    if (create == Create::kNo) return nullptr;
    if (create == Create::kUnderCap && max_clusters_ != 0 && clusters_.size() >= max_clusters_) {
      return nullptr;
    }
    return clusters_.emplace(std::string(id), std::make_shared<Cluster>()).first->second;
  }

  // Returns whether the cluster was removed.
  bool remove_if_empty(std::string_view id) {
    std::lock_guard map_lock(mu_);
    auto it = clusters_.find(id);
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

  // The cluster's held snapshot when it is current, or when building another would exceed the
  // budget; otherwise a new one. Called with the cluster locked.
  std::shared_ptr<const WatchSnapshot> snapshot_of(Cluster& cluster) {
    auto held = cluster.snapshot.lock();
    if (held != nullptr && (cluster.snapshot_seq == cluster.seq ||
                            snapshot_bytes_->load(std::memory_order_relaxed) > snapshot_budget_)) {
      return held;
    }
    auto snapshot = std::make_shared<CountedSnapshot>(snapshot_bytes_);
    std::size_t size = 0;
    for (const auto& [id, entry] : cluster.affiliates) size += entry.current->message.size();
    snapshot->message.reserve(size);
    snapshot->affiliates.reserve(cluster.affiliates.size());
    for (const auto& [id, entry] : cluster.affiliates) {
      snapshot->affiliates.push_back(record_of(entry.current));
      snapshot->message += entry.current->message;
    }
    snapshot->count();
    cluster.snapshot = snapshot;
    cluster.snapshot_seq = cluster.seq;
    return snapshot;
  }

  const Clock& clock_;
  const std::size_t snapshot_budget_;
  const std::size_t max_clusters_;
  const std::shared_ptr<std::atomic<std::size_t>> snapshot_bytes_ =
      std::make_shared<std::atomic<std::size_t>>(0);
  std::atomic<std::uint64_t> coalesced_{0};

 private:
  mutable std::mutex mu_;  // guards clusters_ (the map, not the clusters)
  StringMap<ClusterPtr> clusters_;
};

namespace {

class WatchImpl final : public Watch {
 public:
  WatchImpl(std::shared_ptr<State::Impl> state, std::string cluster_id, ClusterPtr cluster,
            SubscriptionPtr sub)
      : state_(std::move(state)),
        cluster_id_(std::move(cluster_id)),
        cluster_(std::move(cluster)),
        sub_(std::move(sub)) {}

  ~WatchImpl() override {
    {
      std::lock_guard lock(cluster_->mu);
      cluster_->remove(sub_);
    }
    state_->remove_if_empty(cluster_id_);
  }

  Poll next(Change& out) override {
    std::lock_guard lock(cluster_->mu);
    if (sub_->closed) return Poll::kClosed;
    auto it = cluster_->after(sub_->cursor);
    if (it == cluster_->log.end()) {
      if (!sub_->armed) {
        sub_->armed = true;
        cluster_->armed.push_back(sub_);
      }
      return Poll::kIdle;
    }
    // Every change number skipped was superseded (or was news of something never seen).
    state_->coalesced_.fetch_add(it->first - sub_->cursor - 1, std::memory_order_relaxed);
    sub_->cursor = it->first;
    const PublishedPtr& published = it->second->current;
    out.id = published->record.id;
    out.affiliate = published->deleted ? nullptr : record_of(published);
    out.message = std::shared_ptr<const std::string>(published, &published->message);
    return Poll::kChange;
  }

  std::size_t pending() const override {
    std::lock_guard lock(cluster_->mu);
    std::size_t count = 0;
    for (auto it = cluster_->after(sub_->cursor); it != cluster_->log.end();
         it = cluster_->after(it->first)) {
      ++count;
    }
    return count;
  }

 private:
  std::shared_ptr<State::Impl> state_;
  std::string cluster_id_;
  ClusterPtr cluster_;
  SubscriptionPtr sub_;
};

}  // namespace

State::State(const Clock& clock, std::size_t snapshot_budget, std::size_t max_clusters)
    : impl_(std::make_shared<Impl>(clock, snapshot_budget, max_clusters)) {}

State::~State() = default;

UpdateStatus State::update(const AffiliateUpdate& request) {
  const TimePoint expiration =
      impl_->clock_.now() + std::max(request.ttl, std::chrono::nanoseconds::zero());
  UpdateStatus status = UpdateStatus::kOk;
  WakeList wakes;
  const bool found = impl_->with_cluster(
      request.cluster_id, Impl::Create::kUnderCap, [&](Cluster& cluster, const ClusterPtr&) {
        bool created = false;
        Entry* entry = cluster.find_or_create(request.affiliate_id, expiration, created);
        if (entry == nullptr) {
          status = UpdateStatus::kTooManyAffiliates;
          return;
        }
        auto next = merge_update(entry->record(), entry->times, request, expiration, status);
        if (next) {
          entry->current = publish_upsert(std::move(*next));
        } else if (created) {
          entry->current = publish_upsert(entry->record());
        } else {
          return;
        }
        cluster.publish(*entry, wakes);
      });
  wake_all(wakes);
  return found ? status : UpdateStatus::kTooManyClusters;
}

void State::remove(std::string_view cluster_id, std::string_view affiliate_id) {
  WakeList wakes;
  bool emptied = false;
  impl_->with_cluster(cluster_id, Impl::Create::kNo, [&](Cluster& cluster, const ClusterPtr&) {
    auto it = cluster.affiliates.find(affiliate_id);
    if (it == cluster.affiliates.end()) return;
    cluster.erase(it, wakes);
    emptied = cluster.empty();
  });
  if (emptied) impl_->remove_if_empty(cluster_id);
  wake_all(wakes);
}

std::vector<AffiliatePtr> State::list(std::string_view cluster_id) const {
  std::vector<AffiliatePtr> out;
  impl_->with_cluster(cluster_id, Impl::Create::kNo, [&](Cluster& cluster, const ClusterPtr&) {
    out.reserve(cluster.affiliates.size());
    for (const auto& [id, entry] : cluster.affiliates) out.push_back(record_of(entry.current));
  });
  return out;
}

WatchStart State::watch(std::string_view cluster_id, std::function<void()> on_pending) {
  WatchStart start;
  auto sub = std::make_shared<Subscription>(std::move(on_pending));
  ClusterPtr watched;
  const bool found = impl_->with_cluster(cluster_id, Impl::Create::kUnderCap,
                                         [&](Cluster& cluster, const ClusterPtr& ptr) {
                                           start.snapshot = impl_->snapshot_of(cluster);
                                           sub->cursor = cluster.snapshot_seq;
                                           cluster.add(sub);
                                           watched = ptr;
                                         });
  if (!found) return start;
  start.watch = std::make_unique<WatchImpl>(impl_, std::string(cluster_id), std::move(watched),
                                            std::move(sub));
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
      Entry& entry = it->second;
      if (entry.times.expiration < now) {
        result.affiliates_removed++;
        result.endpoints_removed += entry.record().endpoints.size();
        it = cluster->erase(it, wakes);
        continue;
      }
      if (auto next = drop_expired_endpoints(entry.record(), entry.times, now)) {
        // The affiliate lives on, so watchers get its new state (upstream sends a deletion).
        result.endpoints_removed += entry.record().endpoints.size() - next->endpoints.size();
        entry.current = publish_upsert(std::move(*next));
        cluster->publish(entry, wakes);
      }
      ++it;
    }
    if (!cluster->tombstones.empty()) cluster->prune_tombstones();
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
      sub->closed = true;
      if (sub->armed) {
        sub->armed = false;
        wakes.push_back(sub);
      }
    }
    cluster->armed.clear();
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
    stats.tombstones += cluster->tombstones.size();
    for (const auto& [id, entry] : cluster->affiliates) {
      stats.endpoints += entry.record().endpoints.size();
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
      for (const auto& [id, entry] : cluster->affiliates) {
        AffiliateExport item{record_of(entry.current), entry.times.expiration - now, {}};
        item.endpoint_ttls.reserve(entry.times.endpoint_expiry.size());
        for (TimePoint expiry : entry.times.endpoint_expiry) {
          item.endpoint_ttls.push_back(expiry - now);
        }
        out.affiliates.push_back(std::move(item));
      }
    }
    fn(std::move(out));
  }
}

bool State::import_cluster(const ClusterExport& in) {
  bool imported = false;
  WakeList wakes;
  impl_->with_cluster(in.id, Impl::Create::kAlways, [&](Cluster& cluster, const ClusterPtr&) {
    if (!cluster.affiliates.empty()) return;
    const TimePoint now = impl_->clock_.now();
    for (const auto& item : in.affiliates) {
      if (cluster.affiliates.contains(item.record->id)) continue;  // a repeated ID
      bool created = false;
      cluster.assign(item, now, wakes, created);  // null past the limit
    }
    imported = true;
  });
  wake_all(wakes);
  // An empty import leaves nothing behind for GC to find.
  if (imported && in.affiliates.empty()) impl_->remove_if_empty(in.id);
  return imported;
}

bool State::apply(std::string_view cluster_id, const AffiliateExport& item) {
  bool stored = false;
  WakeList wakes;
  impl_->with_cluster(cluster_id, Impl::Create::kAlways, [&](Cluster& cluster, const ClusterPtr&) {
    bool created = false;
    stored = cluster.assign(item, impl_->clock_.now(), wakes, created) != nullptr;
  });
  wake_all(wakes);
  return stored;
}

std::vector<AffiliateKey> State::expiring() const {
  const TimePoint now = impl_->clock_.now();
  std::vector<AffiliateKey> out;
  for (const auto& [cluster_id, cluster] : impl_->all_clusters()) {
    std::lock_guard lock(cluster->mu);
    if (cluster->removed) continue;
    for (const auto& [id, entry] : cluster->affiliates) {
      const auto& expiry = entry.times.endpoint_expiry;
      if (entry.times.expiration < now ||
          std::any_of(expiry.begin(), expiry.end(), [now](TimePoint t) { return t <= now; })) {
        out.push_back({cluster_id, id});
      }
    }
  }
  return out;
}

std::vector<std::string> State::cluster_ids() const {
  std::vector<std::string> out;
  for (const auto& [cluster_id, cluster] : impl_->all_clusters()) {
    std::lock_guard lock(cluster->mu);
    if (!cluster->removed && !cluster->affiliates.empty()) out.push_back(cluster_id);
  }
  return out;
}

}  // namespace discovery::server
