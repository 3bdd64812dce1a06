// Watch stream caps: per address and in all, freed when a slot is dropped, none with 0.
#include "discovery/server/watch_slots.h"

#include <gtest/gtest.h>

#include <list>
#include <optional>
#include <utility>

namespace discovery::server {
namespace {

TEST(WatchSlots, CapsPerAddressAndInAll) {
  WatchSlots slots(3, 2);
  std::string refusal;
  std::list<WatchSlots::Slot> held;
  held.push_back(*slots.acquire("a", refusal));
  held.push_back(*slots.acquire("a", refusal));
  EXPECT_FALSE(slots.acquire("a", refusal));
  EXPECT_EQ(refusal, "too many watch streams from this address (2)");
  held.push_back(*slots.acquire("b", refusal));
  EXPECT_FALSE(slots.acquire("c", refusal));
  EXPECT_EQ(refusal, "too many watch streams on this server (3)");
  EXPECT_EQ(slots.open(), 3u);

  held.erase(held.begin());  // one of a's
  EXPECT_EQ(slots.open(), 2u);
  EXPECT_TRUE(slots.acquire("a", refusal)) << "a's slot came back (and goes again at once)";
  EXPECT_EQ(slots.open(), 2u);
}

TEST(WatchSlots, MovedSlotFreesOnceAndMayOutliveTheCaps) {
  std::optional<WatchSlots::Slot> outliving;
  {
    WatchSlots slots(1, 1);
    std::string refusal;
    auto slot = slots.acquire("a", refusal);
    ASSERT_TRUE(slot);
    outliving.emplace(std::move(*slot));
    slot.reset();  // the moved-from slot frees nothing
    EXPECT_EQ(slots.open(), 1u);
  }
  outliving.reset();  // after its WatchSlots is gone: no crash (ASan checks)
}

TEST(WatchSlots, ZeroMeansNoCap) {
  WatchSlots slots(0, 0);
  std::string refusal;
  std::list<WatchSlots::Slot> held;
  for (int i = 0; i < 2000; ++i) held.push_back(*slots.acquire("a", refusal));
  EXPECT_EQ(slots.open(), 2000u);
}

}  // namespace
}  // namespace discovery::server
