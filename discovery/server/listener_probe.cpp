// The gRPC listener's self-probe.
#include "discovery/server/listener_probe.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <spdlog/spdlog.h>

#include <future>

#include "discovery/server/periodic.h"

namespace discovery::server {
namespace {

std::shared_ptr<grpc::ChannelCredentials> credentials(bool tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  // The question is whether the listener answers, not who it is.
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

// grpc.health.v1 HealthCheckResponse{status: SERVING}; the request (service "") is empty.
constexpr char kServing[] = "\x08\x01";

}  // namespace

ListenerProbe::ListenerProbe(ListenerProbeOptions options)
    : options_(std::move(options)),
      loop_(std::make_unique<Periodic>(
          options_.interval, [this] { probe(); }, false)) {}

ListenerProbe::~ListenerProbe() = default;

void ListenerProbe::probe() {
  grpc::ChannelArguments args;
  // A fresh connection each time: a pooled one would not notice that accepting stopped.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(options_.target, credentials(options_.tls), args);
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.timeout);
  grpc::Slice empty("");  // HealthCheckRequest{service: ""} encodes to no bytes
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer reply;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &reply,
                 [&](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  std::string answer;
  if (status.ok()) {
    std::vector<grpc::Slice> slices;
    if (reply.Dump(&slices).ok()) {
      for (const auto& s : slices) {
        answer.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
  }
  const bool answered = status.ok() && answer == std::string(kServing, 2);
  if (answered) {
    if (!healthy_.exchange(true)) {
      spdlog::info("grpc listener answering again target={}", options_.target);
    }
    failed_in_a_row_ = 0;
    return;
  }
  if (++failed_in_a_row_ == options_.failures) {
    healthy_ = false;
    spdlog::error(
        "grpc listener not answering target={} failed_probes={} error=\"{}\" "
        "(/healthz now answers 503)",
        options_.target, failed_in_a_row_, status.ok() ? "not SERVING" : status.error_message());
  }
}

}  // namespace discovery::server
