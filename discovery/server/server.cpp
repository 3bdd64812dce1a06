// The gRPC server of the discovery-service: the Cluster service (service.cpp), grpc.health.v1 and
// reflection, behind our own TCP listener (connection caps), with optional TLS re-read from disk.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "discovery/server/cluster_service.h"
#include "discovery/server/periodic.h"
#include "discovery/server/service.h"
#include "discovery/server/registry.h"
#include "discovery/server/tls_stage.h"
#include "platform/grpc_listener.h"

namespace discovery::server {
namespace {

// h2c without a certificate; else TLS from `stage`, re-read by gRPC when the staged pair changes.
std::shared_ptr<grpc::ServerCredentials> credentials(const TlsStage* stage,
                                                     unsigned refresh_seconds) {
  if (stage == nullptr) return grpc::InsecureServerCredentials();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      stage->key_path(), stage->certificate_path(), refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return grpc::experimental::TlsServerCredentials(tls);
}

class GrpcServer final : public Server {
 public:
  GrpcServer(Registry& registry, const ServerOptions& options)
      : registry_(registry), service_(make_cluster_service(registry, options.service)) {
    // Both register process-wide hooks that the builder below picks up.
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    if (!options.certificate_path.empty() || !options.key_path.empty()) {
      if (options.certificate_path.empty() || options.key_path.empty()) {
        throw std::runtime_error("TLS needs both a certificate path and a key path");
      }
      tls_stage_ = std::make_unique<TlsStage>(options.certificate_path, options.key_path);
      tls_refresh_ = std::make_unique<Periodic>(
          std::chrono::seconds(std::max(1u, options.tls_refresh_seconds)),
          [this] { tls_stage_->refresh(); }, false);
    }
    grpc::ServerBuilder builder;
    listener_ = platform::add_grpc_listener(
        builder, options.address, credentials(tls_stage_.get(), options.tls_refresh_seconds),
        options.connections, "grpc");
    // Clients keep quiet watches alive with pings every max(10s, TTL/10); gRPC C++'s default
    // policy (one per 5 min, 2 strikes) would answer them with GOAWAY "too many pings".
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                               static_cast<int>(options.handshake_timeout.count()));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               static_cast<int>(options.max_connection_idle.count()));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               static_cast<int>(options.max_connection_age.count()));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(options.max_connection_age_grace.count()));
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    if (server_ == nullptr) {
      throw std::runtime_error("discovery-service: cannot start the gRPC server");
    }
    listener_->start();
  }

  ~GrpcServer() override { shutdown(); }

  int port() const override { return listener_->port(); }

  platform::ListenerCounts connection_counts() const override { return listener_->counts(); }

  void set_serving(bool serving) override {
    std::lock_guard lock(serving_mu_);
    if (stopped_) return;  // shutdown reports NOT_SERVING for good
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(serving);
  }

  void shutdown() override {
    std::call_once(shutdown_once_, [this] {
      {
        std::lock_guard lock(serving_mu_);
        stopped_ = true;
        if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(false);
      }
      service_->shutdown();
      listener_->stop();
      registry_.shutdown();
      // Watches are closed above and unary calls take milliseconds; the deadline mostly bounds
      // idle client connections, which gRPC waits for until they close or the deadline passes.
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
      server_->Wait();
    });
  }

 private:
  Registry& registry_;
  // The staged TLS pair and the thread that refreshes it; both outlive server_, whose certificate
  // provider reads the staged files. Null without TLS.
  std::unique_ptr<TlsStage> tls_stage_;
  std::unique_ptr<Periodic> tls_refresh_;
  // Outlives server_, which is declared (so destroyed) after it.
  std::unique_ptr<ClusterService> service_;
  // Hands connections to server_; stopped before it.
  std::unique_ptr<platform::GrpcListener> listener_;
  std::unique_ptr<grpc::Server> server_;
  std::once_flag shutdown_once_;
  std::mutex serving_mu_;  // orders set_serving with shutdown
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Server> start_server(Registry& registry, const ServerOptions& options) {
  return std::make_unique<GrpcServer>(registry, options);
}

}  // namespace discovery::server
