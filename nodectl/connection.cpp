#include "nodectl/connection.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/client_interceptor.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include "nodectl/talosconfig.h"
#include "pki/x509.h"

namespace nodectl {
namespace {

std::string with_default_port(std::string address) {
  const bool bracketed_v6 = address.starts_with('[');
  const auto colon = address.rfind(':');
  const bool has_port =
      bracketed_v6 ? address.find("]:") != std::string::npos : colon != std::string::npos;
  if (!has_port) address += ":50000";
  return address;
}

// Adds `node: <node>` to every call's metadata, as talosctl does.
class NodeMetadata final : public grpc::experimental::Interceptor {
 public:
  NodeMetadata(grpc::experimental::ClientRpcInfo* /*info*/, std::string node)
      : node_(std::move(node)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("node", node_);
    }
    methods->Proceed();
  }

 private:
  const std::string node_;
};

class NodeMetadataFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit NodeMetadataFactory(std::string node) : node_(std::move(node)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new NodeMetadata(info, node_);  // gRPC owns interceptors and deletes them
  }

 private:
  const std::string node_;
};

// A channel to `endpoint` with the target's credentials and node metadata.
std::shared_ptr<grpc::Channel> dial(const Target& target, const std::string& endpoint) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(32 << 20);
  const std::string address = with_default_port(endpoint);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (target.credentials) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = target.credentials->ca_pem;
    ssl.pem_cert_chain = target.credentials->crt_pem;
    ssl.pem_private_key = target.credentials->key_pem;
    credentials = grpc::SslCredentials(ssl);
  } else {
    grpc::experimental::TlsChannelCredentialsOptions tls;
    tls.set_verify_server_certs(false);
    tls.set_check_call_host(false);
    tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    credentials = grpc::experimental::TlsCredentials(tls);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!target.target_node.empty()) {
    interceptors.push_back(std::make_unique<NodeMetadataFactory>(target.target_node));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, credentials, args,
                                                                 std::move(interceptors));
}

// Whether the channel gets a working connection (TCP and TLS) within 5 s. A refused connection or
// a failed handshake is a transient failure at once, so a dead endpoint costs no wait.
bool connects(grpc::Channel& channel) {
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(5);
  for (auto state = channel.GetState(true); state != GRPC_CHANNEL_READY;
       state = channel.GetState(true)) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return false;
    if (!channel.WaitForStateChange(state, deadline)) return false;
  }
  return true;
}

}  // namespace

std::vector<Target> resolve_targets(const ConnectionFlags& flags) {
  Target base;
  base.socket = flags.socket;
  std::vector<Target> targets;
  if (flags.insecure) {
    // As talosctl --insecure: each node is its own endpoint.
    for (const auto& node : flags.nodes.empty() ? flags.endpoints : flags.nodes) {
      targets.push_back(base);
      targets.back().endpoint = node;
    }
    if (targets.empty()) {
      throw std::runtime_error("--insecure needs the node to read: -n NODE (or -e ENDPOINT)");
    }
    return targets;
  }
  const char* env = std::getenv("TALOSCONFIG");
  const bool named = !flags.talosconfig.empty() || (env != nullptr && *env != '\0');
  if (!named && flags.endpoints.empty() && flags.nodes.empty()) return {base};

  const auto path = flags.talosconfig.empty() ? default_talosconfig_path() : flags.talosconfig;
  if (path.empty() || !std::filesystem::exists(path)) {
    throw std::runtime_error(
        "no talosconfig at " + (path.empty() ? std::string("~/.talos/config") : path.string()) +
        ": give one with --talosconfig (`nodectl gen talosconfig` writes one), or read "
        "non-sensitive resources without a client certificate with --insecure");
  }
  const TalosConfig cfg = load_talosconfig(path);
  const std::string name = flags.context.empty() ? cfg.context : flags.context;
  const auto it = cfg.contexts.find(name);
  if (it == cfg.contexts.end()) {
    throw std::runtime_error("talosconfig " + path.string() + ": context \"" + name +
                             "\" is not defined");
  }
  const TalosContext& ctx = it->second;
  if (ctx.ca_pem.empty() || ctx.crt_pem.empty() || ctx.key_pem.empty()) {
    throw std::runtime_error("talosconfig " + path.string() + ": context \"" + name +
                             "\" needs ca, crt and key");
  }
  // Checked here so that a broken key is named, not a failed handshake; Talos's own key label
  // becomes the standard one gRPC reads.
  auto pair = pki::check_key_pair({ctx.crt_pem, ctx.key_pem},
                                  "talosconfig " + path.string() + " context \"" + name + "\"");
  base.credentials = Credentials{ctx.ca_pem, std::move(pair.cert_pem), std::move(pair.key_pem)};

  const auto nodes = flags.nodes.empty() ? ctx.nodes : flags.nodes;
  const auto endpoints = flags.endpoints.empty() ? ctx.endpoints : flags.endpoints;
  if (nodes.empty()) {
    // No node named: each endpoint answers for itself.
    for (const auto& endpoint : endpoints) {
      targets.push_back(base);
      targets.back().endpoint = endpoint;
    }
  }
  for (const auto& node : nodes) {
    targets.push_back(base);
    Target& target = targets.back();
    if (endpoints.empty()) {
      target.endpoint = node;
      continue;
    }
    target.endpoint = endpoints.front();
    target.fallback_endpoints.assign(endpoints.begin() + 1, endpoints.end());
    if (target.endpoint != node || !target.fallback_endpoints.empty()) target.target_node = node;
  }
  if (targets.empty()) {
    throw std::runtime_error("talosconfig " + path.string() + ": context \"" + name +
                             "\" has no endpoints or nodes, and none was given with -e or -n");
  }
  return targets;
}

std::shared_ptr<grpc::Channel> channel_for(const Target& target) {
  if (target.endpoint.empty()) {
    return grpc::CreateChannel("unix:" + target.socket, grpc::InsecureChannelCredentials());
  }
  auto first = dial(target, target.endpoint);
  if (target.fallback_endpoints.empty()) return first;
  if (connects(*first)) return first;
  for (const auto& endpoint : target.fallback_endpoints) {
    auto channel = dial(target, endpoint);
    if (connects(*channel)) return channel;
  }
  return first;
}

}  // namespace nodectl
