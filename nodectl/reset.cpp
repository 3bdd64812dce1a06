// Reset, then poll Version until machined no longer answers: it stops once it has left.
#include "nodectl/reset.h"

#include <grpcpp/grpcpp.h>

#include <thread>

#include "machine/machine.grpc.pb.h"

namespace nodectl {
namespace {

using Clock = std::chrono::steady_clock;

// The daemon counts as gone once a call fails with UNAVAILABLE (socket removed or refused).
bool answers(machine::MachineService::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  machine::VersionResponse response;
  return stub.Version(&ctx, google::protobuf::Empty(), &response).error_code() !=
         grpc::StatusCode::UNAVAILABLE;
}

}  // namespace

int reset(const Target& target, const ResetOptions& opts, std::ostream& out, std::ostream& err) {
  auto stub = machine::MachineService::NewStub(channel_for(target));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  machine::ResetRequest request;
  request.set_graceful(opts.graceful);
  request.set_reboot(false);
  machine::ResetResponse response;
  if (auto status = stub->Reset(&ctx, request, &response); !status.ok()) {
    err << "nodectl: reset refused: " << status.error_message() << '\n';
    return 1;
  }
  if (!opts.wait) {
    out << "reset started\n";
    return 0;
  }
  const auto deadline = Clock::now() + opts.timeout;
  while (answers(*stub)) {
    if (Clock::now() >= deadline) {
      err << "nodectl: machined still running " << opts.timeout.count()
          << "s after the reset started\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  out << "reset done: machined left the cluster, wiped its state and stopped\n";
  return 0;
}

}  // namespace nodectl
