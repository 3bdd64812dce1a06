// Go-style duration flag parsing.
#include "discovery/server/duration.h"

#include <gtest/gtest.h>

namespace discovery::server {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesGoUnits) {
  EXPECT_EQ(parse_duration("1m"), 1min);
  EXPECT_EQ(parse_duration("90s"), 90s);
  EXPECT_EQ(parse_duration("1h30m"), 90min);
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("10us"), 10us);
  EXPECT_EQ(parse_duration("7ns"), 7ns);
  EXPECT_EQ(parse_duration("0"), 0ns);
}

TEST(Duration, RejectsMalformed) {
  for (const char* bad : {"", "m", "1", "1x", "-1s", "1.5s", "1m ", "99999999999999999999h",
                          "9223372036854775807s"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace discovery::server
