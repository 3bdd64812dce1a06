// IP values: inet_pton parses (it refuses what Go refuses: IPv4 leading zeros, zones); printing
// is ours, because glibc's inet_ntop prints "::a.b.c.d" for some IPv6 addresses Go prints in hex.
#include "values/net.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace values::net {
namespace {

constexpr std::string_view kMappedPrefix("\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);

int parse_number(std::string_view text, int max) {
  int v = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0 || v > max) {
    return -1;
  }
  return v;
}

std::invalid_argument bad(std::string_view what, std::string_view text) {
  return std::invalid_argument("\"" + std::string(text) + "\" is not " + std::string(what));
}

unsigned byte(std::string_view bytes, std::size_t i) {
  return static_cast<unsigned char>(bytes[i]);
}

std::string ipv4_text(std::string_view bytes) {
  return std::to_string(byte(bytes, 0)) + "." + std::to_string(byte(bytes, 1)) + "." +
         std::to_string(byte(bytes, 2)) + "." + std::to_string(byte(bytes, 3));
}

std::string ipv6_text(std::string_view bytes) {
  if (bytes.starts_with(kMappedPrefix)) return "::ffff:" + ipv4_text(bytes.substr(12));
  unsigned groups[8];
  for (std::size_t i = 0; i < 8; ++i) groups[i] = byte(bytes, 2 * i) << 8 | byte(bytes, 2 * i + 1);
  // The first longest run of at least two zero groups becomes "::", as Go prints IPv6.
  std::size_t zero_start = 8, zero_end = 8;
  for (std::size_t i = 0; i < 8; ++i) {
    std::size_t j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i >= 2 && j - i > zero_end - zero_start) {
      zero_start = i;
      zero_end = j;
    }
  }
  std::string out;
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == zero_start) {
      out += "::";
      i = zero_end;
      if (i >= 8) break;
    } else if (i > 0) {
      out += ':';
    }
    char hex[8];
    const int n = std::snprintf(hex, sizeof(hex), "%x", groups[i]);
    out.append(hex, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

std::optional<std::string> parse_ip(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;  // inet_pton stops there
  const std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(buf, buf + 4);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return std::string(buf, buf + 16);
  return std::nullopt;
}

std::string ip_text(std::string_view bytes) {
  if (bytes.empty()) return {};
  if (bytes.size() == 4) return ipv4_text(bytes);
  if (bytes.size() == 16) return ipv6_text(bytes);
  return "<invalid address of " + std::to_string(bytes.size()) + " bytes>";
}

std::string unmap(std::string_view bytes) {
  if (bytes.size() == 16 && bytes.starts_with(kMappedPrefix)) return std::string(bytes.substr(12));
  return std::string(bytes);
}

int compare(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::optional<int> parse_prefix_length(std::string_view text, std::size_t ip_size) {
  const int bits = parse_number(text, static_cast<int>(ip_size * 8));
  if (bits < 0) return std::nullopt;
  return bits;
}

std::optional<common::NetIPPrefix> parse_prefix(std::string_view text) {
  const auto slash = text.find('/');
  auto b = parse_ip(text.substr(0, slash));
  if (!b) return std::nullopt;
  std::optional<int> bits = static_cast<int>(b->size() * 8);
  if (slash != std::string_view::npos) {
    bits = parse_prefix_length(text.substr(slash + 1), b->size());
  }
  if (!bits) return std::nullopt;
  common::NetIPPrefix out;
  out.set_ip(std::move(*b));
  out.set_prefix_length(*bits);
  return out;
}

std::optional<common::NetIPPort> parse_ip_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto host = text.substr(0, colon);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  auto b = parse_ip(host);
  const int port = parse_number(text.substr(colon + 1), 65535);
  if (!b || (b->size() == 16) != bracketed || port < 0) return std::nullopt;
  return ip_port(*b, port);
}

common::NetIP ip(std::string_view text) {
  auto b = parse_ip(text);
  if (!b) throw bad("an IP address", text);
  common::NetIP out;
  out.set_ip(std::move(*b));
  return out;
}

common::NetIPPrefix prefix(std::string_view text) {
  auto p = parse_prefix(text);
  if (!p) throw bad("an IP prefix", text);
  return std::move(*p);
}

common::NetIPPort ip_port(std::string_view text) {
  auto p = parse_ip_port(text);
  if (!p) throw bad("an IP:port", text);
  return std::move(*p);
}

common::NetIPPort ip_port(const std::string& ip_bytes, int port) {
  common::NetIPPort out;
  out.set_ip(ip_bytes);
  out.set_port(port);
  return out;
}

std::string text(const common::NetIPPrefix& p) {
  return ip_text(p.ip()) + "/" + std::to_string(p.prefix_length());
}

std::string text(const common::NetIPPort& p) {
  auto host = ip_text(p.ip());
  if (p.ip().size() == 16) host = "[" + host + "]";
  return host + ":" + std::to_string(p.port());
}

bool operator==(const common::NetIP& a, const common::NetIP& b) { return a.ip() == b.ip(); }

bool operator==(const common::NetIPPrefix& a, const common::NetIPPrefix& b) {
  return a.ip() == b.ip() && a.prefix_length() == b.prefix_length();
}

bool operator==(const common::NetIPPort& a, const common::NetIPPort& b) {
  return a.ip() == b.ip() && a.port() == b.port();
}

bool contains(const common::NetIPPrefix& p, std::string_view ip) {
  const std::string& net = p.ip();
  if (net.size() != ip.size() || net.empty()) return false;
  int bits = p.prefix_length();
  for (std::size_t i = 0; i < net.size() && bits > 0; ++i, bits -= 8) {
    auto mask = static_cast<unsigned char>(bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff);
    if ((static_cast<unsigned char>(net[i]) & mask) != (static_cast<unsigned char>(ip[i]) & mask)) {
      return false;
    }
  }
  return true;
}

}  // namespace values::net
