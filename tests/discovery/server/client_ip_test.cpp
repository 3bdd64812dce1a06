// Address parsing, CIDR matching and header trust.
#include "discovery/server/client_ip.h"

#include <gtest/gtest.h>

namespace discovery::server {
namespace {

std::string v4(unsigned char a, unsigned char b, unsigned char c, unsigned char d) {
  return std::string{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                     static_cast<char>(d)};
}

TrustedProxies trust(std::string_view list) {
  std::string error;
  auto parsed = TrustedProxies::parse(list, error);
  EXPECT_TRUE(parsed.has_value()) << error;
  return parsed.value_or(TrustedProxies{});
}

TEST(ClientIp, ParsesAndUnmapsAddresses) {
  EXPECT_EQ(ip_from_text("1.2.3.4"), v4(1, 2, 3, 4));
  EXPECT_EQ(ip_from_text("::ffff:1.2.3.4"), v4(1, 2, 3, 4));
  EXPECT_EQ(ip_from_text("[::1]").size(), 16u);
  EXPECT_EQ(ip_from_text("fe80::1%eth0").size(), 16u);
  EXPECT_EQ(ip_from_text("1.2.3"), "");
  EXPECT_EQ(ip_from_text("example.com"), "");
  EXPECT_EQ(ip_from_text(""), "");
}

TEST(ClientIp, CidrMatching) {
  auto trusted = trust("10.0.0.0/8, 192.168.1.7, fd00::/8, 172.16.0.0/12");
  EXPECT_TRUE(trusted.contains(v4(10, 200, 0, 1)));
  EXPECT_TRUE(trusted.contains(v4(192, 168, 1, 7)));
  EXPECT_FALSE(trusted.contains(v4(192, 168, 1, 8)));
  EXPECT_TRUE(trusted.contains(v4(172, 31, 255, 255)));
  EXPECT_FALSE(trusted.contains(v4(172, 32, 0, 0)));
  EXPECT_TRUE(trusted.contains(ip_from_text("fd12::1")));
  EXPECT_FALSE(trusted.contains(ip_from_text("fe80::1")));
  EXPECT_FALSE(trusted.contains(""));
  EXPECT_TRUE(trust("").empty());
}

TEST(ClientIp, BadCidrsAreErrors) {
  for (std::string_view bad : {"10.0.0.0/33", "10.0.0.0/", "nope", "::/129", "1.2.3.4/8x"}) {
    std::string error;
    EXPECT_FALSE(TrustedProxies::parse(bad, error).has_value()) << bad;
    EXPECT_NE(error.find(std::string(bad)), std::string::npos) << error;
  }
}

TEST(ClientIp, HeadersCountOnlyFromTrustedPeers) {
  const std::string proxy = v4(10, 0, 0, 1);
  const std::string outsider = v4(8, 8, 8, 8);
  auto trusted = trust("10.0.0.0/8");
  // Untrusted peers (and the default of trusting nobody) cannot spoof their address.
  EXPECT_EQ(client_ip(outsider, "1.2.3.4", "5.6.7.8", trusted), outsider);
  EXPECT_EQ(client_ip(proxy, "1.2.3.4", "5.6.7.8", TrustedProxies{}), proxy);
  // Trusted: X-Real-IP first, then the first X-Forwarded-For entry, then the peer.
  EXPECT_EQ(client_ip(proxy, "1.2.3.4", "5.6.7.8", trusted), v4(1, 2, 3, 4));
  EXPECT_EQ(client_ip(proxy, std::nullopt, " 5.6.7.8 ,192.168.0.0.1", trusted), v4(5, 6, 7, 8));
  EXPECT_EQ(client_ip(proxy, "garbage", "5.6.7.8", trusted), v4(5, 6, 7, 8));
  EXPECT_EQ(client_ip(proxy, "garbage", "also garbage", trusted), proxy);
  EXPECT_EQ(client_ip("", "1.2.3.4", std::nullopt, trusted), "");
}

TEST(PeerIp, ParsesGrpcPeerUris) {
  EXPECT_EQ(peer_ip_bytes("ipv4:127.0.0.1:5000"), std::string("\x7f\x00\x00\x01", 4));
  EXPECT_EQ(peer_ip_bytes("ipv6:[::ffff:1.2.3.4]:5000"), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(peer_ip_bytes("ipv6:%5B::ffff:1.2.3.4%5D:5000"), std::string("\x01\x02\x03\x04", 4));
  std::string loopback6(16, '\0');
  loopback6[15] = 1;
  EXPECT_EQ(peer_ip_bytes("ipv6:[::1]:5000"), loopback6);
  EXPECT_EQ(peer_ip_bytes("ipv6:[fe80::1%eth0]:5000").size(), 16u);
  EXPECT_EQ(peer_ip_bytes("unix:/tmp/sock"), "");
  EXPECT_EQ(peer_ip_bytes("ipv4:not-an-ip:1"), "");
  EXPECT_EQ(peer_ip_bytes("ipv6:[::1"), "");
}

}  // namespace
}  // namespace discovery::server
