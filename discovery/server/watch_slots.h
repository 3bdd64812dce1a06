// Caps on open Watch streams, in total and per client address. A Watch holds memory for as long
// as the client keeps it open (gRPC's stream state plus its place in a cluster's change log), and
// streams never expire, so without a cap one client opening streams forever grows the process
// without bound.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace discovery::server {

class WatchSlots {
 public:
  // 0: no cap.
  WatchSlots(std::size_t max_total, std::size_t max_per_address);

  // A held slot; destroying it frees it. Movable, and may outlive the WatchSlots.
  class Slot {
   public:
    Slot(Slot&&) noexcept = default;
    Slot& operator=(Slot&&) = delete;  // would drop the held slot without freeing it
    ~Slot();

   private:
    friend class WatchSlots;
    struct Counts;
    Slot(std::shared_ptr<Counts> counts, std::string address);
    std::shared_ptr<Counts> counts_;
    std::string address_;
  };

  // A slot for a Watch from `address`, or nullopt with `refusal` set to the message the client
  // gets (which cap, and its size).
  std::optional<Slot> acquire(const std::string& address, std::string& refusal);

  std::size_t open() const;

 private:
  const std::size_t max_total_;
  const std::size_t max_per_address_;
  std::shared_ptr<Slot::Counts> counts_;
};

}  // namespace discovery::server
