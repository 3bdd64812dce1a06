// machine.MachineService: Version, the call talosctl makes before anything else (a Talos API tag
// that talosctl accepts and machined's own product version beside it), and Reset.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "platform/build_info.h"
#include "runtime/api/roles.h"

namespace grpc {
class Service;
}

namespace machined {

struct VersionInfo {
  std::string tag = platform::kTalosApiTag;
  std::string product;    // machined's own version, reported in the `sha` field
  std::string built;      // build date
  std::string toolchain;  // compiler, in the `go_version` field
  std::string os = "linux";
  std::string arch;  // in Go's spelling: amd64, arm64
  std::string platform = "tds";
  std::string mode = "metal";
  bool rbac = false;  // the API checks roles (features.rbac)
};

// The running binary's VersionInfo (product version, compiler, architecture).
VersionInfo build_version_info();

// A reset as machined can do it: no reboot and no disks, only leaving the cluster and wiping the
// state dir.
struct ResetRequest {
  bool graceful = true;  // leave every discovery service (and wait for it) before wiping
};

// Starts a reset and returns at once: an empty string when it started, else why it was refused.
using ResetHandler = std::function<std::string(const ResetRequest&)>;

// `authenticator` finds the callers' roles (Version: os:admin, os:operator or os:reader; Reset:
// os:admin); null: every caller has every role (the local socket). `reset` null: Reset is refused
// with PERMISSION_DENIED (the TCP API).
std::unique_ptr<grpc::Service> make_machine_service(
    VersionInfo info, std::shared_ptr<const runtime::api::Authenticator> authenticator,
    ResetHandler reset = nullptr);

}  // namespace machined
