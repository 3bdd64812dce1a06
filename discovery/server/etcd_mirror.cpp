// The mirror's thread: list, watch from the listed revision, and list again whenever etcd ends
// the watch. Watch events are applied on the watch's own thread, in revision order.
#include "discovery/server/etcd_mirror.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "discovery/server/etcd_stats.h"
#include "discovery/server/state.h"
#include "etcd/client.h"
#include "platform/log_value.h"

namespace discovery::server {
namespace {

using Steady = std::chrono::steady_clock;

// Keys per Range page of a listing: bounds the memory a listing holds at once.
constexpr std::int64_t kPage = 1000;
constexpr std::chrono::milliseconds kFirstRetry{100};
constexpr std::chrono::milliseconds kMaxRetry{2000};

}  // namespace

EtcdMirror::EtcdMirror(etcd::Client& client, const EtcdKeys& keys, State& state, EtcdStats& stats)
    : client_(client),
      keys_(keys),
      state_(state),
      stats_(stats),
      thread_([this](std::stop_token stop) { run(stop); }) {}

EtcdMirror::~EtcdMirror() {
  thread_.request_stop();
  changed_.notify_all();
}

bool EtcdMirror::loaded() const {
  std::lock_guard lock(mu_);
  return applied_ > 0;
}

bool EtcdMirror::wait_applied(std::int64_t revision, std::chrono::nanoseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return applied_ >= revision; });
}

void EtcdMirror::advance(std::int64_t revision) {
  {
    std::lock_guard lock(mu_);
    if (revision <= applied_) return;
    applied_ = revision;
  }
  stats_.set_revision(revision);
  changed_.notify_all();
}

void EtcdMirror::run(std::stop_token stop) {
  auto retry = kFirstRetry;
  bool failing = false;
  while (!stop.stop_requested()) {
    std::int64_t revision = 0;
    const auto started = Steady::now();
    try {
      revision = relist();
    } catch (const etcd::Error& e) {
      stats_.request(EtcdOp::kRelist, Steady::now() - started, false);
      // The first failure of a run is worth a warning; the retries that follow are not.
      spdlog::log(failing ? spdlog::level::debug : spdlog::level::warn,
                  "etcd_relist_failed endpoint={} error=\"{}\" retry_in_ms={}", e.endpoint(),
                  platform::log_value(e.what()), retry.count());
      failing = true;
      std::unique_lock lock(mu_);
      changed_.wait_for(lock, stop, retry, [] { return false; });
      retry = std::min(retry * 2, kMaxRetry);
      continue;
    }
    if (failing) spdlog::info("etcd_relist_recovered revision={}", revision);
    failing = false;
    retry = kFirstRetry;
    etcd::WatchRequest request = etcd::WatchRequest::prefix(keys_.affiliates(), revision + 1);
    request.progress_notify = true;
    auto watch = client_.watch(request, [this](const etcd::WatchResponse& r) { on_watch(r); });
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, stop, [this] { return restart_; });
      restart_ = false;
    }
    watch.reset();  // joins the watch's thread; no event arrives after this
  }
}

std::int64_t EtcdMirror::relist() {
  const std::string prefix = keys_.affiliates();
  etcd::RangeRequest page = etcd::RangeRequest::prefix(prefix);
  page.limit = kPage;
  std::unordered_map<std::string, std::unordered_set<std::string>> listed;
  const auto now = std::chrono::system_clock::now();
  for (;;) {
    const auto started = Steady::now();
    etcd::RangeResult result = client_.range(page);
    stats_.request(EtcdOp::kRelist, Steady::now() - started, true);
    // Every page reads the store as of the first one's revision.
    if (page.revision == 0) page.revision = result.revision;
    for (const auto& kv : result.kvs) {
      auto key = keys_.parse_affiliate(kv.key);
      std::string error = "not an affiliate key";
      std::optional<StoredAffiliate> value;
      if (key) value = decode_stored(kv.value, error);
      if (!value || value->record.id != key->affiliate_id) {
        stats_.bad_value();
        spdlog::warn("etcd_bad_value key=\"{}\" error=\"{}\" (ignored)",
                     platform::log_value(kv.key), value ? "ID differs from the key's" : error);
        continue;
      }
      if (!state_.apply(key->cluster_tag, to_export(*value, now))) {
        spdlog::error("etcd_cluster_full cluster={} (affiliate ignored)", key->cluster_tag);
      }
      listed[key->cluster_tag].insert(key->affiliate_id);
    }
    if (!result.more || result.kvs.empty()) break;
    page.key = result.kvs.back().key + '\0';
  }
  // What the State holds and the listing does not was deleted while the watch was down.
  for (const auto& cluster : state_.cluster_ids()) {
    const auto it = listed.find(cluster);
    for (const auto& affiliate : state_.list(cluster)) {
      if (it == listed.end() || !it->second.contains(affiliate->id)) {
        state_.remove(cluster, affiliate->id);
      }
    }
  }
  stats_.relisted();
  spdlog::info("etcd_listed revision={} clusters={}", page.revision, listed.size());
  advance(page.revision);
  return page.revision;
}

void EtcdMirror::on_watch(const etcd::WatchResponse& response) {
  if (response.compact_revision != 0 || response.canceled) {
    stats_.watch_restarted();
    spdlog::warn("etcd_watch_ended compact_revision={} canceled={} reason=\"{}\" (listing again)",
                 response.compact_revision, response.canceled,
                 platform::log_value(response.cancel_reason));
    {
      std::lock_guard lock(mu_);
      restart_ = true;
    }
    changed_.notify_all();
    return;
  }
  const auto now = std::chrono::system_clock::now();
  // A progress notification vouches for everything up to its revision. An event response does
  // not: etcd may send a catching-up watcher's events in several batches under one header
  // revision, so only the events themselves count.
  std::int64_t last = response.events.empty() ? response.revision : 0;
  for (const auto& event : response.events) {
    last = std::max(last, event.kv.mod_revision);
    auto key = keys_.parse_affiliate(event.kv.key);
    if (!key) {
      stats_.bad_value();
      continue;
    }
    if (event.type == etcd::Event::Type::kDelete) {
      state_.remove(key->cluster_tag, key->affiliate_id);
      continue;
    }
    std::string error;
    auto value = decode_stored(event.kv.value, error);
    if (!value || value->record.id != key->affiliate_id) {
      // The key no longer holds an affiliate: whatever it held before is gone, as for a replica
      // that lists the store now.
      stats_.bad_value();
      spdlog::warn("etcd_bad_value key=\"{}\" error=\"{}\" (ignored)",
                   platform::log_value(event.kv.key), value ? "ID differs from the key's" : error);
      state_.remove(key->cluster_tag, key->affiliate_id);
      continue;
    }
    stats_.watch_event(
        std::max(std::chrono::nanoseconds::zero(), std::chrono::nanoseconds(now - value->written)));
    if (!state_.apply(key->cluster_tag, to_export(*value, now))) {
      spdlog::error("etcd_cluster_full cluster={} (affiliate ignored)", key->cluster_tag);
    }
  }
  advance(last);
}

}  // namespace discovery::server
