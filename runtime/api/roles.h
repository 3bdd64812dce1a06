// Talos's API roles: what a caller may do, named in the Organization of its client certificate
// ("os:admin", ...) or, for requests a node forwards for someone else, in the `talos-role`
// metadata.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace grpc {
class ServerContextBase;
}

namespace runtime::api {

enum class Role : std::uint8_t {
  kAdmin,         // "os:admin": everything, sensitive types included
  kOperator,      // "os:operator": reads and day-2 operations, no secrets
  kReader,        // "os:reader": reads of non-sensitive types
  kEtcdBackup,    // "os:etcd:backup": etcd snapshots only
  kImpersonator,  // "os:impersonator": may act with the roles its request's metadata names
};

class Roles {
 public:
  constexpr Roles() = default;
  constexpr Roles(std::initializer_list<Role> roles) {
    for (Role r : roles) bits_ |= bit(r);
  }
  static constexpr Roles all() {
    return {Role::kAdmin, Role::kOperator, Role::kReader, Role::kEtcdBackup, Role::kImpersonator};
  }

  constexpr Roles with(Role r) const {
    Roles out = *this;
    out.bits_ |= bit(r);
    return out;
  }
  constexpr bool has(Role r) const { return (bits_ & bit(r)) != 0; }
  constexpr bool any_of(Roles other) const { return (bits_ & other.bits_) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr bool operator==(const Roles&) const = default;

 private:
  static constexpr std::uint8_t bit(Role r) {
    return static_cast<std::uint8_t>(1U << static_cast<unsigned>(r));
  }
  std::uint8_t bits_ = 0;
};

// Who may call read methods (Get, List, Watch, Version) and write ones, as Talos's machined
// rules give them.
inline constexpr Roles kReadRoles{Role::kAdmin, Role::kOperator, Role::kReader};
inline constexpr Roles kWriteRoles{Role::kAdmin};

std::string_view to_string(Role role);
// The known roles among `names` (surrounding spaces trimmed); others are ignored, as Talos keeps
// them only to log them.
Roles parse_roles(const std::vector<std::string>& names);
// Sorted names, for logs and metadata.
std::vector<std::string> role_names(Roles roles);

// Finds a caller's roles. The local socket trusts everyone (file permissions guard it); the TCP
// API reads client certificates.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual Roles roles(const grpc::ServerContextBase& ctx) const = 0;
};

// Every caller gets `roles`: Talos's maintenance mode gives os:reader to anyone who connects.
std::shared_ptr<const Authenticator> fixed_roles(Roles roles);

}  // namespace runtime::api
