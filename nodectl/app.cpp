// The command line: global connection flags and one subcommand each for get, reset and gen config.
#include "nodectl/app.h"

#include <CLI/CLI.hpp>
#include <string>

#include "nodectl/gen_config.h"
#include "nodectl/get.h"
#include "nodectl/reset.h"
#include "platform/command_line.h"

namespace nodectl {

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"nodectl: query and control machined, like talosctl"};
  app.require_subcommand(1);
  Target target;
  app.add_option("--socket", target.socket, "machined's unix socket (read-write API)")
      ->capture_default_str();
  app.add_option("-e,--endpoint", target.endpoint,
                 "machined's TLS API as host[:port] (port 50000 by default); the certificate "
                 "is not verified, like talosctl --insecure");

  GetOptions get_opts;
  auto* get_cmd = app.add_subcommand("get", "get resources of a type, or one by id");
  get_cmd->add_option("type", get_opts.type, "resource type, alias or definition id")->required();
  get_cmd->add_option("id", get_opts.id, "resource id");
  get_cmd->add_option("--namespace", get_opts.ns,
                      "namespace (default: the type's default namespace)");
  get_cmd->add_option("-o,--output", get_opts.output, "table, yaml or json")->capture_default_str();
  get_cmd->add_flag("-w,--watch", get_opts.watch, "print changes as they happen");

  ResetOptions reset_opts;
  int reset_timeout = static_cast<int>(reset_opts.timeout.count());
  auto* reset_cmd = app.add_subcommand(
      "reset",
      "leave the cluster (delete the affiliate from every discovery service), wipe the node's "
      "identity and stop machined; only on the local socket");
  reset_cmd->add_flag("--graceful{true}", reset_opts.graceful,
                      "wait for the discovery services to acknowledge the delete "
                      "(--graceful=false: go at once, records expire by TTL)")
      ->capture_default_str();
  reset_cmd->add_flag("--wait{true}", reset_opts.wait, "wait until machined has stopped")
      ->capture_default_str();
  reset_cmd->add_option("--timeout", reset_timeout, "seconds to wait for machined to stop")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  GenConfigOptions gen_opts;
  auto* gen_cmd = app.add_subcommand("gen", "generate files");
  gen_cmd->require_subcommand(1);
  auto* gen_config_cmd = gen_cmd->add_subcommand(
      "config", "a machine config with a fresh cluster ID and secret (0600 when written to a file)");
  auto& g = gen_opts.config;
  gen_config_cmd->add_option("--cluster-name", g.cluster_name, "cluster name")
      ->capture_default_str();
  gen_config_cmd->add_option("--discovery-endpoint", g.discovery_endpoint,
                             "discovery service URL (http:// for plaintext)")
      ->capture_default_str();
  gen_config_cmd->add_option("--type", gen_opts.machine_type, "controlplane, worker or init")
      ->capture_default_str();
  gen_config_cmd->add_option("--hostname", g.hostname, "hostname (default: the host's)");
  gen_config_cmd->add_option("--nodename", g.nodename, "node name (default: the hostname)");
  gen_config_cmd->add_option("--address", g.addresses,
                             "node address to advertise, repeatable (default: the host's)");
  gen_config_cmd->add_flag("--kubespan", g.kubespan, "enable KubeSpan");
  gen_config_cmd->add_option("--hardware-address", g.hardware_address,
                             "MAC for the KubeSpan address (default: the host's first)");
  gen_config_cmd->add_option("--identity-from", gen_opts.identity_from,
                             "reuse the cluster ID and secret of this config (another node of "
                             "the same cluster) instead of fresh ones");
  gen_config_cmd->add_option("-o,--output", gen_opts.output, "write to this file, not stdout");
  gen_config_cmd->add_flag("--force", gen_opts.force, "overwrite an existing output file");

  if (auto exit_code = platform::parse_command_line(app, argc, argv, out, err)) return *exit_code;
  reset_opts.timeout = std::chrono::seconds(reset_timeout);
  try {
    if (*get_cmd) return get(target, get_opts, out, err);
    if (*reset_cmd) return reset(target, reset_opts, out, err);
    if (*gen_config_cmd) return gen_config(gen_opts, out, err);
  } catch (const std::exception& e) {
    err << "nodectl: " << e.what() << '\n';
    return 1;
  }
  return 2;
}

}  // namespace nodectl
