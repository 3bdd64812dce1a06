// Watch delivery: a signal slot schedules at most one drain; the drain copies the pending history
// under the collection lock, filters outside it and calls back once per batch.
#include "runtime/state/internal/watcher.h"

#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>

#include "runtime/state/internal/wake_group.h"

namespace runtime::state::internal {
namespace {

ResourcePtr marker(const Kind& kind, std::string id) {
  return std::make_shared<const Resource>(
      resource::tombstone(resource::Metadata(Pointer{kind.ns, kind.type, std::move(id)})));
}

}  // namespace

std::vector<ResourcePtr> select_locked(const Collection& collection, const WatchTarget& target) {
  if (!target.id) return collection.snapshot_locked(target.filter);
  if (auto r = collection.find_locked(*target.id)) return {std::move(r)};
  return {};
}

std::vector<Event> bootstrap_events(const Kind& kind, const WatchTarget& target,
                                    const std::vector<ResourcePtr>& selected,
                                    std::uint64_t position) {
  const std::string bookmark = encode_bookmark(position);
  std::vector<Event> out;
  out.reserve(selected.size() + 1);
  for (const auto& r : selected) {
    out.push_back(Event{EventType::kCreated, r, nullptr, bookmark, {}});
  }
  if (!target.id) {
    out.push_back(Event{EventType::kBootstrapped, marker(kind, ""), nullptr, bookmark, {}});
  } else if (selected.empty()) {
    out.push_back(Event{EventType::kDestroyed, marker(kind, *target.id), nullptr, bookmark, {}});
  }
  return out;
}

// Subscribed either through a wake group or with a slot of its own.
class Watcher::Handle final : public Watch {
 public:
  Handle(std::shared_ptr<Watcher> watcher, std::shared_ptr<WakeGroup> group,
         boost::signals2::connection connection)
      : watcher_(std::move(watcher)),
        group_(std::move(group)),
        connection_(std::move(connection)) {}

  ~Handle() override {
    // Cancel first: a wake that is under way may still schedule, and that drain must stay quiet.
    watcher_->cancelled_.store(true);
    if (group_) group_->leave(watcher_.get());
    connection_.disconnect();
    watcher_->collection_->watchers.fetch_sub(1);
    watcher_->counters_->watchers.fetch_sub(1);
  }

 private:
  std::shared_ptr<Watcher> watcher_;
  std::shared_ptr<WakeGroup> group_;
  boost::signals2::connection connection_;
};

Watcher::Watcher(std::shared_ptr<Collection> collection, std::shared_ptr<Counters> counters,
                 Executor executor, WatchCallback callback, WatchTarget target,
                 std::uint64_t position, std::vector<Event> initial)
    : collection_(std::move(collection)),
      counters_(std::move(counters)),
      executor_(std::move(executor)),
      callback_(std::move(callback)),
      target_(std::move(target)),
      position_(position),
      initial_(std::move(initial)) {}

std::unique_ptr<Watch> Watcher::start(std::shared_ptr<Watcher> watcher) {
  std::shared_ptr<WakeGroup> group;
  boost::signals2::connection connection;
  if (const auto io = io_executor_of(watcher->executor_)) {
    group = WakeGroup::of(*watcher->collection_, *io);
    group->join(watcher);
  } else {
    // The slot holds the watcher weakly so a disconnected slot that signals2 has not yet
    // collected keeps nothing alive.
    std::weak_ptr<Watcher> weak = watcher;
    connection = watcher->collection_->changed.connect([weak] {
      if (auto w = weak.lock()) w->schedule();
    });
  }
  // Writes between the setup snapshot and this point woke nobody; the first drain reads the
  // history up to the present, so they are still delivered.
  watcher->collection_->watchers.fetch_add(1);
  watcher->counters_->watchers.fetch_add(1);
  auto handle = std::make_unique<Handle>(watcher, std::move(group), std::move(connection));
  watcher->schedule();
  return handle;
}

void Watcher::schedule() {
  if (scheduled_.exchange(true)) return;
  // Deferred, not posted: when the writer runs on a thread of the watcher's io_context (as
  // controllers do), the drain joins that thread's own queue and runs right after the writer's
  // handler, with no thread woken for it; asio wakes a second thread only if more work is queued
  // by then. From any other thread a defer is a post.
  boost::asio::defer(executor_, [self = shared_from_this()] { self->drain(); });
}

void Watcher::enter() {
  if (scheduled_.exchange(true)) return;
  boost::asio::dispatch(executor_, [self = shared_from_this()] { self->drain(); });
}

void Watcher::drain() {
  if (cancelled_.load()) return;  // scheduled_ stays set: a cancelled watcher never drains again

  const std::uint64_t first = position_;
  HistorySlice entries;
  std::vector<ResourcePtr> selected;
  bool overrun = false;
  {
    std::lock_guard lock(collection_->mutex());
    const std::uint64_t end = collection_->write_pos_locked();
    overrun = end - position_ > collection_->capacity_locked();
    if (overrun) {
      selected = select_locked(*collection_, target_);
    } else {
      entries = collection_->history_locked(position_);
    }
    position_ = end;
  }

  WatchBatch batch;
  if (overrun) {
    // The events this watcher missed are gone; hand it the present instead of failing.
    counters_->resyncs.fetch_add(1);
    batch.resync = true;
    batch.events = bootstrap_events(collection_->kind(), target_, selected, position_);
  } else {
    batch.events = std::move(initial_);
    filter_into(std::move(entries), first, batch.events);
  }
  initial_.clear();

  if (!batch.events.empty() && !cancelled_.load()) {
    try {
      callback_(std::move(batch));
    } catch (...) {
      finish_drain();
      throw;
    }
  }
  finish_drain();
}

void Watcher::finish_drain() {
  scheduled_.store(false);
  // A write whose signal arrived while this drain ran saw scheduled_ set and posted nothing.
  if (collection_->write_pos() != position_) schedule();
}

std::optional<EventType> Watcher::classify(const HistoryEntry& entry) const {
  if (target_.id) {
    if (entry.resource->metadata.id != *target_.id) return std::nullopt;
    return entry.type;
  }
  if (target_.filter.empty()) return entry.type;
  const bool now = target_.filter.matches(entry.resource->metadata);
  if (entry.type != EventType::kUpdated) return now ? std::optional(entry.type) : std::nullopt;
  // An update can move a resource into or out of the filtered view: COSI sends it as a create or a destroy.
  const bool before = target_.filter.matches(entry.old->metadata);
  if (before && now) return EventType::kUpdated;
  if (now) return EventType::kCreated;
  if (before) return EventType::kDestroyed;
  return std::nullopt;
}

void Watcher::filter_into(HistorySlice entries, std::uint64_t first_position,
                          std::vector<Event>& out) const {
  std::uint64_t position = first_position;
  for (auto& entry : entries) {
    ++position;  // the event at position p resumes from p + 1
    auto type = classify(entry);
    if (!type) continue;
    ResourcePtr old = *type == EventType::kUpdated ? std::move(entry.old) : nullptr;
    out.push_back(
        Event{*type, std::move(entry.resource), std::move(old), encode_bookmark(position), {}});
  }
}

}  // namespace runtime::state::internal
