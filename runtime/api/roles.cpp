#include "runtime/api/roles.h"

#include <algorithm>
#include <array>

namespace runtime::api {
namespace {

constexpr std::array<std::pair<Role, std::string_view>, 5> kNames{{
    {Role::kAdmin, "os:admin"},
    {Role::kOperator, "os:operator"},
    {Role::kReader, "os:reader"},
    {Role::kEtcdBackup, "os:etcd:backup"},
    {Role::kImpersonator, "os:impersonator"},
}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(Role role) {
  for (const auto& [r, name] : kNames) {
    if (r == role) return name;
  }
  return "unknown";
}

Roles parse_roles(const std::vector<std::string>& names) {
  Roles out;
  for (const auto& raw : names) {
    const auto name = trim(raw);
    for (const auto& [r, known] : kNames) {
      if (name == known) out = out.with(r);
    }
  }
  return out;
}

std::vector<std::string> role_names(Roles roles) {
  std::vector<std::string> out;
  for (const auto& [r, name] : kNames) {
    if (roles.has(r)) out.emplace_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::shared_ptr<const Authenticator> fixed_roles(Roles roles) {
  class Fixed final : public Authenticator {
   public:
    explicit Fixed(Roles roles) : roles_(roles) {}
    Roles roles(const grpc::ServerContextBase&) const override { return roles_; }

   private:
    const Roles roles_;
  };
  return std::make_shared<Fixed>(roles);
}

}  // namespace runtime::api
