// The command line: global connection flags and one subcommand each for get, reset, gen config
// and gen talosconfig.
#include "nodectl/app.h"

#include <CLI/CLI.hpp>
#include <string>

#include "nodectl/gen_config.h"
#include "nodectl/get.h"
#include "nodectl/reset.h"
#include "nodectl/version.h"
#include "platform/command_line.h"

namespace nodectl {

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"nodectl: query and control machined, like talosctl"};
  app.require_subcommand(1);
  ConnectionFlags connection;
  app.add_option("--socket", connection.socket,
                 "machined's unix socket (read-write API), used when no endpoint, node or "
                 "talosconfig is given")
      ->capture_default_str();
  app.add_option("--talosconfig", connection.talosconfig,
                 "client config with the OS CA and a client certificate (default: $TALOSCONFIG, "
                 "else ~/.talos/config)");
  app.add_option("--context", connection.context, "talosconfig context (default: its current)");
  app.add_option("-e,--endpoints", connection.endpoints,
                 "machined's API as host[:port] (port 50000 by default); replaces the "
                 "talosconfig's")
      ->delimiter(',');
  app.add_option("-n,--nodes", connection.nodes,
                 "the nodes to query, host[:port], comma-separated; replaces the talosconfig's")
      ->delimiter(',');
  app.add_flag("-i,--insecure", connection.insecure,
               "no client certificate and no check of the node's: reads non-sensitive resources "
               "of a node that allows it (machined --api-insecure), like talosctl --insecure");

  GetOptions get_opts;
  auto* get_cmd = app.add_subcommand("get", "get resources of a type, or one by id");
  get_cmd->add_option("type", get_opts.type, "resource type, alias or definition id")->required();
  get_cmd->add_option("id", get_opts.id, "resource id");
  get_cmd->add_option("--namespace", get_opts.ns,
                      "namespace (default: the type's default namespace)");
  get_cmd->add_option("-o,--output", get_opts.output, "table, yaml, json or jsonpath=TEMPLATE")
      ->capture_default_str();
  get_cmd->add_flag("-w,--watch", get_opts.watch, "print changes as they happen");

  VersionOptions version_opts;
  auto* version_cmd = app.add_subcommand("version", "nodectl's version and the node's");
  version_cmd->add_flag("--client", version_opts.client_only, "nodectl's version only");
  version_cmd->add_flag("--short", version_opts.short_version, "nodectl's version in one line");

  ResetOptions reset_opts;
  int reset_timeout = static_cast<int>(reset_opts.timeout.count());
  auto* reset_cmd = app.add_subcommand(
      "reset",
      "leave the cluster (delete the affiliate from every discovery service), wipe the node's "
      "identity and stop machined; only on the local socket");
  reset_cmd
      ->add_flag("--graceful{true}", reset_opts.graceful,
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
      "config",
      "a machine config with a fresh cluster ID and secret (0600 when written to a file)");
  auto& g = gen_opts.config;
  auto* cluster_name = gen_config_cmd->add_option("--cluster-name", g.cluster_name, "cluster name")
                           ->capture_default_str();
  auto* discovery_endpoint = gen_config_cmd
                                 ->add_option("--discovery-endpoint", g.discovery_endpoint,
                                              "discovery service URL (http:// for plaintext)")
                                 ->capture_default_str();
  gen_config_cmd->add_option("--type", gen_opts.machine_type, "controlplane, worker or init")
      ->capture_default_str();
  gen_config_cmd->add_option("--hostname", g.hostname, "hostname (default: the host's)");
  gen_config_cmd->add_option("--nodename", g.nodename, "node name (default: the hostname)");
  gen_config_cmd->add_option("--address", g.addresses,
                             "node address to advertise, repeatable (default: the host's)");
  auto* kubespan = gen_config_cmd->add_flag("--kubespan", g.kubespan, "enable KubeSpan");
  gen_config_cmd->add_option("--hardware-address", g.hardware_address,
                             "MAC for the KubeSpan address (default: the host's first)");
  gen_config_cmd->add_option("--identity-from", gen_opts.identity_from,
                             "another node's config of the same cluster: reuse its cluster ID, "
                             "secret and OS CA, and its cluster name, discovery endpoint and "
                             "KubeSpan setting unless given");
  gen_config_cmd->add_option("-o,--output", gen_opts.output, "write to this file, not stdout");
  gen_config_cmd->add_flag("--force", gen_opts.force, "overwrite an existing output file");

  GenTalosconfigOptions talos_opts;
  auto* gen_talosconfig_cmd = gen_cmd->add_subcommand(
      "talosconfig",
      "a client config (talosctl's format) with a certificate from the cluster's OS CA for the "
      "given roles (0600 when written to a file)");
  gen_talosconfig_cmd
      ->add_option("-c,--config", talos_opts.machine_config,
                   "a machine config of the cluster, with its OS CA (machine.ca)")
      ->required();
  gen_talosconfig_cmd
      ->add_option("--role", talos_opts.roles,
                   "os:admin, os:operator or os:reader (repeatable; Talos's roles)")
      ->delimiter(',')
      ->capture_default_str();
  gen_talosconfig_cmd->add_option("--endpoints", talos_opts.endpoints, "endpoints, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  gen_talosconfig_cmd->add_option("--nodes", talos_opts.nodes, "default nodes, comma-separated")
      ->delimiter(',');
  gen_talosconfig_cmd->add_option("--context", talos_opts.context,
                                  "context name (default: the cluster name)");
  gen_talosconfig_cmd->add_option("--days", talos_opts.days, "client certificate validity")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  gen_talosconfig_cmd->add_option("-o,--output", talos_opts.output,
                                  "write to this file, not stdout");
  gen_talosconfig_cmd->add_flag("--force", talos_opts.force, "overwrite an existing output file");

  if (auto exit_code = platform::parse_command_line(app, argc, argv, out, err)) return *exit_code;
  reset_opts.timeout = std::chrono::seconds(reset_timeout);
  gen_opts.cluster_name_given = cluster_name->count() > 0;
  gen_opts.discovery_endpoint_given = discovery_endpoint->count() > 0;
  gen_opts.kubespan_given = kubespan->count() > 0;
  try {
    if (*gen_config_cmd) return gen_config(gen_opts, out, err);
    if (*gen_talosconfig_cmd) return gen_talosconfig(talos_opts, out, err);
    if (*version_cmd && version_opts.client_only) return version({}, version_opts, out, err);
    const std::vector<Target> targets = resolve_targets(connection);
    if (*get_cmd) return get(targets, get_opts, out, err);
    if (*version_cmd) return version(targets, version_opts, out, err);
    if (*reset_cmd) {
      if (targets.size() > 1) throw std::runtime_error("reset is for one node: the local socket");
      return reset(targets.front(), reset_opts, out, err);
    }
  } catch (const std::exception& e) {
    err << "nodectl: " << e.what() << '\n';
    return 1;
  }
  return 2;
}

}  // namespace nodectl
