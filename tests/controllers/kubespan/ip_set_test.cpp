// IpSet: the netipx.IPSet behaviour peer specs rely on, including the edges of the address space.
#include "controllers/kubespan/ip_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "values/net.h"

namespace controllers::kubespan {
namespace {

namespace net = values::net;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> texts(const IpSet& s) {
  std::vector<std::string> out;
  for (const auto& p : s.prefixes()) out.push_back(net::text(p));
  return out;
}

TEST(IpSet, MasksMergesAndSortsFamilies) {
  IpSet s;
  s.add(net::prefix("fd00::1/64"));
  s.add(net::prefix("10.0.1.7/24"));
  s.add(net::prefix("10.0.0.0/24"));   // adjacent: one /23
  s.add_ip(net::ip("10.0.0.5").ip());  // inside
  s.add_ip("");                        // the zero address: ignored
  EXPECT_THAT(texts(s), ElementsAre("10.0.0.0/23", "fd00::/64"));
}

TEST(IpSet, RemoveSplitsIntoMinimalPrefixes) {
  IpSet s;
  s.add(net::prefix("10.0.0.0/24"));
  s.remove(net::prefix("10.0.0.5/32"));
  EXPECT_THAT(texts(s),
              ElementsAre("10.0.0.0/30", "10.0.0.4/32", "10.0.0.6/31", "10.0.0.8/29",
                          "10.0.0.16/28", "10.0.0.32/27", "10.0.0.64/26", "10.0.0.128/25"));
}

TEST(IpSet, WholeSpacesAndTheirLastAddress) {
  IpSet s;
  s.add(net::prefix("::/0"));
  s.add(net::prefix("0.0.0.0/0"));
  EXPECT_THAT(texts(s), ElementsAre("0.0.0.0/0", "::/0"));
  s.remove(net::prefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"));
  s.remove(net::prefix("255.255.255.255/32"));
  // Everything but the last address: one prefix per bit, /1 to /32 and /1 to /128.
  auto p = texts(s);
  ASSERT_EQ(p.size(), 32u + 128u);
  EXPECT_EQ(p[0], "0.0.0.0/1");
  EXPECT_EQ(p[31], "255.255.255.254/32");
  EXPECT_EQ(p[32], "::/1");
  EXPECT_EQ(p[159], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128");
}

TEST(IpSet, OverlapAndDifference) {
  IpSet a, b;
  a.add(net::prefix("10.244.3.0/24"));
  a.add_ip(net::ip("fd50::1").ip());
  b.add(net::prefix("10.244.2.0/23"));
  b.add(net::prefix("192.168.3.0/24"));
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_TRUE(b.overlaps(a));
  b.remove(a);
  EXPECT_FALSE(a.overlaps(b));
  EXPECT_THAT(texts(b), ElementsAre("10.244.2.0/24", "192.168.3.0/24"));
  IpSet c;
  c.add_ip(net::ip("fd50::2").ip());
  EXPECT_FALSE(a.overlaps(c));
  c.remove(c);
  EXPECT_TRUE(c.empty());
  EXPECT_THAT(texts(c), IsEmpty());
}

}  // namespace
}  // namespace controllers::kubespan
