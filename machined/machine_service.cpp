// machine.MachineService (Version, Reset) over the gRPC callback API.
#include "machined/machine_service.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "machine/machine.grpc.pb.h"
#include "platform/build_info.h"

namespace machined {
namespace {

// Why a request asks for something machined cannot do (it has no disks and cannot reboot), or
// empty.
std::string unsupported(const ::machine::ResetRequest& request) {
  if (request.reboot()) return "machined cannot reboot the host: use reboot=false";
  if (request.system_partitions_to_wipe_size() > 0 || request.user_disks_to_wipe_size() > 0 ||
      request.mode() != ::machine::ResetRequest::ALL) {
    return "machined has no disks or partitions to wipe: it wipes its state dir";
  }
  return {};
}

class MachineService final : public ::machine::MachineService::CallbackService {
 public:
  MachineService(VersionInfo info, std::shared_ptr<const runtime::api::Authenticator> authenticator,
                 ResetHandler reset)
      : info_(std::move(info)),
        authenticator_(std::move(authenticator)),
        reset_(std::move(reset)) {}

  grpc::ServerUnaryReactor* Reset(grpc::CallbackServerContext* ctx,
                                  const ::machine::ResetRequest* request,
                                  ::machine::ResetResponse* response) override {
    auto* reactor = ctx->DefaultReactor();
    if (!allowed(*ctx, runtime::api::kWriteRoles)) {
      reactor->Finish(not_authorized());
      return reactor;
    }
    if (!reset_) {
      reactor->Finish({grpc::StatusCode::PERMISSION_DENIED,
                       "reset is only allowed on machined's local socket"});
      return reactor;
    }
    if (auto why = unsupported(*request); !why.empty()) {
      reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT, why});
      return reactor;
    }
    if (auto refused = reset_(ResetRequest{request->graceful()}); !refused.empty()) {
      reactor->Finish({grpc::StatusCode::FAILED_PRECONDITION, refused});
      return reactor;
    }
    response->add_messages()->mutable_metadata();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Version(grpc::CallbackServerContext* ctx,
                                    const google::protobuf::Empty* /*request*/,
                                    ::machine::VersionResponse* response) override {
    auto* reactor = ctx->DefaultReactor();
    if (!allowed(*ctx, runtime::api::kReadRoles)) {
      reactor->Finish(not_authorized());
      return reactor;
    }
    auto* message = response->add_messages();
    message->mutable_metadata();
    auto* version = message->mutable_version();
    version->set_tag(info_.tag);
    version->set_sha(info_.product);
    version->set_built(info_.built);
    version->set_go_version(info_.toolchain);
    version->set_os(info_.os);
    version->set_arch(info_.arch);
    message->mutable_platform()->set_name(info_.platform);
    message->mutable_platform()->set_mode(info_.mode);
    message->mutable_features()->set_rbac(info_.rbac);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  bool allowed(const grpc::ServerContextBase& ctx, runtime::api::Roles method_roles) const {
    return authenticator_ == nullptr || authenticator_->roles(ctx).any_of(method_roles);
  }
  // Talos's words for a caller whose roles do not allow the call.
  static grpc::Status not_authorized() {
    return {grpc::StatusCode::PERMISSION_DENIED, "not authorized"};
  }

  const VersionInfo info_;
  const std::shared_ptr<const runtime::api::Authenticator> authenticator_;
  const ResetHandler reset_;
};

}  // namespace

VersionInfo build_version_info() {
  const auto build = platform::build_info();
  VersionInfo info;
  info.product = fmt::format("tds-machined {}", build.version);
  info.built = build.built;
  info.toolchain = build.toolchain;
  info.os = build.os;
  info.arch = build.arch;
  return info;
}

std::unique_ptr<grpc::Service> make_machine_service(
    VersionInfo info, std::shared_ptr<const runtime::api::Authenticator> authenticator,
    ResetHandler reset) {
  return std::make_unique<MachineService>(std::move(info), std::move(authenticator),
                                          std::move(reset));
}

}  // namespace machined
