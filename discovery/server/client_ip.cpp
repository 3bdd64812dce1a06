// Client address resolution behind trusted proxies.
#include "discovery/server/client_ip.h"

#include <algorithm>

#include "values/net.h"

namespace discovery::server {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string ip_from_text(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.size() > 64) return {};
  auto ip = values::net::parse_ip(text.substr(0, text.find('%')));  // the zone does not count
  return ip ? values::net::unmap(*ip) : std::string();
}

std::string peer_ip_bytes(std::string_view peer) {
  std::string host;
  if (peer.starts_with("ipv4:")) {
    peer.remove_prefix(5);
    host = std::string(peer.substr(0, peer.rfind(':')));
  } else if (peer.starts_with("ipv6:")) {
    peer.remove_prefix(5);
    // Brackets may arrive URI-escaped depending on the gRPC version.
    std::string text(peer);
    for (auto [from, to] : {std::pair{"%5B", "["}, std::pair{"%5D", "]"}}) {
      for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from)) {
        text.replace(pos, 3, to);
      }
    }
    if (!text.starts_with('[') || text.find(']') == std::string::npos) return {};
    host = text.substr(0, text.find(']') + 1);
  } else {
    return {};
  }
  return ip_from_text(host);
}

std::optional<TrustedProxies> TrustedProxies::parse(std::string_view list, std::string& error) {
  TrustedProxies out;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (entry.empty()) continue;
    auto slash = entry.find('/');
    std::string ip = ip_from_text(entry.substr(0, slash));
    std::optional<int> bits;
    if (!ip.empty()) {
      bits = slash == std::string_view::npos
                 ? static_cast<int>(ip.size() * 8)
                 : values::net::parse_prefix_length(entry.substr(slash + 1), ip.size());
    }
    if (!bits) {
      error = "\"" + std::string(entry) + "\" is not an address or CIDR range";
      return std::nullopt;
    }
    auto& range = out.ranges_.emplace_back();
    range.set_ip(std::move(ip));
    range.set_prefix_length(*bits);
  }
  return out;
}

bool TrustedProxies::contains(std::string_view ip) const {
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const common::NetIPPrefix& range) {
    return values::net::contains(range, ip);
  });
}

std::string client_ip(std::string_view peer, std::optional<std::string_view> x_real_ip,
                      std::optional<std::string_view> x_forwarded_for,
                      const TrustedProxies& trusted) {
  if (peer.empty() || !trusted.contains(peer)) return std::string(peer);
  if (x_real_ip) {
    if (auto ip = ip_from_text(trim(*x_real_ip)); !ip.empty()) return ip;
  }
  if (x_forwarded_for) {
    if (auto ip = ip_from_text(trim(x_forwarded_for->substr(0, x_forwarded_for->find(','))));
        !ip.empty()) {
      return ip;
    }
  }
  return std::string(peer);
}

}  // namespace discovery::server
