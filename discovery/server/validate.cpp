// Request validation for the Cluster API.
#include "discovery/server/validate.h"

#include <algorithm>

#include "discovery/server/limits.h"

namespace discovery::server {

std::optional<std::string_view> check_cluster_id(std::string_view id) {
  if (id.empty()) return "cluster ID can't be empty";
  if (id.size() > kClusterIdMax) return "cluster ID is too long";
  return std::nullopt;
}

std::optional<std::string_view> check_affiliate_id(std::string_view id) {
  if (id.empty()) return "affiliate ID can't be empty";
  if (id.size() > kAffiliateIdMax) return "affiliate ID is too long";
  return std::nullopt;
}

std::optional<std::string_view> check_affiliate_data(std::string_view data) {
  if (data.size() > kAffiliateDataMax) return "affiliate data is too big";
  return std::nullopt;
}

std::optional<std::string_view> check_endpoints(const std::vector<std::string_view>& endpoints) {
  for (std::string_view endpoint : endpoints) {
    if (endpoint.size() > kAffiliateEndpointMax) return "affiliate endpoint is too big";
  }
  return std::nullopt;
}

std::optional<std::chrono::nanoseconds> ttl_from_duration(std::int64_t seconds,
                                                          std::int32_t nanos) {
  const std::int64_t max_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(kTtlMax).count();
  // Bound seconds first so the nanosecond sum below cannot overflow.
  if (seconds > max_seconds + 1) return std::nullopt;
  if (seconds < -1) return std::chrono::nanoseconds::zero();
  const std::chrono::nanoseconds ttl =
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos);
  if (ttl > kTtlMax) return std::nullopt;
  return std::max(ttl, std::chrono::nanoseconds::zero());
}

}  // namespace discovery::server
