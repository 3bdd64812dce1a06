// Limits of the discovery-service Cluster API; boundaries are inclusive, as upstream.
#pragma once

#include <chrono>
#include <cstddef>

namespace discovery::server {

inline constexpr std::size_t kClusterIdMax = 256;
inline constexpr std::size_t kAffiliateIdMax = 256;
inline constexpr std::size_t kAffiliateDataMax = 2048;
inline constexpr std::size_t kAffiliateEndpointMax = 32;
inline constexpr std::chrono::nanoseconds kTtlMax = std::chrono::minutes(30);
inline constexpr std::size_t kClusterAffiliatesMax = 1024;
inline constexpr std::size_t kAffiliateEndpointsMax = 64;

}  // namespace discovery::server
