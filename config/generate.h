// `nodectl gen config`: a fresh machine config with a new cluster identity, in the multi-document
// form Talos 1.14+ generates.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/machine_config.h"

namespace config {

struct GenerateOptions {
  std::string cluster_name = "demo";
  std::string discovery_endpoint = std::string(kDefaultDiscoveryEndpoint);
  values::MachineType machine_type = talos::resource::definitions::enums::TYPE_CONTROL_PLANE;
  std::string hostname;                // empty: not written (the host's name is used)
  std::string nodename;                // HostConfig extension; empty: not written
  std::vector<std::string> addresses;  // HostConfig extension; empty: not written
  std::string hardware_address;  // HostConfig extension (KubeSpan address); empty: not written
  bool kubespan = false;         // machine.network.kubespan.enabled
  std::optional<DiscoveryIdentity> identity;  // null: a fresh one
  std::optional<OsCa> os_ca;                  // null: a fresh one
};

// A new OS CA as Talos generates it (Ed25519, organization "talos", ten years).
OsCa generate_os_ca();

// 32 random bytes each for the cluster ID and secret, base64 standard encoding.
DiscoveryIdentity generate_identity();

// The config text. It always parses; throws Error when the options do not validate (bad endpoint,
// bad address) with the same messages parse() gives.
std::string generate(const GenerateOptions& opts);

}  // namespace config
