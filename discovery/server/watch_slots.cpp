// Watch stream caps.
#include "discovery/server/watch_slots.h"

#include <utility>

namespace discovery::server {

struct WatchSlots::Slot::Counts {
  std::mutex mu;
  std::size_t total = 0;
  std::map<std::string, std::size_t, std::less<>> by_address;
};

WatchSlots::Slot::Slot(std::shared_ptr<Counts> counts, std::string address)
    : counts_(std::move(counts)), address_(std::move(address)) {}

WatchSlots::Slot::~Slot() {
  if (!counts_) return;  // moved from
  std::lock_guard lock(counts_->mu);
  --counts_->total;
  auto it = counts_->by_address.find(address_);
  if (--it->second == 0) counts_->by_address.erase(it);
}

WatchSlots::WatchSlots(std::size_t max_total, std::size_t max_per_address)
    : max_total_(max_total),
      max_per_address_(max_per_address),
      counts_(std::make_shared<Slot::Counts>()) {}

std::optional<WatchSlots::Slot> WatchSlots::acquire(const std::string& address,
                                                    std::string& refusal) {
  std::lock_guard lock(counts_->mu);
  if (max_total_ != 0 && counts_->total >= max_total_) {
    refusal = "too many watch streams on this server (" + std::to_string(max_total_) + ")";
    return std::nullopt;
  }
  auto it = counts_->by_address.find(address);
  if (max_per_address_ != 0 && it != counts_->by_address.end() && it->second >= max_per_address_) {
    refusal = "too many watch streams from this address (" + std::to_string(max_per_address_) + ")";
    return std::nullopt;
  }
  ++counts_->total;
  ++counts_->by_address[address];
  return Slot(counts_, address);
}

std::size_t WatchSlots::open() const {
  std::lock_guard lock(counts_->mu);
  return counts_->total;
}

}  // namespace discovery::server
