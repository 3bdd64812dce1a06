// Client address resolution behind trusted proxies.
#include "discovery/server/client_ip.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

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
  if (text.empty() || text.size() > 64) return {};
  std::string host(text);
  if (auto zone = host.find('%'); zone != std::string::npos) host.resize(zone);
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) return {reinterpret_cast<char*>(buf), 4};
  if (inet_pton(AF_INET6, host.c_str(), buf) != 1) return {};
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(std::begin(kMapped), std::end(kMapped), buf)) {
    return {reinterpret_cast<char*>(buf + 12), 4};
  }
  return {reinterpret_cast<char*>(buf), 16};
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
    Range range;
    range.size = ip.size();
    range.bits = static_cast<unsigned>(ip.size() * 8);
    bool ok = !ip.empty();
    if (ok && slash != std::string_view::npos) {
      std::string_view bits = entry.substr(slash + 1);
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), range.bits);
      ok = ec == std::errc() && end == bits.data() + bits.size() && !bits.empty() &&
           range.bits <= ip.size() * 8;
    }
    if (!ok) {
      error = "\"" + std::string(entry) + "\" is not an address or CIDR range";
      return std::nullopt;
    }
    std::copy(ip.begin(), ip.end(), range.prefix.begin());
    out.ranges_.push_back(range);
  }
  return out;
}

bool TrustedProxies::contains(std::string_view ip) const {
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const Range& r) {
    if (ip.size() != r.size) return false;
    const unsigned full = r.bits / 8;
    for (unsigned i = 0; i < full; ++i) {
      if (static_cast<unsigned char>(ip[i]) != r.prefix[i]) return false;
    }
    if (const unsigned rest = r.bits % 8; rest != 0) {
      const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
      if ((static_cast<unsigned char>(ip[full]) & mask) != (r.prefix[full] & mask)) return false;
    }
    return true;
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
