// IP value helpers: text forms, ordering, containment, refusal of bad text.
#include "resources/net.h"

#include <gtest/gtest.h>

namespace resources::net {
namespace {

TEST(Net, ParsesAndPrintsTheGoForms) {
  EXPECT_EQ(ip_text(ip("10.0.0.1").ip()), "10.0.0.1");
  EXPECT_EQ(text(prefix("fd00::/8")), "fd00::/8");
  EXPECT_EQ(text(prefix("1.1.1.1")), "1.1.1.1/32");
  EXPECT_EQ(text(ip_port("[2001:123:4567::1]:51820")), "[2001:123:4567::1]:51820");
  EXPECT_EQ(text(ip_port("1.2.3.4:5678")), "1.2.3.4:5678");
}

TEST(Net, RefusesBadText) {
  EXPECT_THROW(ip("10.0.0"), std::invalid_argument);
  EXPECT_THROW(prefix("10.0.0.0/33"), std::invalid_argument);
  EXPECT_THROW(ip_port("1.2.3.4"), std::invalid_argument);
  EXPECT_THROW(ip_port("::1:80"), std::invalid_argument);
  EXPECT_THROW(ip_port("1.2.3.4:70000"), std::invalid_argument);
  EXPECT_FALSE(parse_ip("").has_value());
}

TEST(Net, ComparesV4BeforeV6ThenBytewise) {
  EXPECT_LT(compare(ip("172.20.0.3").ip(), ip("fd50::1").ip()), 0);
  EXPECT_LT(compare(ip("172.20.0.2").ip(), ip("172.20.0.3").ip()), 0);
  EXPECT_GT(compare(ip("200.0.0.1").ip(), ip("100.0.0.1").ip()), 0);
  EXPECT_EQ(compare(ip("::1").ip(), ip("::1").ip()), 0);
}

TEST(Net, Contains) {
  EXPECT_TRUE(contains(prefix("192.168.0.0/16"), ip("192.168.192.168").ip()));
  EXPECT_FALSE(contains(prefix("192.168.0.0/16"), ip("172.20.0.2").ip()));
  EXPECT_TRUE(contains(prefix("0.0.0.0/0"), ip("1.1.1.1").ip()));
  EXPECT_FALSE(contains(prefix("0.0.0.0/0"), ip("::1").ip()));
  EXPECT_TRUE(contains(prefix("2001::/16"), ip("2001:123:4567::1").ip()));
  EXPECT_TRUE(contains(prefix("10.0.0.0/9"), ip("10.127.0.1").ip()));
  EXPECT_FALSE(contains(prefix("10.0.0.0/9"), ip("10.128.0.1").ip()));
}

}  // namespace
}  // namespace resources::net
