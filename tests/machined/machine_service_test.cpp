// machine.MachineService over a real server: Version reports a Talos semver tag and machined's own
// version; Reset is refused without a handler (read-only surface), refuses what machined cannot do
// (reboot, disks), and passes the graceful flag to the handler, whose refusal becomes
// FAILED_PRECONDITION; callers' roles decide who may call (Version: readers, Reset: admins).
#include "machined/machine_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <optional>
#include <regex>

#include "machine/machine.grpc.pb.h"

namespace machined {
namespace {

// One MachineService on 127.0.0.1 and a stub to it.
class Served {
 public:
  explicit Served(ResetHandler reset = nullptr,
                  std::shared_ptr<const runtime::api::Authenticator> authenticator = nullptr,
                  VersionInfo info = build_version_info())
      : service_(
            make_machine_service(std::move(info), std::move(authenticator), std::move(reset))) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(port, 0);
    stub_ = ::machine::MachineService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  ~Served() { server_->Shutdown(); }

  ::machine::MachineService::Stub& stub() { return *stub_; }

  grpc::Status reset(const ::machine::ResetRequest& request) {
    grpc::ClientContext ctx;
    ::machine::ResetResponse response;
    auto status = stub_->Reset(&ctx, request, &response);
    if (status.ok()) {
      EXPECT_EQ(response.messages_size(), 1);
    }
    return status;
  }

 private:
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<::machine::MachineService::Stub> stub_;
};

::machine::ResetRequest graceful_reset() {
  ::machine::ResetRequest request;
  request.set_graceful(true);
  return request;
}

TEST(MachineService, VersionReportsTalosTagAndProductVersion) {
  Served served;
  grpc::ClientContext ctx;
  ::machine::VersionResponse response;
  ASSERT_TRUE(served.stub().Version(&ctx, google::protobuf::Empty(), &response).ok());
  ASSERT_EQ(response.messages_size(), 1);
  const auto& m = response.messages(0);
  EXPECT_TRUE(m.has_metadata());
  EXPECT_TRUE(m.metadata().error().empty());
  EXPECT_EQ(m.version().tag(), platform::kTalosApiTag);
  EXPECT_TRUE(std::regex_match(m.version().tag(), std::regex(R"(v[0-9]+\.[0-9]+\.[0-9]+)")));
  EXPECT_THAT(m.version().sha(), ::testing::StartsWith("tds-machined "));
  EXPECT_EQ(m.version().os(), "linux");
  EXPECT_FALSE(m.version().arch().empty());
  EXPECT_FALSE(m.features().rbac());
}

TEST(MachineService, ResetWithoutHandlerIsPermissionDenied) {
  Served served;
  auto status = served.reset(graceful_reset());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("local socket"));
}

TEST(MachineService, ResetPassesGracefulAndReportsRefusals) {
  std::vector<bool> calls;
  std::string refusal;
  Served served([&](const ResetRequest& r) {
    calls.push_back(r.graceful);
    return refusal;
  });
  EXPECT_TRUE(served.reset(graceful_reset()).ok());
  EXPECT_TRUE(served.reset(::machine::ResetRequest{}).ok());
  EXPECT_EQ(calls, (std::vector<bool>{true, false}));

  refusal = "a reset is already in progress";
  auto status = served.reset(graceful_reset());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), refusal);
}

TEST(MachineService, ResetRefusesRebootAndDisksWithoutCallingTheHandler) {
  int calls = 0;
  Served served([&](const ResetRequest&) {
    ++calls;
    return std::string();
  });
  auto reboot = graceful_reset();
  reboot.set_reboot(true);
  auto partitions = graceful_reset();
  auto* spec = partitions.add_system_partitions_to_wipe();
  spec->set_label("STATE");
  auto disks = graceful_reset();
  disks.add_user_disks_to_wipe("/dev/sdb");
  auto mode = graceful_reset();
  mode.set_mode(::machine::ResetRequest::SYSTEM_DISK);
  for (const auto& request : {reboot, partitions, disks, mode}) {
    EXPECT_EQ(served.reset(request).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << request.DebugString();
  }
  EXPECT_EQ(calls, 0);
}

TEST(MachineService, RolesDecideWhoMayCall) {
  using runtime::api::Role;
  int resets = 0;
  auto handler = [&](const ResetRequest&) {
    ++resets;
    return std::string();
  };
  VersionInfo rbac = build_version_info();
  rbac.rbac = true;
  Served reader(handler, runtime::api::fixed_roles({Role::kReader}), rbac);
  grpc::ClientContext ctx;
  ::machine::VersionResponse response;
  ASSERT_TRUE(reader.stub().Version(&ctx, google::protobuf::Empty(), &response).ok());
  EXPECT_TRUE(response.messages(0).features().rbac());
  auto refused = reader.reset(graceful_reset());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(), "not authorized");
  EXPECT_EQ(resets, 0);

  Served nobody(handler, runtime::api::fixed_roles({Role::kEtcdBackup}));
  grpc::ClientContext ctx2;
  auto status = nobody.stub().Version(&ctx2, google::protobuf::Empty(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  Served admin(handler, runtime::api::fixed_roles({Role::kAdmin}));
  EXPECT_TRUE(admin.reset(graceful_reset()).ok());
  EXPECT_EQ(resets, 1);
}

}  // namespace
}  // namespace machined
