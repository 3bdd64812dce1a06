// machine.MachineService/Version over a real server: one message with a Talos semver tag and
// machined's own version beside it.
#include "machined/version_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <regex>

#include "machine/machine.grpc.pb.h"

namespace machined {
namespace {

TEST(VersionService, ReportsTalosTagAndProductVersion) {
  auto service = make_version_service(build_version_info());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service.get());
  auto server = builder.BuildAndStart();
  ASSERT_NE(port, 0);

  auto stub = ::machine::MachineService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ::machine::VersionResponse response;
  ASSERT_TRUE(stub->Version(&ctx, google::protobuf::Empty(), &response).ok());
  ASSERT_EQ(response.messages_size(), 1);
  const auto& m = response.messages(0);
  EXPECT_TRUE(m.has_metadata());
  EXPECT_TRUE(m.metadata().error().empty());
  EXPECT_EQ(m.version().tag(), kTalosApiTag);
  EXPECT_TRUE(std::regex_match(m.version().tag(), std::regex(R"(v[0-9]+\.[0-9]+\.[0-9]+)")));
  EXPECT_THAT(m.version().sha(), ::testing::StartsWith("tds-machined "));
  EXPECT_EQ(m.version().os(), "linux");
  EXPECT_FALSE(m.version().arch().empty());
  EXPECT_FALSE(m.features().rbac());
  server->Shutdown();
}

}  // namespace
}  // namespace machined
