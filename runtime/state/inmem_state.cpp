// InMemoryState: COSI write semantics and check order (as cosi-project/runtime's inmem state
// checks them) over lazily created per-kind collections, and watch setup (bootstrap, tail and
// bookmark starts).
#include "runtime/state/inmem_state.h"

#include <algorithm>
#include <map>
#include <shared_mutex>
#include <string_view>
#include <tuple>

#include "runtime/state/internal/collection.h"
#include "runtime/state/internal/watcher.h"

namespace runtime::state {
namespace {

using internal::Collection;

struct KindRef {
  std::string_view ns;
  std::string_view type;
};

// Lets Get look up a collection by the pointer's strings without building a Kind.
struct KindLess {
  using is_transparent = void;
  static auto tie(const Kind& k) { return std::tie(k.ns, k.type); }
  static auto tie(const KindRef& k) { return std::tuple(k.ns, k.type); }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    auto ta = tie(a);
    auto tb = tie(b);
    return std::string_view(std::get<0>(ta)) < std::string_view(std::get<0>(tb)) ||
           (std::string_view(std::get<0>(ta)) == std::string_view(std::get<0>(tb)) &&
            std::string_view(std::get<1>(ta)) < std::string_view(std::get<1>(tb)));
  }
};

Error not_found(const Pointer& ptr) {
  return Error(ErrorCode::kNotFound, resource::not_found_message(ptr));
}

void check_owner(const Resource& stored, const std::string& owner, std::string_view verb) {
  if (stored.metadata.owner == owner) return;
  throw Error(ErrorCode::kOwnerConflict, std::string(verb) + " " +
                                             resource::to_string(stored.pointer()) +
                                             ": owned by \"" + stored.metadata.owner +
                                             "\", not by \"" + owner + "\"");
}

void check_kind(const Kind& kind, std::string_view what) {
  if (kind.ns.empty() || kind.type.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + ": namespace and type must not be empty (got \"" + kind.ns +
                    "\", \"" + kind.type + "\")");
  }
}

// Bad input is refused before anything is looked at or changed.
void check_resource(const Resource& r, std::string_view verb) {
  check_kind(r.metadata.kind(), verb);
  if (r.metadata.id.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(verb) + " " + r.metadata.ns + "/" + r.metadata.type + ": empty id");
  }
  if (r.spec == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, std::string(verb) + " " +
                                                 resource::to_string(r.pointer()) +
                                                 ": resource has no spec");
  }
}

// Where a new watch begins, besides what it selects.
struct WatchStart {
  int tail_events = 0;
  std::optional<std::string> bookmark;
  bool bootstrap_contents = false;
  bool bootstrap_bookmark = false;
};

void check_tail(int tail_events) {
  if (tail_events < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "watch: tail_events must not be negative, got " + std::to_string(tail_events));
  }
}

// A modify step that applies `op` to each finalizer name; no new version when none changes.
auto finalizers_change(const std::vector<std::string>& names,
                       bool (resource::Finalizers::*op)(std::string_view)) {
  return [&names, op](const Resource& current) -> std::optional<Resource> {
    Resource next = current;
    bool changed = false;
    for (const auto& n : names) changed |= (next.metadata.finalizers.*op)(n);
    return changed ? std::optional(std::move(next)) : std::nullopt;
  };
}

}  // namespace

class InMemoryState::Impl {
 public:
  explicit Impl(const InMemoryStateOptions& opts) : opts_(opts) {}

  // Collections are never removed while the state lives, so the pointer stays valid.
  Collection* find(std::string_view ns, std::string_view type) const {
    std::shared_lock lock(mu_);
    auto it = collections_.find(KindRef{ns, type});
    return it == collections_.end() ? nullptr : it->second.get();
  }

  std::shared_ptr<Collection> get_or_create(std::string_view ns, std::string_view type) {
    {
      std::shared_lock lock(mu_);
      auto it = collections_.find(KindRef{ns, type});
      if (it != collections_.end()) return it->second;
    }
    Kind kind{std::string(ns), std::string(type)};
    std::unique_lock lock(mu_);
    auto& slot = collections_[kind];
    if (!slot) slot = std::make_shared<Collection>(kind, opts_);
    return slot;
  }

  // Applies `change` to the stored resource under the collection lock. `change` validates and
  // returns the next resource, or nullopt to leave it alone; the version and updated time are
  // set here.
  template <class Change>
  ResourcePtr modify(const Pointer& ptr, Change&& change) {
    return modify(ptr.ns, ptr.type, ptr.id, std::forward<Change>(change));
  }

  // `id` may be a field of what `change` moves from; it is not used after the call.
  template <class Change>
  ResourcePtr modify(std::string_view ns, std::string_view type, const std::string& id,
                     Change&& change) {
    Collection* c = find(ns, type);
    if (c == nullptr) throw not_found(Pointer{std::string(ns), std::string(type), id});
    ResourcePtr result;
    {
      std::lock_guard lock(c->mutex());
      ResourcePtr current = c->find_locked(id);
      if (!current) throw not_found(Pointer{std::string(ns), std::string(type), id});
      std::optional<Resource> next = change(*current);
      if (!next) return current;
      next->metadata.version = current->metadata.version + 1;
      next->metadata.owner = current->metadata.owner;
      next->metadata.created = current->metadata.created;
      next->metadata.updated = std::chrono::system_clock::now();
      result = std::make_shared<const Resource>(std::move(*next));
      c->apply_locked(EventType::kUpdated, result->metadata.id, result);
    }
    c->notify();
    return result;
  }

  std::unique_ptr<Watch> watch(const Kind& kind, internal::WatchTarget target, Executor executor,
                               WatchCallback cb, const WatchStart& start) {
    auto c = get_or_create(kind.ns, kind.type);
    std::uint64_t position = 0;
    std::vector<Event> initial;
    {
      std::lock_guard lock(c->mutex());
      const std::uint64_t now = c->write_pos_locked();
      if (start.bookmark) {
        auto pos = internal::decode_bookmark(*start.bookmark);
        if (!pos || *pos > now || *pos < c->replay_floor_locked()) {
          throw Error(ErrorCode::kInvalidBookmark,
                      "watch " + kind.ns + "/" + kind.type +
                          ": bookmark is not from this process or is outside the history");
        }
        position = *pos;
      } else {
        const std::uint64_t floor = c->replay_floor_locked();
        const std::uint64_t back = std::min<std::uint64_t>(now, start.tail_events);
        position = std::max(floor, now - back);
      }
      if (start.bootstrap_bookmark) {
        initial.push_back(Event{EventType::kNoop,
                                std::make_shared<const Resource>(resource::tombstone(
                                    resource::Metadata(Pointer{kind.ns, kind.type, ""}))),
                                nullptr, internal::encode_bookmark(now), {}});
      }
      if (start.bootstrap_contents) {
        auto events = internal::bootstrap_events(kind, target, internal::select_locked(*c, target),
                                                 now);
        std::move(events.begin(), events.end(), std::back_inserter(initial));
      }
    }
    auto watcher = std::make_shared<internal::Watcher>(std::move(c), counters_, std::move(executor),
                                                       std::move(cb), std::move(target), position,
                                                       std::move(initial));
    return internal::Watcher::start(std::move(watcher));
  }

  InMemoryStateStats stats() const {
    return InMemoryStateStats{counters_->resyncs.load(), counters_->watchers.load()};
  }

 private:
  const InMemoryStateOptions opts_;
  const std::shared_ptr<internal::Counters> counters_ = std::make_shared<internal::Counters>();
  mutable std::shared_mutex mu_;
  std::map<Kind, std::shared_ptr<Collection>, KindLess> collections_;  // guarded by mu_
};

InMemoryState::InMemoryState(const InMemoryStateOptions& opts) {
  if (opts.history_initial_capacity == 0 ||
      opts.history_max_capacity < opts.history_initial_capacity ||
      opts.history_gap >= opts.history_initial_capacity) {
    throw Error(ErrorCode::kInvalidArgument,
                "in-memory state: history sizes need 0 <= gap < initial capacity <= max capacity "
                "(gap " +
                    std::to_string(opts.history_gap) + ", initial " +
                    std::to_string(opts.history_initial_capacity) + ", max " +
                    std::to_string(opts.history_max_capacity) + ")");
  }
  impl_ = std::make_unique<Impl>(opts);
}

InMemoryState::~InMemoryState() = default;

ResourcePtr InMemoryState::get(const Pointer& ptr) const {
  Collection* c = impl_->find(ptr.ns, ptr.type);
  if (c == nullptr) return nullptr;
  std::lock_guard lock(c->mutex());
  return c->find_locked(ptr.id);
}

std::vector<ResourcePtr> InMemoryState::list(const Kind& kind, const ListOptions& opts) const {
  Collection* c = impl_->find(kind.ns, kind.type);
  if (c == nullptr) return {};
  std::lock_guard lock(c->mutex());
  return c->snapshot_locked(opts.filter);
}

ResourcePtr InMemoryState::create(Resource r, const CreateOptions& opts) {
  check_resource(r, "create");
  auto c = impl_->get_or_create(r.metadata.ns, r.metadata.type);
  r.metadata.version = 1;
  r.metadata.owner = opts.owner;
  r.metadata.created = r.metadata.updated = std::chrono::system_clock::now();
  auto stored = std::make_shared<const Resource>(std::move(r));
  {
    std::lock_guard lock(c->mutex());
    if (c->find_locked(stored->metadata.id)) {
      throw Error(ErrorCode::kAlreadyExists,
                  "resource " + resource::to_string(stored->pointer()) + " already exists");
    }
    c->apply_locked(EventType::kCreated, stored->metadata.id, stored);
  }
  c->notify();
  return stored;
}

ResourcePtr InMemoryState::update(Resource r, const UpdateOptions& opts) {
  check_resource(r, "update");
  const auto& md = r.metadata;
  auto change = [&](const Resource& current) -> std::optional<Resource> {
    check_owner(current, opts.owner, "update");
    const std::string where = "update " + resource::to_string(current.pointer());
    if (r.metadata.version != current.metadata.version) {
      throw Error(ErrorCode::kVersionConflict,
                  where + ": version conflict: expected " +
                      resource::version_to_string(r.metadata.version) + ", stored " +
                      resource::version_to_string(current.metadata.version));
    }
    if (opts.expected_phase && current.metadata.phase != *opts.expected_phase) {
      throw Error(ErrorCode::kPhaseConflict,
                  where + ": phase conflict: expected " +
                      std::string(resource::to_string(*opts.expected_phase)) + ", is " +
                      std::string(resource::to_string(current.metadata.phase)));
    }
    return std::move(r);
  };
  return impl_->modify(md.ns, md.type, md.id, change);
}

void InMemoryState::destroy(const Pointer& ptr, const DestroyOptions& opts) {
  Collection* c = impl_->find(ptr.ns, ptr.type);
  if (c == nullptr) throw not_found(ptr);
  {
    std::lock_guard lock(c->mutex());
    ResourcePtr current = c->find_locked(ptr.id);
    if (!current) throw not_found(ptr);
    check_owner(*current, opts.owner, "destroy");
    const auto& finalizers = current->metadata.finalizers;
    if (!finalizers.empty()) {
      std::string names;
      for (const auto& n : finalizers.names()) names += (names.empty() ? "" : ", ") + n;
      throw Error(ErrorCode::kPendingFinalizers,
                  "destroy " + resource::to_string(ptr) + ": pending finalizers: " + names);
    }
    c->apply_locked(EventType::kDestroyed, ptr.id, nullptr);
  }
  c->notify();
}

bool InMemoryState::teardown(const Pointer& ptr, const TeardownOptions& opts) {
  auto result = impl_->modify(ptr, [&](const Resource& current) -> std::optional<Resource> {
    check_owner(current, opts.owner, "teardown");
    if (current.metadata.phase == Phase::kTearingDown) return std::nullopt;
    Resource next = current;
    next.metadata.phase = Phase::kTearingDown;
    return next;
  });
  return result->metadata.finalizers.empty();
}

ResourcePtr InMemoryState::add_finalizers(const Pointer& ptr,
                                          const std::vector<std::string>& names) {
  return impl_->modify(ptr, finalizers_change(names, &resource::Finalizers::add));
}

ResourcePtr InMemoryState::remove_finalizers(const Pointer& ptr,
                                             const std::vector<std::string>& names) {
  return impl_->modify(ptr, finalizers_change(names, &resource::Finalizers::remove));
}

std::unique_ptr<Watch> InMemoryState::watch(const Pointer& ptr, Executor executor,
                                            WatchCallback cb, const WatchOptions& opts) {
  check_kind(ptr.kind(), "watch");
  check_tail(opts.tail_events);
  // Without a replay the first batch says where the resource stands now.
  const bool replay = opts.tail_events > 0 || opts.start_from_bookmark.has_value();
  return impl_->watch(ptr.kind(), internal::WatchTarget{ptr.id, {}}, std::move(executor),
                      std::move(cb),
                      WatchStart{opts.tail_events, opts.start_from_bookmark,
                                 /*bootstrap_contents=*/!replay, /*bootstrap_bookmark=*/false});
}

std::unique_ptr<Watch> InMemoryState::watch_kind(const Kind& kind, Executor executor,
                                                 WatchCallback cb, const WatchKindOptions& opts) {
  check_kind(kind, "watch");
  check_tail(opts.tail_events);
  if (opts.bootstrap_contents && (opts.tail_events > 0 || opts.start_from_bookmark)) {
    throw Error(ErrorCode::kInvalidArgument,
                "watch " + kind.ns + "/" + kind.type +
                    ": bootstrap_contents cannot be combined with tail_events or "
                    "start_from_bookmark");
  }
  return impl_->watch(kind, internal::WatchTarget{std::nullopt, opts.filter}, std::move(executor),
                      std::move(cb),
                      WatchStart{opts.tail_events, opts.start_from_bookmark,
                                 opts.bootstrap_contents, opts.bootstrap_bookmark});
}

InMemoryStateStats InMemoryState::stats() const { return impl_->stats(); }

}  // namespace runtime::state
