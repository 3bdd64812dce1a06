#include "machined/api_authenticator.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "pki/x509.h"

namespace machined {
namespace {

using runtime::api::Role;
using runtime::api::Roles;

// The metadata key a forwarding node names the original caller's roles in.
constexpr char kRoleMetadata[] = "talos-role";

std::vector<std::string> named_roles(const grpc::ServerContextBase& ctx) {
  std::vector<std::string> named;
  const auto& metadata = ctx.client_metadata();
  for (auto [it, end] = metadata.equal_range(kRoleMetadata); it != end; ++it) {
    named.emplace_back(it->second.data(), it->second.size());
  }
  return named;
}

class ForwardedRolesAuthenticator final : public runtime::api::Authenticator {
 public:
  Roles roles(const grpc::ServerContextBase& ctx) const override {
    return runtime::api::parse_roles(named_roles(ctx));
  }
};

class CertificateAuthenticator final : public runtime::api::Authenticator {
 public:
  Roles roles(const grpc::ServerContextBase& ctx) const override {
    const auto auth = ctx.auth_context();
    if (auth == nullptr) return {};
    const auto certs = auth->FindPropertyValues("x509_pem_cert");
    if (certs.empty()) return {};
    Roles roles;
    try {
      roles = runtime::api::parse_roles(
          pki::subject_organizations(std::string_view(certs.front().data(), certs.front().size())));
    } catch (const std::exception& e) {
      // gRPC verified it; a certificate OpenSSL cannot read back has no roles.
      spdlog::warn("api_client_certificate_unreadable error=\"{}\"", e.what());
      return {};
    }
    if (!roles.has(Role::kImpersonator)) return roles;
    const auto named = named_roles(ctx);
    // Without roles in the metadata it is a user who holds os:impersonator itself.
    return named.empty() ? roles : runtime::api::parse_roles(named);
  }
};

}  // namespace

std::shared_ptr<const runtime::api::Authenticator> make_certificate_authenticator() {
  return std::make_shared<CertificateAuthenticator>();
}

std::shared_ptr<const runtime::api::Authenticator> make_forwarded_roles_authenticator() {
  return std::make_shared<ForwardedRolesAuthenticator>();
}

}  // namespace machined
