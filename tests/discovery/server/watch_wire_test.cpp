// The hand-written WatchResponse encoding against protobuf's own serializer and parser.
#include "discovery/server/watch_wire.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "discovery/server.pb.h"
#include "discovery/server/state.h"

namespace discovery::server {
namespace {

namespace pb = ::sidero::discovery::server;

std::string protobuf_upsert(const AffiliateRecord& record) {
  pb::WatchResponse msg;
  auto* a = msg.add_affiliates();
  a->set_id(record.id);
  a->set_data(record.data);
  for (const auto& e : record.endpoints) a->add_endpoints(e);
  return msg.SerializeAsString();
}

std::string upsert(const AffiliateRecord& record) {
  std::string out;
  append_watch_upsert(out, record);
  return out;
}

TEST(WatchWire, UpsertEqualsProtobufBytes) {
  const std::vector<AffiliateRecord> records = {
      {"af1", "data", {"e1", "e2"}},
      {"af2", "", {}},     // no data: the field is left out, as proto3 does
      {"af3", "d", {""}},  // an empty endpoint is still a repeated element
      {"", "", {}},
      // Lengths past 127 and 16383 take multi-byte varints.
      {std::string(256, 'i'), std::string(2048, '\xff'), std::vector<std::string>(64, "x")},
      {"big", std::string(20000, 'b'), {std::string(32, '\0')}},
  };
  for (const auto& record : records) {
    EXPECT_EQ(upsert(record), protobuf_upsert(record)) << record.id.substr(0, 8);
  }
}

TEST(WatchWire, DeletionEqualsProtobufBytes) {
  for (const std::string& id : {std::string("af1"), std::string(), std::string(300, 'z')}) {
    pb::WatchResponse msg;
    msg.add_affiliates()->set_id(id);
    msg.set_deleted(true);
    EXPECT_EQ(watch_deletion(id), msg.SerializeAsString()) << id.substr(0, 8);
  }
}

TEST(WatchWire, ConcatenatedUpsertsAreOneMessageWithEveryAffiliate) {
  std::string snapshot;
  append_watch_upsert(snapshot, {"a", "1", {"e"}});
  append_watch_upsert(snapshot, {"b", "", {}});
  pb::WatchResponse msg;
  ASSERT_TRUE(msg.ParseFromString(snapshot));
  ASSERT_EQ(msg.affiliates_size(), 2);
  EXPECT_EQ(msg.affiliates(0).id(), "a");
  EXPECT_EQ(msg.affiliates(0).data(), "1");
  ASSERT_EQ(msg.affiliates(0).endpoints_size(), 1);
  EXPECT_EQ(msg.affiliates(1).id(), "b");
  EXPECT_FALSE(msg.deleted());

  pb::WatchResponse empty;
  ASSERT_TRUE(empty.ParseFromString(""));
  EXPECT_EQ(empty.affiliates_size(), 0) << "an empty snapshot is zero bytes";
}

}  // namespace
}  // namespace discovery::server
