// `nodectl gen config`: a machine config with a fresh cluster ID and secret.
#pragma once

#include <filesystem>
#include <ostream>

#include "config/generate.h"

namespace nodectl {

struct GenConfigOptions {
  config::GenerateOptions config;
  std::string machine_type = "controlplane";
  std::filesystem::path identity_from;  // a config whose cluster ID and secret to reuse
  std::filesystem::path output;         // empty: stdout
  bool force = false;            // overwrite an existing output file
};

// Returns the exit code: 1 when the options do not validate or the file cannot be written.
int gen_config(const GenConfigOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace nodectl
