// The in-memory State: per-(namespace, type) collections with an event history ring that
// watches replay from; watchers that fall behind the history resync instead of failing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/state/state.h"

namespace runtime::state {

// History sizes per (namespace, type), in events, as COSI's in-memory state keeps them. The ring starts
// at initial capacity and doubles up to max capacity while it is first filled; tail and
// bookmark replays reach back at most capacity - gap events.
// Defaults: a collection that is written in bursts (a controller fanning out thousands of
// outputs) keeps enough history that its watchers rarely need a resync; a quiet one stays small.
struct InMemoryStateOptions {
  std::size_t history_initial_capacity = 64;
  std::size_t history_max_capacity = 4096;
  std::size_t history_gap = 16;
};

struct InMemoryStateStats {
  std::uint64_t resyncs = 0;   // watchers that fell out of the history and were rebootstrapped
  std::uint64_t watchers = 0;  // live watches
};

class InMemoryState final : public State {
 public:
  // Throws Error(kInvalidArgument) unless 0 <= gap < initial <= max.
  explicit InMemoryState(const InMemoryStateOptions& opts = {});
  ~InMemoryState() override;

  ResourcePtr get(const Pointer& ptr) const override;
  std::vector<ResourcePtr> list(const Kind& kind, const ListOptions& opts = {}) const override;
  ResourcePtr create(Resource r, const CreateOptions& opts = {}) override;
  ResourcePtr update(Resource r, const UpdateOptions& opts = {}) override;
  void destroy(const Pointer& ptr, const DestroyOptions& opts = {}) override;
  bool teardown(const Pointer& ptr, const TeardownOptions& opts = {}) override;
  ResourcePtr add_finalizers(const Pointer& ptr, const std::vector<std::string>& names) override;
  ResourcePtr remove_finalizers(const Pointer& ptr,
                                const std::vector<std::string>& names) override;
  std::unique_ptr<Watch> watch(const Pointer& ptr, Executor executor, WatchCallback cb,
                               const WatchOptions& opts = {}) override;
  std::unique_ptr<Watch> watch_kind(const Kind& kind, Executor executor, WatchCallback cb,
                                    const WatchKindOptions& opts = {}) override;

  InMemoryStateStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runtime::state
