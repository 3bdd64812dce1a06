// Request validation for the Cluster API, with upstream's exact InvalidArgument messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace discovery::server {

// Each returns the error message for a bad value, or nullopt when it is acceptable.
std::optional<std::string_view> check_cluster_id(std::string_view id);
std::optional<std::string_view> check_affiliate_id(std::string_view id);
std::optional<std::string_view> check_affiliate_data(std::string_view data);
std::optional<std::string_view> check_endpoints(const std::vector<std::string_view>& endpoints);

inline constexpr std::string_view kTtlTooLarge = "ttl is too large";

// Converts a google.protobuf.Duration without overflow: nullopt when longer than kTtlMax,
// negative values clamp to zero (the record expires at the next GC, as upstream).
std::optional<std::chrono::nanoseconds> ttl_from_duration(std::int64_t seconds, std::int32_t nanos);

}  // namespace discovery::server
