// What KubeSpan's identity is made of, as Talos derives it: a WireGuard key pair kept in the state
// directory, and the KubeSpan address from the cluster ID and a MAC.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/common.pb.h"

namespace controllers::kubespan {

inline constexpr std::string_view kIdentityFile = "kubespan-identity.yaml";

// Keys as WireGuard prints them (`wg genkey`, `wg pubkey`): standard base64 of 32 bytes.
struct WireguardKey {
  std::string private_key;
  std::string public_key;
};

// A fresh X25519 key pair, the private key clamped as WireGuard stores it.
WireguardKey generate_wireguard_key();
// The public key of a base64 private key. Throws std::invalid_argument when it is not base64 of
// 32 bytes.
std::string wireguard_public_key(std::string_view private_key);

// Loads <dir>/kubespan-identity.yaml, or creates it (mode 0600, written atomically) when it does
// not exist. A file that exists but is empty, unreadable or not a valid key is an error naming
// the file (std::runtime_error): the key is never replaced behind the operator's back, since peers
// know the node by it.
WireguardKey load_or_create_wireguard_key(const std::filesystem::path& dir);

struct KubeSpanAddress {
  common::NetIPPrefix subnet;   // the cluster's KubeSpan ULA /64
  common::NetIPPrefix address;  // EUI-64 of the MAC in that subnet, /128
};

// Subnet = ULAPrefix(cluster_id, 0x02): sha256(cluster_id)'s last 16 bytes with byte 0 = 0xfd and
// byte 7 = 0x02, masked to /64. Address = subnet + modified EUI-64 of `mac` (6 bytes). Throws
// std::invalid_argument when mac is not 6 bytes.
KubeSpanAddress kubespan_address(std::string_view cluster_id, std::string_view mac);

}  // namespace controllers::kubespan
