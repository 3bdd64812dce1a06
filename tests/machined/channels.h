// Client channels to machined's two surfaces, for tests: the unix socket, and TLS without
// verifying the self-signed certificate (what talosctl --insecure does).
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <filesystem>
#include <memory>
#include <string>

namespace tds::test {

inline std::shared_ptr<grpc::Channel> unix_channel(const std::filesystem::path& path) {
  return grpc::CreateChannel("unix:" + path.string(), grpc::InsecureChannelCredentials());
}

inline std::shared_ptr<grpc::Channel> insecure_tls_channel(int port) {
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_verify_server_certs(false);
  tls.set_check_call_host(false);
  tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                             grpc::experimental::TlsCredentials(tls));
}

}  // namespace tds::test
