// IP address values as the specs and the wire hold them (4 or 16 bytes; common.NetIP and its
// prefix and port forms): parsing, printing, comparing, prefix containment. Text forms follow
// Go's net/netip: "10.0.0.1", "fd00::1", "::ffff:10.0.0.1", "10.0.0.0/8", "[fd00::1]:51820".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/common.pb.h"

namespace values::net {

// 4 bytes for IPv4, 16 for IPv6 (IPv4-mapped IPv6 stays 16); null when text is not an IP
// address (no zone, no brackets).
std::optional<std::string> parse_ip(std::string_view text);
// Go's netip.Addr.String: RFC 5952 IPv6 ("fd00::1", longest zero run of two or more groups
// compressed), "::ffff:a.b.c.d" for IPv4-mapped. Empty bytes print empty (the zero address);
// any other length prints as an invalid address naming its size.
std::string ip_text(std::string_view bytes);
// The IPv4 address inside an IPv4-mapped IPv6 one (Go's Addr.Unmap); other addresses unchanged.
std::string unmap(std::string_view bytes);

// Go's netip.Addr.Compare: the zero address first, then IPv4 before IPv6, then bytewise.
int compare(std::string_view a, std::string_view b);

// A decimal prefix length 0..8 * ip_size; null for anything else.
std::optional<int> parse_prefix_length(std::string_view text, std::size_t ip_size);

// "a/n"; a bare address is a full-length prefix. Null when text is neither.
std::optional<common::NetIPPrefix> parse_prefix(std::string_view text);
// "a.b.c.d:port" or "[v6]:port" (brackets exactly for IPv6, as Go's netip.ParseAddrPort).
std::optional<common::NetIPPort> parse_ip_port(std::string_view text);

// Throw std::invalid_argument naming the text when it does not parse.
common::NetIP ip(std::string_view text);
common::NetIPPrefix prefix(std::string_view text);
common::NetIPPort ip_port(std::string_view text);
common::NetIPPort ip_port(const std::string& ip_bytes, int port);

std::string text(const common::NetIPPrefix& p);
std::string text(const common::NetIPPort& p);

bool operator==(const common::NetIP& a, const common::NetIP& b);
bool operator==(const common::NetIPPrefix& a, const common::NetIPPrefix& b);
bool operator==(const common::NetIPPort& a, const common::NetIPPort& b);

// Whether prefix p contains the address ip (different families never match).
bool contains(const common::NetIPPrefix& p, std::string_view ip);

}  // namespace values::net
