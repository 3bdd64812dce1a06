// How an AffiliateUpdate changes a stored affiliate, and how endpoints expire: the rules shared by
// the in-memory registry (steady-clock times) and the etcd store (wall-clock times), so both
// behave alike. Header-only templates over the time point type.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "discovery/server/limits.h"
#include "discovery/server/state.h"

namespace discovery::server {

// An affiliate's lifetimes: the affiliate's own and one per endpoint, parallel to the record's
// endpoints.
template <class Time>
struct AffiliateLifetimes {
  Time expiration{};
  std::vector<Time> endpoint_expiry;
};

// Merges `request` into `current` (whose lifetimes are `times`, updated in place) given the
// request's expiration. Returns the new record when clients can see a difference; pure TTL
// refreshes copy nothing. Past kAffiliateEndpointsMax, `status` becomes kTooManyEndpoints and the
// endpoints before the limit are kept.
template <class Time>
std::optional<AffiliateRecord> merge_update(const AffiliateRecord& current,
                                            AffiliateLifetimes<Time>& times,
                                            const AffiliateUpdate& request, Time expiration,
                                            UpdateStatus& status) {
  std::optional<AffiliateRecord> next;
  auto edit = [&]() -> AffiliateRecord& {
    if (!next) next = current;
    return *next;
  };
  if (!request.data.empty()) {
    // Data refreshes set the lifetime outright (it may shorten), as upstream.
    times.expiration = expiration;
    if (current.data != request.data) edit().data = std::string(request.data);
  }
  for (std::string_view endpoint : request.endpoints) {
    const auto& endpoints = next ? next->endpoints : current.endpoints;
    auto it = std::find(endpoints.begin(), endpoints.end(), endpoint);
    if (it != endpoints.end()) {
      auto& expiry = times.endpoint_expiry[static_cast<std::size_t>(it - endpoints.begin())];
      expiry = std::max(expiry, expiration);
      continue;
    }
    if (endpoints.size() >= kAffiliateEndpointsMax) {
      status = UpdateStatus::kTooManyEndpoints;
      break;
    }
    edit().endpoints.emplace_back(endpoint);
    times.endpoint_expiry.push_back(expiration);
  }
  // Applied even after hitting the endpoint limit, so the affiliate outlives its merged endpoints.
  times.expiration = std::max(times.expiration, expiration);
  return next;
}

// Drops the endpoints whose expiry is not after `now` from `current` and `times`. Returns the new
// record when any was dropped.
template <class Time>
std::optional<AffiliateRecord> drop_expired_endpoints(const AffiliateRecord& current,
                                                      AffiliateLifetimes<Time>& times, Time now) {
  AffiliateRecord next{current.id, current.data, {}};
  std::vector<Time> expiry;
  for (std::size_t i = 0; i < current.endpoints.size(); ++i) {
    if (times.endpoint_expiry[i] > now) {
      next.endpoints.push_back(current.endpoints[i]);
      expiry.push_back(times.endpoint_expiry[i]);
    }
  }
  if (next.endpoints.size() == current.endpoints.size()) return std::nullopt;
  times.endpoint_expiry = std::move(expiry);
  return next;
}

}  // namespace discovery::server
