// Test helpers for State: resource builders, a thread-safe watch recorder and waits with a
// deadline (never sleep-then-check).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/state/state.h"
#include "tests/support/eventually.h"

namespace runtime::state::conformance {

inline constexpr std::chrono::seconds kDeadline{20};

inline resource::Resource make_resource(const std::string& ns, const std::string& type,
                                        const std::string& id, resource::Labels labels = {},
                                        const std::string& value = "v") {
  resource::Metadata md(resource::Pointer{ns, type, id});
  md.labels = std::move(labels);
  auto spec = std::make_shared<resource::OpaqueSpec>(value, "value: " + value + "\n");
  return resource::Resource{std::move(md), std::move(spec)};
}

// A copy of `r` that a writer may change and hand back to update().
inline resource::Resource editable(const ResourcePtr& r) { return *r; }

using tds::test::eventually;

// id -> version as seen through a watch: what a consumer that applies the events believes.
using View = std::map<std::string, resource::Version>;

// Records the batches a watch delivers. The callback holds the recorder's data by shared
// pointer, so a late callback after the test dropped the recorder is harmless.
class WatchRecorder {
 public:
  WatchCallback callback() {
    return [data = data_](WatchBatch batch) {
      {
        std::lock_guard lock(data->mu);
        if (batch.resync) data->view.clear();
        for (const auto& e : batch.events) {
          if (e.type == EventType::kCreated || e.type == EventType::kUpdated) {
            data->view[e.resource->metadata.id] = e.resource->metadata.version;
          } else if (e.type == EventType::kDestroyed) {
            data->view.erase(e.resource->metadata.id);
          }
        }
        data->batches.push_back(std::move(batch));
      }
      data->cv.notify_all();
    };
  }

  std::vector<WatchBatch> batches() const {
    std::lock_guard lock(data_->mu);
    return data_->batches;
  }

  std::vector<Event> events() const {
    std::lock_guard lock(data_->mu);
    std::vector<Event> out;
    for (const auto& b : data_->batches) out.insert(out.end(), b.events.begin(), b.events.end());
    return out;
  }

  std::size_t event_count() const { return events().size(); }

  View view() const {
    std::lock_guard lock(data_->mu);
    return data_->view;
  }

  // Waits until at least `n` events arrived.
  bool wait_events(std::size_t n, std::chrono::milliseconds timeout = kDeadline) const {
    return wait([n](const Data& d) {
      std::size_t total = 0;
      for (const auto& b : d.batches) total += b.events.size();
      return total >= n;
    }, timeout);
  }

  bool wait_view(const View& expected, std::chrono::milliseconds timeout = kDeadline) const {
    return wait([&](const Data& d) { return d.view == expected; }, timeout);
  }

  bool wait_batches(std::size_t n, std::chrono::milliseconds timeout = kDeadline) const {
    return wait([n](const Data& d) { return d.batches.size() >= n; }, timeout);
  }

 private:
  struct Data {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::vector<WatchBatch> batches;  // guarded by mu
    View view;                        // guarded by mu
  };

  bool wait(const std::function<bool(const Data&)>& pred,
            std::chrono::milliseconds timeout) const {
    std::unique_lock lock(data_->mu);
    return data_->cv.wait_for(lock, timeout, [&] { return pred(*data_); });
  }

  std::shared_ptr<Data> data_ = std::make_shared<Data>();
};

// The ids in `events`, in order, with a one-letter event type prefix (C/U/D/B/N/E), e.g. "Ca".
inline std::vector<std::string> describe(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    static constexpr char kLetters[] = {'C', 'U', 'D', 'B', 'E', 'N'};
    std::string s(1, kLetters[static_cast<int>(e.type)]);
    if (e.resource) s += e.resource->metadata.id;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace runtime::state::conformance
