// IpSet: range arithmetic over 128-bit numbers. An IPv6 range can end at the all-ones address,
// so no code computes `hi + 1` without checking for it.
#include "controllers/kubespan/ip_set.h"

#include <algorithm>
#include <optional>
#include <string>

namespace controllers::kubespan {
namespace {

using U128 = unsigned __int128;
constexpr U128 kAllOnes = ~U128{0};

U128 to_number(std::string_view ip) {
  U128 v = 0;
  for (char c : ip) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

std::string to_bytes(U128 v, std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = size; i-- > 0;) {
    out[i] = static_cast<char>(static_cast<unsigned>(v & 0xff));
    v >>= 8;
  }
  return out;
}

// Low `bits` bits set; bits may be the full 128.
U128 low_mask(int bits) { return bits >= 128 ? kAllOnes : (U128{1} << bits) - 1; }

// The [first, last] range of a prefix; nullopt for malformed ones.
std::optional<std::pair<U128, U128>> prefix_range(const common::NetIPPrefix& p) {
  const auto& ip = p.ip();
  const int bits = static_cast<int>(ip.size() * 8);
  if ((ip.size() != 4 && ip.size() != 16) || p.prefix_length() < 0 || p.prefix_length() > bits) {
    return std::nullopt;
  }
  const U128 host = low_mask(bits - p.prefix_length());
  const U128 first = to_number(ip) & ~host;
  return std::pair{first, first | host};
}

}  // namespace

void IpSet::insert(Ranges& rs, Range r) {
  rs.push_back(r);
  std::sort(rs.begin(), rs.end());
  Ranges merged;
  for (const auto& cur : rs) {
    // Merge overlapping and adjacent ranges; the last one may already reach the top.
    if (!merged.empty() &&
        (merged.back().second == kAllOnes || cur.first <= merged.back().second + 1)) {
      merged.back().second = std::max(merged.back().second, cur.second);
    } else {
      merged.push_back(cur);
    }
  }
  rs = std::move(merged);
}

void IpSet::subtract(Ranges& rs, Range r) {
  Ranges out;
  for (const auto& cur : rs) {
    if (cur.second < r.first || cur.first > r.second) {
      out.push_back(cur);
      continue;
    }
    if (cur.first < r.first) out.emplace_back(cur.first, r.first - 1);
    if (cur.second > r.second) out.emplace_back(r.second + 1, cur.second);
  }
  rs = std::move(out);
}

bool IpSet::any_overlap(const Ranges& a, const Ranges& b) {
  for (const auto& x : a) {
    for (const auto& y : b) {
      if (x.first <= y.second && y.first <= x.second) return true;
    }
  }
  return false;
}

void IpSet::add(const common::NetIPPrefix& p) {
  if (auto r = prefix_range(p)) insert(p.ip().size() == 4 ? v4_ : v6_, *r);
}

void IpSet::add_ip(std::string_view ip) {
  if (ip.size() != 4 && ip.size() != 16) return;
  const U128 v = to_number(ip);
  insert(ip.size() == 4 ? v4_ : v6_, {v, v});
}

void IpSet::remove(const common::NetIPPrefix& p) {
  if (auto r = prefix_range(p)) subtract(p.ip().size() == 4 ? v4_ : v6_, *r);
}

void IpSet::remove(const IpSet& other) {
  for (const auto& r : other.v4_) subtract(v4_, r);
  for (const auto& r : other.v6_) subtract(v6_, r);
}

bool IpSet::overlaps(const IpSet& other) const {
  return any_overlap(v4_, other.v4_) || any_overlap(v6_, other.v6_);
}

std::vector<common::NetIPPrefix> IpSet::prefixes() const {
  std::vector<common::NetIPPrefix> out;
  auto emit = [&](const Ranges& rs, std::size_t size) {
    const int bits = static_cast<int>(size * 8);
    for (auto [lo, hi] : rs) {
      while (true) {
        // The largest block that starts at lo (alignment) and ends within hi.
        int host = 0;
        while (host < bits && (lo & low_mask(host + 1)) == 0 && (lo | low_mask(host + 1)) <= hi) {
          ++host;
        }
        common::NetIPPrefix p;
        p.set_ip(to_bytes(lo, size));
        p.set_prefix_length(bits - host);
        out.push_back(std::move(p));
        const U128 last = lo | low_mask(host);
        if (last >= hi) break;
        lo = last + 1;
      }
    }
  };
  emit(v4_, 4);
  emit(v6_, 16);
  return out;
}

}  // namespace controllers::kubespan
