// The config holds the cluster secret: written 0600, whole or not at all (temp file + rename).
#include "nodectl/gen_config.h"

#include "platform/private_file.h"
#include "values/machine_type.h"

namespace nodectl {

int gen_config(const GenConfigOptions& opts, std::ostream& out, std::ostream& err) {
  config::GenerateOptions generate = opts.config;
  const auto type = values::parse_machine_type(opts.machine_type);
  if (!type) {
    err << "nodectl: unknown machine type \"" << opts.machine_type
        << "\" (controlplane, worker or init)\n";
    return 1;
  }
  generate.machine_type = *type;
  std::string text;
  try {
    if (!opts.identity_from.empty()) {
      generate.identity = config::discovery_identity(config::load_file(opts.identity_from));
      if (!generate.identity) {
        err << "nodectl: " << opts.identity_from.string() << " has no cluster ID and secret\n";
        return 1;
      }
    }
    text = config::generate(generate);
  } catch (const std::exception& e) {
    err << "nodectl: " << e.what() << '\n';
    return 1;
  }
  if (opts.output.empty()) {
    out << text;
    return 0;
  }
  std::error_code ec;
  if (!opts.force && std::filesystem::exists(opts.output, ec)) {
    err << "nodectl: " << opts.output.string() << " exists (use --force to overwrite)\n";
    return 1;
  }
  try {
    platform::write_private_file(opts.output, text);
  } catch (const std::system_error& e) {
    err << "nodectl: " << e.what() << '\n';
    return 1;
  }
  out << "wrote " << opts.output.string() << '\n';
  return 0;
}

}  // namespace nodectl
