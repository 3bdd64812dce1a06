// Routing by the `node`/`nodes` metadata, as Talos's apid routes, and the one-to-many reply's
// per-node metadata edited on the wire.
#include "machined/node_route.h"

#include <gtest/gtest.h>

#include "machine/machine.pb.h"
#include "machined/reply_metadata.h"

namespace machined {
namespace {

using Kind = NodeRoute::Kind;
using Metadata = std::multimap<std::string, std::string>;

const NodeSelf kSelf{{"127.0.0.1", "10.0.0.5", "node-1", "fd00::5"}, 50001};
constexpr char kGet[] = "/cosi.resource.State/Get";
constexpr char kVersion[] = "/machine.MachineService/Version";

TEST(NodeRoute, NoNodeOrThisNodeIsLocal) {
  EXPECT_EQ(route_request(kGet, {}, kSelf, true).kind, Kind::kLocal);
  for (const char* self :
       {"127.0.0.1", "127.0.0.1:50001", "node-1", "[fd00::5]:50001", "fd00::5"}) {
    EXPECT_EQ(route_request(kGet, Metadata{{"node", self}}, kSelf, true).kind, Kind::kLocal)
        << self;
  }
}

TEST(NodeRoute, AnotherNodeOrPortIsForwarded) {
  for (const char* other : {"127.0.0.1:50002", "10.0.0.6", "node-2:50001"}) {
    const auto r = route_request(kGet, Metadata{{"node", other}}, kSelf, true);
    EXPECT_EQ(r.kind, Kind::kOne) << other;
    EXPECT_EQ(r.nodes, std::vector<std::string>{other});
  }
  // Without forwarding (the insecure mode) it is refused, naming the node.
  const auto r = route_request(kGet, Metadata{{"node", "10.0.0.6"}}, kSelf, false);
  EXPECT_EQ(r.kind, Kind::kRefused);
  EXPECT_EQ(r.refusal.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(r.refusal.error_message().find("10.0.0.6"), std::string::npos);
}

TEST(NodeRoute, ForwardedRequestsAreServedHereWhateverTheyName) {
  const Metadata forwarded{{"node", "10.0.0.6"}, {"proxyfrom", "10.0.0.5"}};
  EXPECT_EQ(route_request(kGet, forwarded, kSelf, true).kind, Kind::kLocal);
}

TEST(NodeRoute, OneToManyOnlyForMachineService) {
  const Metadata many{{"nodes", "10.0.0.5, 10.0.0.6"}, {"nodes", "10.0.0.7"}};
  const auto r = route_request(kVersion, many, kSelf, true);
  EXPECT_EQ(r.kind, Kind::kMany);
  EXPECT_EQ(r.nodes, (std::vector<std::string>{"10.0.0.5", "10.0.0.6", "10.0.0.7"}));
  const auto cosi = route_request(kGet, many, kSelf, true);
  EXPECT_EQ(cosi.kind, Kind::kRefused);
  EXPECT_EQ(cosi.refusal.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(route_request(kGet, Metadata{{"node", "a"}, {"node", "b"}}, kSelf, true).kind,
            Kind::kRefused);
}

TEST(NodeRoute, AddressesGetTalosPort) {
  EXPECT_EQ(node_address("10.0.0.6"), "10.0.0.6:50000");
  EXPECT_EQ(node_address("10.0.0.6:7"), "10.0.0.6:7");
  EXPECT_EQ(node_address("fd00::6"), "[fd00::6]:50000");
  EXPECT_EQ(node_address("[fd00::6]:7"), "[fd00::6]:7");
  EXPECT_EQ(node_address("node-2"), "node-2:50000");
}

TEST(ReplyMetadata, EveryElementNamesItsNodeAndKeepsItsFields) {
  ::machine::VersionResponse reply;
  reply.add_messages()->mutable_version()->set_tag("v1.11.0");
  auto* second = reply.add_messages();
  second->mutable_metadata()->set_error("kept");
  second->mutable_platform()->set_name("tds");
  const auto edited = with_hostname(reply.SerializeAsString(), "10.0.0.6");
  ASSERT_TRUE(edited);
  ::machine::VersionResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(*edited));
  ASSERT_EQ(parsed.messages_size(), 2);
  EXPECT_EQ(parsed.messages(0).metadata().hostname(), "10.0.0.6");
  EXPECT_EQ(parsed.messages(0).version().tag(), "v1.11.0");
  EXPECT_EQ(parsed.messages(1).metadata().hostname(), "10.0.0.6");
  EXPECT_EQ(parsed.messages(1).metadata().error(), "kept");
  EXPECT_EQ(parsed.messages(1).platform().name(), "tds");
  EXPECT_FALSE(with_hostname("\xff\xff", "x"));
}

TEST(ReplyMetadata, ConcatenatedRepliesMergeAndErrorsNameTheNode) {
  ::machine::VersionResponse a;
  a.add_messages()->mutable_version()->set_tag("v1");
  const std::string merged =
      *with_hostname(a.SerializeAsString(), "n1") + error_reply("n2", "connection refused");
  ::machine::VersionResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(merged));
  ASSERT_EQ(parsed.messages_size(), 2);
  EXPECT_EQ(parsed.messages(0).metadata().hostname(), "n1");
  EXPECT_EQ(parsed.messages(1).metadata().hostname(), "n2");
  EXPECT_EQ(parsed.messages(1).metadata().error(), "connection refused");
  EXPECT_FALSE(parsed.messages(1).has_version());
}

}  // namespace
}  // namespace machined
