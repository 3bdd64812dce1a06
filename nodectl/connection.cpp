#include "nodectl/connection.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_credentials_options.h>

namespace nodectl {

std::shared_ptr<grpc::Channel> channel_for(const Target& target) {
  if (target.endpoint.empty()) {
    return grpc::CreateChannel("unix:" + target.socket, grpc::InsecureChannelCredentials());
  }
  std::string address = target.endpoint;
  const bool bracketed_v6 = address.starts_with('[');
  const auto colon = address.rfind(':');
  const bool has_port =
      bracketed_v6 ? address.find("]:") != std::string::npos : colon != std::string::npos;
  if (!has_port) address += ":50000";
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_verify_server_certs(false);
  tls.set_check_call_host(false);
  tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(32 << 20);
  return grpc::CreateCustomChannel(address, grpc::experimental::TlsCredentials(tls), args);
}

}  // namespace nodectl
