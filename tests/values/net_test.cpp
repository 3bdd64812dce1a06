// IP values: Go's netip text forms, ordering, containment, refusal of bad text.
#include "values/net.h"

#include <gtest/gtest.h>

namespace values::net {
namespace {

TEST(Net, ParsesAndPrintsTheGoForms) {
  EXPECT_EQ(ip_text(ip("10.0.0.1").ip()), "10.0.0.1");
  EXPECT_EQ(text(prefix("fd00::/8")), "fd00::/8");
  EXPECT_EQ(text(prefix("1.1.1.1")), "1.1.1.1/32");
  EXPECT_EQ(text(ip_port("[2001:123:4567::1]:51820")), "[2001:123:4567::1]:51820");
  EXPECT_EQ(text(ip_port("1.2.3.4:5678")), "1.2.3.4:5678");
}

std::string bytes(std::initializer_list<int> b) {
  std::string out;
  for (int v : b) out.push_back(static_cast<char>(v));
  return out;
}

TEST(Net, PrintsIpv6LikeGo) {
  const std::pair<const char*, const char*> cases[] = {
      {"fd00:0:0:0:0:0:0:1", "fd00::1"},
      {"0:0:0:0:0:0:0:0", "::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"1:0:0:0:0:0:0:0", "1::"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group stays
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // the longest run wins
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // the first of equal runs wins
      {"FD00:00AB::0001", "fd00:ab::1"},                 // lowercase, no leading zeros
      {"::102:304", "::102:304"},  // IPv4-compatible form: hex, not "::1.2.3.4" as glibc prints
      {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},  // IPv4-mapped keeps the dotted quad
      {"::ffff:0102:0304", "::ffff:1.2.3.4"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(ip_text(ip(in).ip()), out) << in;
}

TEST(Net, ParsesToFourOrSixteenBytes) {
  EXPECT_EQ(parse_ip("1.2.3.4"), bytes({1, 2, 3, 4}));
  EXPECT_EQ(parse_ip("::ffff:1.2.3.4"),
            bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}));
  EXPECT_EQ(unmap(*parse_ip("::ffff:1.2.3.4")), bytes({1, 2, 3, 4}));
  EXPECT_EQ(unmap(*parse_ip("::1")), *parse_ip("::1"));
  EXPECT_EQ(unmap(bytes({1, 2, 3, 4})), bytes({1, 2, 3, 4}));
  EXPECT_EQ(ip_text(""), "");
  EXPECT_EQ(ip_text("abc"), "<invalid address of 3 bytes>");
  for (const char* bad : {"", "1.2.3", "01.2.3.4", "1.2.3.256", "fe80::1%eth0", "[::1]", "x::1",
                          "1:2:3:4:5:6:7:8:9", " 1.2.3.4"}) {
    EXPECT_FALSE(parse_ip(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_ip(std::string_view("1.2.3.4\0x", 9)).has_value());
}

TEST(Net, PrefixAndPortForms) {
  EXPECT_EQ(parse_prefix_length("0", 4), 0);
  EXPECT_EQ(parse_prefix_length("128", 16), 128);
  for (const char* bad : {"", "33", "-1", "8x", "+8"}) {
    EXPECT_FALSE(parse_prefix_length(bad, 4).has_value()) << bad;
  }
  EXPECT_FALSE(parse_prefix("10.0.0.0/").has_value());
  EXPECT_FALSE(parse_prefix("::/129").has_value());
  EXPECT_EQ(text(*parse_prefix("::/0")), "::/0");
  EXPECT_FALSE(parse_ip_port("[1.2.3.4]:80").has_value());  // brackets only for IPv6
  EXPECT_FALSE(parse_ip_port("1.2.3.4:").has_value());
  EXPECT_EQ(text(*parse_ip_port("[::ffff:1.2.3.4]:80")), "[::ffff:1.2.3.4]:80");
  EXPECT_TRUE(ip_port("1.2.3.4:80") == ip_port(bytes({1, 2, 3, 4}), 80));
  EXPECT_FALSE(prefix("10.0.0.0/8") == prefix("10.0.0.0/9"));
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
  EXPECT_LT(compare("", ip("0.0.0.0").ip()), 0);  // the zero address first
  EXPECT_LT(compare(ip("255.255.255.255").ip(), ip("::").ip()), 0);
  EXPECT_GT(compare(ip("fd00::2").ip(), ip("fd00::1").ip()), 0);
}

TEST(Net, Contains) {
  EXPECT_TRUE(contains(prefix("192.168.0.0/16"), ip("192.168.192.168").ip()));
  EXPECT_FALSE(contains(prefix("192.168.0.0/16"), ip("172.20.0.2").ip()));
  EXPECT_TRUE(contains(prefix("0.0.0.0/0"), ip("1.1.1.1").ip()));
  EXPECT_FALSE(contains(prefix("0.0.0.0/0"), ip("::1").ip()));
  EXPECT_TRUE(contains(prefix("2001::/16"), ip("2001:123:4567::1").ip()));
  EXPECT_TRUE(contains(prefix("10.0.0.0/9"), ip("10.127.0.1").ip()));
  EXPECT_FALSE(contains(prefix("10.0.0.0/9"), ip("10.128.0.1").ip()));
  EXPECT_TRUE(contains(prefix("fd00::/7"), ip("fdff::1").ip()));
  EXPECT_FALSE(contains(prefix("fd00::/8"), ip("fe00::1").ip()));
  EXPECT_FALSE(contains(prefix("::ffff:0.0.0.0/96"), ip("1.2.3.4").ip()));  // families differ
  EXPECT_FALSE(contains(common::NetIPPrefix(), ""));
}

}  // namespace
}  // namespace values::net
