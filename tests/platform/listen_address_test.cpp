// Listen-address flag parsing: the accepted spellings and clear errors for the rest.
#include "platform/listen_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace platform {
namespace {

using ::testing::HasSubstr;

TEST(ListenAddress, AcceptedForms) {
  EXPECT_EQ(parse_listen_address(":50000").host, "");
  EXPECT_EQ(parse_listen_address(":50000").port, 50000);
  EXPECT_EQ(parse_listen_address("127.0.0.1:0").host, "127.0.0.1");
  EXPECT_EQ(parse_listen_address("[::1]:9").host, "::1");
}

TEST(ListenAddress, RejectsMalformed) {
  for (const char* bad : {"50000", "host:", "host:x", ":65536", ":-1", "::1:5", "[::1:5"}) {
    try {
      parse_listen_address(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(bad));
    }
  }
}

}  // namespace
}  // namespace platform
