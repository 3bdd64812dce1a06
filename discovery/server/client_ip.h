// Which address a call comes from: the transport peer, or, when that peer is a trusted proxy,
// the address it reports in X-Real-IP / X-Forwarded-For.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/common.pb.h"

namespace discovery::server {

// An IP as 4 bytes (IPv4, also IPv4-mapped IPv6) or 16 bytes (IPv6); empty when `text` is not an
// address. Accepts "1.2.3.4", "::1" and "[::1]".
std::string ip_from_text(std::string_view text);

// The client's IP from a gRPC peer URI ("ipv4:1.2.3.4:5", "ipv6:[::1]:5") as 4 bytes (IPv4,
// including IPv4-mapped IPv6) or 16 bytes (IPv6); empty when it is not an IP peer.
std::string peer_ip_bytes(std::string_view peer);

// A set of CIDR ranges ("10.0.0.0/8", "fd00::/8"; a bare address is a single host).
class TrustedProxies {
 public:
  TrustedProxies() = default;  // trusts nobody
  // Parses a comma-separated list; nullopt and `error` set on the first bad entry.
  static std::optional<TrustedProxies> parse(std::string_view list, std::string& error);

  bool contains(std::string_view ip) const;  // ip as ip_from_text returns it
  bool empty() const { return ranges_.empty(); }

 private:
  std::vector<common::NetIPPrefix> ranges_;  // addresses unmapped, as ip_from_text returns them
};

// The client's address for a call from `peer` (bytes). Only a trusted peer's headers count:
// the first X-Real-IP value if it is an address, else the first entry of the first
// X-Forwarded-For value if that is one, else the peer itself.
std::string client_ip(std::string_view peer, std::optional<std::string_view> x_real_ip,
                      std::optional<std::string_view> x_forwarded_for,
                      const TrustedProxies& trusted);

}  // namespace discovery::server
