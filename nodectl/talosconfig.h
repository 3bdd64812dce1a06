// talosctl's client config (~/.talos/config): named contexts, each with endpoints, nodes, the OS
// CA and a client certificate and key (base64 of PEM in the file).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nodectl {

struct TalosContext {
  std::vector<std::string> endpoints;
  std::vector<std::string> nodes;
  std::string ca_pem;
  std::string crt_pem;
  std::string key_pem;
};

struct TalosConfig {
  std::string context;  // the current one
  std::map<std::string, TalosContext> contexts;
};

// Parses the YAML; `source` names it in errors. Throws std::runtime_error naming the key that is
// wrong (not base64, not a list, ...).
TalosConfig parse_talosconfig(const std::string& yaml, const std::string& source);
// The file; at most 1 MiB. Throws std::runtime_error.
TalosConfig load_talosconfig(const std::filesystem::path& path);
// The YAML text, in talosctl's layout.
std::string render_talosconfig(const TalosConfig& config);

// Where talosctl looks: $TALOSCONFIG, else ~/.talos/config; empty when neither can be named.
std::filesystem::path default_talosconfig_path();

}  // namespace nodectl
