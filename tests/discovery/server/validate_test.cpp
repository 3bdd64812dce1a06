// Validation boundaries and messages of the Cluster API.
#include "discovery/server/validate.h"

#include <gtest/gtest.h>

#include <string>

namespace discovery::server {
namespace {

using std::chrono::minutes;
using std::chrono::nanoseconds;

TEST(Validate, ClusterId) {
  EXPECT_EQ(check_cluster_id(""), "cluster ID can't be empty");
  EXPECT_EQ(check_cluster_id(std::string(256, 'c')), std::nullopt);
  EXPECT_EQ(check_cluster_id(std::string(257, 'c')), "cluster ID is too long");
}

TEST(Validate, AffiliateId) {
  EXPECT_EQ(check_affiliate_id(""), "affiliate ID can't be empty");
  EXPECT_EQ(check_affiliate_id(std::string(256, 'a')), std::nullopt);
  EXPECT_EQ(check_affiliate_id(std::string(257, 'a')), "affiliate ID is too long");
}

TEST(Validate, DataAndEndpoints) {
  EXPECT_EQ(check_affiliate_data(""), std::nullopt);
  EXPECT_EQ(check_affiliate_data(std::string(2048, 'd')), std::nullopt);
  EXPECT_EQ(check_affiliate_data(std::string(2049, 'd')), "affiliate data is too big");
  std::string ok(32, 'e');
  std::string big(33, 'e');
  EXPECT_EQ(check_endpoints({ok, ok}), std::nullopt);
  EXPECT_EQ(check_endpoints({ok, big}), "affiliate endpoint is too big");
}

TEST(Validate, TtlBoundaries) {
  EXPECT_EQ(ttl_from_duration(1800, 0), minutes(30));
  EXPECT_EQ(ttl_from_duration(1800, 1), std::nullopt);
  EXPECT_EQ(ttl_from_duration(1799, 999999999), minutes(30) - nanoseconds(1));
  EXPECT_EQ(ttl_from_duration(0, 0), nanoseconds(0));
  EXPECT_EQ(ttl_from_duration(-5, 0), nanoseconds(0));
  EXPECT_EQ(ttl_from_duration(INT64_MAX, 999999999), std::nullopt);
  EXPECT_EQ(ttl_from_duration(INT64_MIN, -999999999), nanoseconds(0));
}

}  // namespace
}  // namespace discovery::server
