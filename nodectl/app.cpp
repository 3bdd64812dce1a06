// Subcommands and the connection to machined (unix socket, or TLS without verification).
#include "nodectl/app.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>

#include "nodectl/printer.h"
#include "nodectl/resolve.h"
#include "runtime/api/state_client.h"
#include "runtime/resource/definition.h"

namespace nodectl {
namespace {

namespace state = runtime::state;
using runtime::resource::Kind;
using runtime::resource::Pointer;

struct Target {
  std::string socket = kDefaultSocket;
  std::string endpoint;  // host[:port]; when set, used instead of the socket

  // The NODE column: the endpoint, or empty for the local socket.
  std::string node() const { return endpoint; }
};

struct GetOptions {
  std::string type;
  std::string id;
  std::string ns;
  std::string output = "table";
  bool watch = false;
};

// talosctl --insecure: TLS without verifying the server; port 50000 unless one is given.
std::shared_ptr<grpc::Channel> channel_for(const Target& target) {
  if (target.endpoint.empty()) {
    return grpc::CreateChannel("unix:" + target.socket, grpc::InsecureChannelCredentials());
  }
  std::string address = target.endpoint;
  const bool bracketed_v6 = address.starts_with('[');
  const auto colon = address.rfind(':');
  const bool has_port =
      bracketed_v6 ? address.find("]:") != std::string::npos : colon != std::string::npos;
  if (!has_port) address += ":50000";
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_verify_server_certs(false);
  tls.set_check_call_host(false);
  tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(32 << 20);
  return grpc::CreateCustomChannel(address, grpc::experimental::TlsCredentials(tls), args);
}

int get(const Target& target, const GetOptions& opts, std::ostream& out, std::ostream& err) {
  const Format format = parse_format(opts.output);
  auto client = runtime::api::make_state_client(channel_for(target));
  const auto definitions =
      client->list(Kind{std::string(runtime::resource::kMetaNamespace),
                        std::string(runtime::resource::kResourceDefinitionType)});
  const ResolvedType type = resolve_type(definitions, opts.type);
  const std::string ns = opts.ns.empty() ? type.default_namespace : opts.ns;
  auto printer = make_printer(format, out);
  printer->header(type, opts.watch);

  if (!opts.watch) {
    if (!opts.id.empty()) {
      auto r = client->get(Pointer{ns, type.type, opts.id});
      if (!r) {
        printer->flush();
        err << "nodectl: resource " << ns << "/" << type.type << "/" << opts.id << " not found\n";
        return 1;
      }
      printer->resource(target.node(), *r, state::EventType::kCreated);
    } else {
      for (const auto& r : client->list(Kind{ns, type.type})) {
        printer->resource(target.node(), *r, state::EventType::kCreated);
      }
    }
    printer->flush();
    return 0;
  }

  // Watch: rows before Bootstrapped are flushed together (aligned), then each batch on its own.
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  bool bootstrapped = !opts.id.empty();  // a single-resource watch has no bootstrap phase
  std::optional<std::string> failure;
  auto on_batch = [&](state::WatchBatch batch) {
    for (const auto& e : batch.events) {
      switch (e.type) {
        case state::EventType::kBootstrapped:
          bootstrapped = true;
          break;
        case state::EventType::kErrored:
          failure = e.error;
          break;
        case state::EventType::kNoop:
          break;
        default:
          if (e.resource) printer->resource(target.node(), *e.resource, e.type);
      }
    }
    if (bootstrapped || failure) printer->flush();
    if (failure) work.reset(), io.stop();
  };
  std::unique_ptr<state::Watch> watch;
  if (opts.id.empty()) {
    state::WatchKindOptions wopts;
    wopts.bootstrap_contents = true;
    watch = client->watch_kind(Kind{ns, type.type}, io.get_executor(), on_batch, wopts);
  } else {
    watch = client->watch(Pointer{ns, type.type, opts.id}, io.get_executor(), on_batch);
  }
  io.run();
  watch.reset();
  err << "nodectl: error watching resource: " << failure.value_or("stopped") << '\n';
  return 1;
}

}  // namespace

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"nodectl: query machined's resources, like talosctl get"};
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? 0 : 2;
  }
  try {
    if (*get_cmd) return get(target, get_opts, out, err);
  } catch (const std::exception& e) {
    err << "nodectl: " << e.what() << '\n';
    return 1;
  }
  return 2;
}

}  // namespace nodectl
