// Both files hold secrets: written 0600, whole or not at all (temp file + rename).
#include "nodectl/gen_config.h"

#include "nodectl/talosconfig.h"
#include "pki/x509.h"
#include "platform/private_file.h"
#include "runtime/api/roles.h"
#include "values/machine_type.h"

namespace nodectl {
namespace {

int write_output(const std::filesystem::path& output, bool force, const std::string& text,
                 std::ostream& out, std::ostream& err) {
  if (output.empty()) {
    out << text;
    return 0;
  }
  std::error_code ec;
  if (!force && std::filesystem::exists(output, ec)) {
    err << "nodectl: " << output.string() << " exists (use --force to overwrite)\n";
    return 1;
  }
  try {
    platform::write_private_file(output, text);
  } catch (const std::system_error& e) {
    err << "nodectl: " << e.what() << '\n';
    return 1;
  }
  out << "wrote " << output.string() << '\n';
  return 0;
}

// The cluster-wide settings of `from`, where the command line did not give them.
void reuse_cluster_settings(const GenConfigOptions& opts, const config::MachineConfig& from,
                            config::GenerateOptions& generate) {
  generate.identity = config::discovery_identity(from);
  generate.os_ca = from.os_ca;
  if (!opts.cluster_name_given && !from.cluster_name.empty()) {
    generate.cluster_name = from.cluster_name;
  }
  if (const auto services = config::discovery_services(from);
      !opts.discovery_endpoint_given && !services.empty()) {
    generate.discovery_endpoint = services.front().endpoint;
  }
  if (!opts.kubespan_given) generate.kubespan = from.kubespan.enabled;
}

}  // namespace

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
      const auto from = config::load_file(opts.identity_from);
      reuse_cluster_settings(opts, from, generate);
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
  return write_output(opts.output, opts.force, text, out, err);
}

int gen_talosconfig(const GenTalosconfigOptions& opts, std::ostream& out, std::ostream& err) {
  for (const auto& role : opts.roles) {
    if (runtime::api::parse_roles({role}).empty()) {
      err << "nodectl: unknown role \"" << role
          << "\" (os:admin, os:operator, os:reader, os:etcd:backup or os:impersonator)\n";
      return 1;
    }
  }
  std::string text;
  try {
    const auto cfg = config::load_file(opts.machine_config.string());
    if (!cfg.os_ca) {
      err << "nodectl: " << opts.machine_config.string()
          << " has no OS CA (machine.ca); `nodectl gen config` writes one\n";
      return 1;
    }
    const auto client =
        pki::issue({cfg.os_ca->cert_pem, cfg.os_ca->key_pem}, {.common_name = "nodectl",
                                                               .organizations = opts.roles,
                                                               .usage = pki::Usage::kClient,
                                                               .days = opts.days});
    TalosConfig talosconfig;
    talosconfig.context = opts.context.empty()
                              ? (cfg.cluster_name.empty() ? "default" : cfg.cluster_name)
                              : opts.context;
    talosconfig.contexts[talosconfig.context] = TalosContext{
        opts.endpoints, opts.nodes, cfg.os_ca->cert_pem, client.cert_pem, client.key_pem};
    text = render_talosconfig(talosconfig);
  } catch (const std::exception& e) {
    err << "nodectl: " << e.what() << '\n';
    return 1;
  }
  return write_output(opts.output, opts.force, text, out, err);
}

}  // namespace nodectl
