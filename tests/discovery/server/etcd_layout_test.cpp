// Keys and values of the etcd store: the layout round-trips, and values that the service could
// not have written are refused with a reason.
#include "discovery/server/etcd_layout.h"

#include <gtest/gtest.h>

#include "discovery/etcd_store.pb.h"
#include "discovery/server/limits.h"

namespace discovery::server {
namespace {

using namespace std::chrono_literals;

TEST(EtcdKeysTest, TheClusterTagIsTheSha256OfTheIdInHex) {
  EXPECT_EQ(EtcdKeys::cluster_tag("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(EtcdKeysTest, AffiliateKeysRoundTripAnyBytes) {
  const EtcdKeys keys("/discovery-service/");
  const std::string tag = EtcdKeys::cluster_tag("cluster");
  const std::string id("node/1\0\xff", 8);
  const std::string key = keys.affiliate(tag, id);
  EXPECT_TRUE(key.starts_with(keys.cluster(tag)));
  EXPECT_TRUE(key.starts_with("/discovery-service/a/"));
  auto parsed = keys.parse_affiliate(key);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->cluster_tag, tag);
  EXPECT_EQ(parsed->affiliate_id, id);
}

TEST(EtcdKeysTest, OtherKeysAreNotAffiliates) {
  const EtcdKeys keys("/p/");
  const std::string tag = EtcdKeys::cluster_tag("c");
  for (const std::string& key :
       {std::string("/other/a/") + tag + "/61", "/p/a/" + tag, "/p/a/" + tag + "/",
        "/p/a/" + tag + "/6", "/p/a/" + tag + "/zz", "/p/a/" + tag.substr(1) + "/61",
        "/p/a/" + std::string(64, 'G') + "/61",
        "/p/a/" + tag + "/" + std::string(2 * (kAffiliateIdMax + 1), 'a')}) {
    EXPECT_FALSE(keys.parse_affiliate(key)) << key;
  }
}

StoredAffiliate sample() {
  const auto now = std::chrono::system_clock::now();
  StoredAffiliate value;
  value.record = {"node", "encrypted", {"e1", "e2"}};
  value.times.expiration = now + 30s;
  value.times.endpoint_expiry = {now + 10s, now + 20s};
  value.written = now;
  return value;
}

TEST(StoredAffiliateTest, RoundTrips) {
  const StoredAffiliate value = sample();
  std::string error;
  auto decoded = decode_stored(encode_stored(value), error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->record, value.record);
  EXPECT_EQ(decoded->times.expiration, value.times.expiration);
  EXPECT_EQ(decoded->times.endpoint_expiry, value.times.endpoint_expiry);
  EXPECT_EQ(decoded->written, value.written);
}

TEST(StoredAffiliateTest, ExportsLifetimesRelativeToNow) {
  const StoredAffiliate value = sample();
  const auto now = value.written;
  const AffiliateExport item = to_export(value, now);
  EXPECT_EQ(*item.record, value.record);
  EXPECT_EQ(item.ttl, 30s);
  EXPECT_EQ(item.endpoint_ttls, (std::vector<std::chrono::nanoseconds>{10s, 20s}));
}

TEST(StoredAffiliateTest, ValuesBeyondTheApiLimitsAreRefused) {
  auto encode = [](auto edit) {
    tds::discovery::etcd::StoredAffiliate raw;
    raw.set_id("node");
    edit(raw);
    return raw.SerializeAsString();
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xff\xff\xff", "not a StoredAffiliate message"},
      {encode([](auto& r) { r.set_id(""); }), "affiliate ID can't be empty"},
      {encode([](auto& r) { r.set_data(std::string(kAffiliateDataMax + 1, 'x')); }),
       "affiliate data is too big"},
      {encode([](auto& r) {
         r.add_endpoints()->set_data(std::string(kAffiliateEndpointMax + 1, 'x'));
       }),
       "affiliate endpoint is too big"},
      {encode([](auto& r) {
         for (std::size_t i = 0; i <= kAffiliateEndpointsMax; ++i) {
           r.add_endpoints()->set_data(std::to_string(i));
         }
       }),
       "too many endpoints in the affiliate"},
      {encode([](auto& r) {
         r.add_endpoints()->set_data("e");
         r.add_endpoints()->set_data("e");
       }),
       "repeated endpoint"},
  };
  for (const auto& [bytes, reason] : cases) {
    std::string error;
    EXPECT_FALSE(decode_stored(bytes, error));
    EXPECT_EQ(error, reason);
  }
}

}  // namespace
}  // namespace discovery::server
