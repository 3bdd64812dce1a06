// machine.MachineService/Version over the gRPC callback API.
#include "machined/version_service.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "machine/machine.grpc.pb.h"

#ifndef TDS_VERSION
#define TDS_VERSION "0.0.0"
#endif

namespace machined {
namespace {

std::string go_arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#else
  return "unknown";
#endif
}

class VersionService final : public ::machine::MachineService::CallbackService {
 public:
  explicit VersionService(VersionInfo info) : info_(std::move(info)) {}

  grpc::ServerUnaryReactor* Version(grpc::CallbackServerContext* ctx,
                                    const google::protobuf::Empty* /*request*/,
                                    ::machine::VersionResponse* response) override {
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
    message->mutable_features()->set_rbac(false);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const VersionInfo info_;
};

}  // namespace

VersionInfo build_version_info() {
  VersionInfo info;
  info.product = fmt::format("tds-machined {}", TDS_VERSION);
  info.built = __DATE__;
#if defined(__clang__)
  info.toolchain = fmt::format("clang {}", __clang_version__);
#else
  info.toolchain = fmt::format("gcc {}", __VERSION__);
#endif
  info.arch = go_arch();
  return info;
}

std::unique_ptr<grpc::Service> make_version_service(VersionInfo info) {
  return std::make_unique<VersionService>(std::move(info));
}

}  // namespace machined
