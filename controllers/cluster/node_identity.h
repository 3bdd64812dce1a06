// The node's stable identity as Talos keeps it: a random node ID in <state dir>/node-identity.yaml,
// published as Identity cluster/local by the node identity controller.
#pragma once

#include <filesystem>
#include <string>

namespace controllers::cluster {

inline constexpr char kNodeIdentityFile[] = "node-identity.yaml";

// A fresh node ID: 32 random bytes in jxskiss base62 (43 to 45 characters).
std::string generate_node_id();

// The ID in dir/node-identity.yaml; when the file is absent, a new ID written there (mode
// 0600, never overwriting). An empty, unreadable or corrupt file is an error naming it, and the
// file is left as it is.
std::string load_or_create_node_id(const std::filesystem::path& dir);

// Talos's /etc/machine-id for a node ID: the first 16 decoded bytes in lowercase hex.
std::string machine_id(const std::string& node_id);

}  // namespace controllers::cluster
