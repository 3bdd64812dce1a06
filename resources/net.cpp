// IP value helpers over inet_pton/inet_ntop.
#include "resources/net.h"

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>

namespace resources::net {
namespace {

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

}  // namespace

std::optional<std::string> parse_ip(std::string_view text) {
  std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(buf, buf + 4);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return std::string(buf, buf + 16);
  return std::nullopt;
}

std::string ip_text(std::string_view bytes) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (bytes.size() == 4 && inet_ntop(AF_INET, bytes.data(), buf, sizeof(buf))) return buf;
  if (bytes.size() == 16 && inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf))) return buf;
  return {};
}

common::NetIP ip(std::string_view text) {
  auto b = parse_ip(text);
  if (!b) throw bad("an IP address", text);
  common::NetIP out;
  out.set_ip(*b);
  return out;
}

common::NetIPPrefix prefix(std::string_view text) {
  auto slash = text.find('/');
  auto b = parse_ip(text.substr(0, slash));
  if (!b) throw bad("an IP prefix", text);
  int bits = static_cast<int>(b->size() * 8);
  if (slash != std::string_view::npos) {
    bits = parse_number(text.substr(slash + 1), static_cast<int>(b->size() * 8));
    if (bits < 0) throw bad("an IP prefix", text);
  }
  common::NetIPPrefix out;
  out.set_ip(*b);
  out.set_prefix_length(bits);
  return out;
}

common::NetIPPort ip_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) throw bad("an IP:port", text);
  auto host = text.substr(0, colon);
  std::optional<std::string> b;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    b = parse_ip(host.substr(1, host.size() - 2));
    if (b && b->size() != 16) b.reset();
  } else {
    b = parse_ip(host);
    if (b && b->size() != 4) b.reset();
  }
  int port = parse_number(text.substr(colon + 1), 65535);
  if (!b || port < 0) throw bad("an IP:port", text);
  return ip_port(*b, port);
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

int compare(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
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

}  // namespace resources::net
