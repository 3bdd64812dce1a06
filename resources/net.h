// IP address values as the specs hold them (common.NetIP bytes): parsing, printing, comparing.
// Text forms follow Go's netip: "10.0.0.1", "fd00::1", "10.0.0.0/8", "[fd00::1]:51820".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/common.pb.h"

namespace resources::net {

// 4 or 16 bytes; null when text is not an IP address (no zone, no brackets).
std::optional<std::string> parse_ip(std::string_view text);
// Empty bytes print empty (the zero address).
std::string ip_text(std::string_view bytes);

// Throw std::invalid_argument naming the text when it does not parse.
common::NetIP ip(std::string_view text);
common::NetIPPrefix prefix(std::string_view text);  // "a/n"; a bare IP is a full-length prefix
common::NetIPPort ip_port(std::string_view text);
common::NetIPPort ip_port(const std::string& ip_bytes, int port);

std::string text(const common::NetIPPrefix& p);
std::string text(const common::NetIPPort& p);

bool operator==(const common::NetIP& a, const common::NetIP& b);
bool operator==(const common::NetIPPrefix& a, const common::NetIPPrefix& b);
bool operator==(const common::NetIPPort& a, const common::NetIPPort& b);

// Go's netip.Addr.Compare: the zero address first, then IPv4 before IPv6, then bytewise.
int compare(std::string_view a, std::string_view b);

// Whether prefix p contains the address ip (different families never match).
bool contains(const common::NetIPPrefix& p, std::string_view ip);

}  // namespace resources::net
