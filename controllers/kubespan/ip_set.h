// A set of IP addresses kept as sorted, disjoint ranges per family: the part of Go's
// netipx.IPSet that KubeSpan peer specs need (union, difference, overlap, minimal prefixes).
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "common/common.pb.h"

namespace controllers::kubespan {

class IpSet {
 public:
  // The prefix's whole network (host bits are ignored, as netip.Prefix.Masked does). Prefixes
  // that are not 4- or 16-byte addresses with a valid length are ignored, as netipx ignores them.
  void add(const common::NetIPPrefix& p);
  // One address (4 or 16 bytes); anything else, the zero address included, is ignored.
  void add_ip(std::string_view ip);
  void remove(const common::NetIPPrefix& p);
  void remove(const IpSet& other);

  bool overlaps(const IpSet& other) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }

  // The fewest prefixes that cover the set exactly: IPv4 first, then ascending.
  std::vector<common::NetIPPrefix> prefixes() const;

 private:
  using U128 = unsigned __int128;
  using Range = std::pair<U128, U128>;  // inclusive bounds
  using Ranges = std::vector<Range>;    // sorted, disjoint, not adjacent

  static void insert(Ranges& rs, Range r);
  static void subtract(Ranges& rs, Range r);
  static bool any_overlap(const Ranges& a, const Ranges& b);

  Ranges v4_;  // addresses as numbers below 2^32
  Ranges v6_;
};

}  // namespace controllers::kubespan
