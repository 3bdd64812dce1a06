// `nodectl gen config`: a machine config with a fresh cluster ID, secret and OS CA (or another
// node's, with --identity-from). `nodectl gen talosconfig`: a client config with a certificate
// from that OS CA for the given roles.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "config/generate.h"

namespace nodectl {

struct GenConfigOptions {
  config::GenerateOptions config;
  std::string machine_type = "controlplane";
  // A config of the same cluster whose cluster-wide settings to reuse: cluster ID and secret, OS
  // CA, cluster name, discovery endpoint and KubeSpan (each unless given on the command line).
  std::filesystem::path identity_from;
  bool cluster_name_given = false;
  bool discovery_endpoint_given = false;
  bool kubespan_given = false;
  std::filesystem::path output;  // empty: stdout
  bool force = false;            // overwrite an existing output file
};

// Returns the exit code: 1 when the options do not validate or the file cannot be written.
int gen_config(const GenConfigOptions& opts, std::ostream& out, std::ostream& err);

struct GenTalosconfigOptions {
  std::filesystem::path machine_config;        // holds machine.ca (key included)
  std::vector<std::string> roles{"os:admin"};  // the certificate's Organization
  std::vector<std::string> endpoints{"127.0.0.1"};
  std::vector<std::string> nodes;
  std::string context;  // empty: the config's cluster name
  int days = 365;
  std::filesystem::path output;  // empty: stdout
  bool force = false;
};

int gen_talosconfig(const GenTalosconfigOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace nodectl
