// The State interface: where resources live. Implementations: InMemoryState (inmem_state.h)
// and the State API client (runtime/api/state_client.h). Writes throw state::Error; reads of a
// missing resource return null.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/resource/resource.h"
#include "runtime/state/errors.h"
#include "runtime/state/query.h"

namespace runtime::state {

using resource::Kind;
using resource::Phase;
using resource::Pointer;
using resource::Resource;
using resource::ResourcePtr;

struct ListOptions {
  ResourceFilter filter;
};

struct CreateOptions {
  std::string owner;
};

struct UpdateOptions {
  std::string owner;
  // nullopt accepts any phase (the wire's absent expected_phase).
  std::optional<Phase> expected_phase;
};

struct DestroyOptions {
  std::string owner;
};

struct TeardownOptions {
  std::string owner;
};

enum class EventType { kCreated, kUpdated, kDestroyed, kBootstrapped, kErrored, kNoop };

struct Event {
  EventType type = EventType::kCreated;
  ResourcePtr resource;  // a tombstone for Bootstrapped/Noop; null for Errored
  ResourcePtr old;       // previous version, Updated only
  std::string bookmark;  // opaque resume point; empty when the event has none
  std::string error;     // Errored only
};

// Events are delivered in batches: everything pending since the last delivery.
struct WatchBatch {
  std::vector<Event> events;
  // True when the watcher fell out of the history: `events` is then a fresh bootstrap
  // (Created for every current match, then Bootstrapped) that replaces the watcher's view.
  bool resync = false;
};

using WatchCallback = std::function<void(WatchBatch)>;
using Executor = boost::asio::any_io_executor;

struct WatchOptions {
  int tail_events = 0;
  std::optional<std::string> start_from_bookmark;
};

struct WatchKindOptions {
  bool bootstrap_contents = false;  // Created for every match, then Bootstrapped
  bool bootstrap_bookmark = false;  // a Noop carrying the current bookmark first
  int tail_events = 0;
  std::optional<std::string> start_from_bookmark;
  ResourceFilter filter;
};

// A live watch. Destroying it stops delivery; when destroyed on the subscriber's executor no
// callback runs afterwards.
class Watch {
 public:
  virtual ~Watch() = default;
};

class State {
 public:
  virtual ~State() = default;

  virtual ResourcePtr get(const Pointer& ptr) const = 0;
  // Sorted by id; an unknown kind is an empty list.
  virtual std::vector<ResourcePtr> list(const Kind& kind, const ListOptions& opts = {}) const = 0;

  // Stores version 1, created = updated = now, owner = opts.owner.
  virtual ResourcePtr create(Resource r, const CreateOptions& opts = {}) = 0;
  // r.metadata.version must equal the stored version. Checks, in order: NotFound, owner,
  // version, phase. Keeps the stored owner and created time; bumps the version.
  virtual ResourcePtr update(Resource r, const UpdateOptions& opts = {}) = 0;
  // Owner must match and no finalizers may remain.
  virtual void destroy(const Pointer& ptr, const DestroyOptions& opts = {}) = 0;
  // Sets phase tearingDown (no-op when already there); returns true when no finalizers remain.
  virtual bool teardown(const Pointer& ptr, const TeardownOptions& opts = {}) = 0;
  // Finalizers may be changed by anyone, in any phase; the owner is kept.
  virtual ResourcePtr add_finalizers(const Pointer& ptr, const std::vector<std::string>& names) = 0;
  virtual ResourcePtr remove_finalizers(const Pointer& ptr,
                                        const std::vector<std::string>& names) = 0;

  // Watches one resource: the first batch is Created (current) or Destroyed (tombstone).
  virtual std::unique_ptr<Watch> watch(const Pointer& ptr, Executor executor, WatchCallback cb,
                                       const WatchOptions& opts = {}) = 0;
  // Watches a whole kind. Throws Error(kInvalidBookmark) or Error(kInvalidArgument) at once.
  virtual std::unique_ptr<Watch> watch_kind(const Kind& kind, Executor executor, WatchCallback cb,
                                            const WatchKindOptions& opts = {}) = 0;
};

}  // namespace runtime::state
