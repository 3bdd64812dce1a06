#include "nodectl/version.h"

#include <grpcpp/grpcpp.h>

#include "machine/machine.grpc.pb.h"
#include "platform/build_info.h"

namespace nodectl {
namespace {

// Talos's long version layout: tab-indented, values aligned at column 14.
void print_long(std::ostream& out, const ::machine::VersionInfo& v) {
  out << "\tTag:         " << v.tag() << "\n"
      << "\tSHA:         " << v.sha() << "\n"
      << "\tBuilt:       " << v.built() << "\n"
      << "\tGo version:  " << v.go_version() << "\n"
      << "\tOS/Arch:     " << v.os() << "/" << v.arch() << "\n";
}

::machine::VersionInfo client_version() {
  const auto build = platform::build_info();
  ::machine::VersionInfo v;
  v.set_tag(platform::kTalosApiTag);
  v.set_sha("tds-nodectl " + build.version);
  v.set_built(build.built);
  v.set_go_version(build.toolchain);
  v.set_os(build.os);
  v.set_arch(build.arch);
  return v;
}

}  // namespace

int version(const std::vector<Target>& targets, const VersionOptions& opts, std::ostream& out,
            std::ostream& err) {
  const auto client = client_version();
  out << "Client:\n";
  if (opts.short_version) {
    out << "tds-nodectl " << client.tag() << "\n";
  } else {
    print_long(out, client);
  }
  if (opts.client_only) return 0;
  out << "Server:\n";
  int exit_code = 0;
  for (const auto& target : targets) {
    auto stub = ::machine::MachineService::NewStub(channel_for(target));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ::machine::VersionResponse response;
    const auto status = stub->Version(&ctx, google::protobuf::Empty(), &response);
    if (!status.ok()) {
      err << "nodectl: error getting version from node " << target.node() << ": "
          << status.error_message() << "\n";
      exit_code = 1;
      continue;
    }
    for (const auto& message : response.messages()) {
      out << "\tNODE:        " << target.node() << "\n";
      print_long(out, message.version());
      out << "\tEnabled:     " << (message.features().rbac() ? "RBAC" : "") << "\n";
    }
  }
  return exit_code;
}

}  // namespace nodectl
