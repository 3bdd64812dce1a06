#include "runtime/state/internal/wake_group.h"

#include <algorithm>
#include <boost/asio/defer.hpp>
#include <boost/asio/strand.hpp>
#include <exception>

#include "runtime/state/internal/collection.h"
#include "runtime/state/internal/watcher.h"

namespace runtime::state::internal {

std::shared_ptr<WakeGroup> WakeGroup::of(Collection& collection, const IoExecutor& io) {
  std::lock_guard lock(collection.mutex());
  std::erase_if(collection.wake_groups, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = collection.wake_groups[&io.context()];
  if (auto group = slot.lock()) return group;
  auto group = std::make_shared<WakeGroup>(io);
  group->members_ = std::make_shared<const std::vector<std::weak_ptr<Watcher>>>();
  // The slot holds the group weakly: the last watcher's leaving destroys it, and with it the
  // connection.
  std::weak_ptr<WakeGroup> weak = group;
  group->connection_ = collection.changed.connect([weak] {
    if (auto g = weak.lock()) g->wake();
  });
  slot = group;
  return group;
}

void WakeGroup::join(const std::shared_ptr<Watcher>& watcher) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<std::vector<std::weak_ptr<Watcher>>>(*members_);
  next->push_back(watcher);
  members_ = std::move(next);
}

void WakeGroup::leave(const Watcher* watcher) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<std::vector<std::weak_ptr<Watcher>>>();
  next->reserve(members_->size());
  for (const auto& member : *members_) {
    auto w = member.lock();
    if (w && w.get() != watcher) next->push_back(member);
  }
  members_ = std::move(next);
}

void WakeGroup::wake() {
  if (scheduled_.exchange(true)) return;
  // Deferred for the reason Watcher::schedule gives: a writer on this io_context wakes no thread.
  boost::asio::defer(io_, [self = shared_from_this()] { self->run(); });
}

void WakeGroup::run() {
  scheduled_.store(false);
  std::shared_ptr<const std::vector<std::weak_ptr<Watcher>>> members;
  {
    std::lock_guard lock(mu_);
    members = members_;
  }
  // One watcher's failing callback must not keep the others from their events: every watcher
  // is entered, then the first exception leaves the handler as it would have from its own task.
  std::exception_ptr failure;
  for (const auto& member : *members) {
    auto watcher = member.lock();
    if (!watcher) continue;
    try {
      watcher->enter();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

std::optional<WakeGroup::IoExecutor> io_executor_of(const Executor& executor) {
  if (const auto* strand = executor.target<boost::asio::strand<WakeGroup::IoExecutor>>()) {
    return strand->get_inner_executor();
  }
  if (const auto* io = executor.target<WakeGroup::IoExecutor>()) return *io;
  return std::nullopt;
}

}  // namespace runtime::state::internal
