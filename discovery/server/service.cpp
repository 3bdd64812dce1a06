// Cluster service handlers (gRPC callback API) and the server wrapper. Handlers run on gRPC
// threads and only take the State's short internal locks, never across I/O.
#include "discovery/server/service.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <stdexcept>

#include "discovery/server/state.h"
#include "discovery/server/validate.h"
#include "discovery/server.grpc.pb.h"

namespace discovery::server {
namespace {

namespace pb = ::sidero::discovery::server;

grpc::Status invalid(std::string_view message) {
  return {grpc::StatusCode::INVALID_ARGUMENT, std::string(message)};
}

grpc::Status status_of(UpdateStatus status) {
  switch (status) {
    case UpdateStatus::kOk:
      return grpc::Status::OK;
    case UpdateStatus::kTooManyAffiliates:
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, "too many affiliates in the cluster"};
    case UpdateStatus::kTooManyEndpoints:
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, "too many endpoints in the affiliate"};
  }
  return {grpc::StatusCode::INTERNAL, "unknown update status"};
}

void fill(pb::Affiliate& out, const AffiliateRecord& record) {
  out.set_id(record.id);
  out.set_data(record.data);
  for (const auto& endpoint : record.endpoints) out.add_endpoints(endpoint);
}

void log_rpc(std::string_view method, std::string_view cluster_id, const grpc::Status& status) {
  spdlog::debug("rpc method={} cluster={} code={} error=\"{}\"", method, id_tag(cluster_id),
                static_cast<int>(status.error_code()), status.error_message());
}

// Streams one Watch: the snapshot, then one message per change. It owns itself from start to
// OnDone; the State's wake-up only holds a weak reference. mu_ guards the flags below; msg_ is
// touched only by whoever set in_flight_.
class WatchReactor final : public grpc::ServerWriteReactor<pb::WatchResponse>,
                           public std::enable_shared_from_this<WatchReactor> {
 public:
  static grpc::ServerWriteReactor<pb::WatchResponse>* start(State& state,
                                                            std::string_view cluster_id) {
    auto reactor = std::make_shared<WatchReactor>();
    reactor->self_ = reactor;
    if (auto error = check_cluster_id(cluster_id)) {
      reactor->finished_ = true;
      reactor->Finish(invalid(*error));
      return reactor.get();
    }
    std::weak_ptr<WatchReactor> weak = reactor;
    WatchStart start = state.watch(cluster_id, [weak] {
      if (auto self = weak.lock()) self->pump();
    });
    reactor->watch_ = std::move(start.watch);
    // Sent even when empty, so clients know the snapshot arrived.
    for (const auto& affiliate : start.snapshot) fill(*reactor->msg_.add_affiliates(), *affiliate);
    reactor->in_flight_ = true;
    reactor->StartWrite(&reactor->msg_);
    return reactor.get();
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      in_flight_ = false;
      // A failed write means the peer is gone; nothing more can be delivered.
      if ((!ok || cancelled_) && !finished_) {
        finished_ = true;
        finish = true;
      }
    }
    if (finish) {
      Finish(grpc::Status::OK);
    } else {
      pump();
    }
  }

  void OnCancel() override {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      if (in_flight_ || finished_) return;  // OnWriteDone finishes
      finished_ = true;
    }
    Finish(grpc::Status::OK);
  }

  void OnDone() override {
    watch_.reset();
    self_.reset();  // may destroy this; nothing may follow
  }

 private:
  // Sends the next pending change if no write is in flight.
  void pump() {
    bool close = false;
    {
      std::lock_guard lock(mu_);
      if (in_flight_ || finished_) return;
      Change change;
      switch (watch_->next(change)) {
        case Watch::Poll::kIdle:
          return;
        case Watch::Poll::kClosed:
          // Server shutdown ends watches with OK, as upstream.
          finished_ = true;
          close = true;
          break;
        case Watch::Poll::kChange:
          msg_.Clear();
          if (change.affiliate != nullptr) {
            fill(*msg_.add_affiliates(), *change.affiliate);
          } else {
            msg_.add_affiliates()->set_id(change.id);
            msg_.set_deleted(true);
          }
          in_flight_ = true;
          break;
      }
    }
    if (close) {
      Finish(grpc::Status::OK);
    } else {
      StartWrite(&msg_);
    }
  }

  std::mutex mu_;
  bool in_flight_ = false;
  bool cancelled_ = false;
  bool finished_ = false;  // Finish was called or is about to be; nothing more may start
  pb::WatchResponse msg_;
  std::unique_ptr<Watch> watch_;  // set before the first write; reset in OnDone
  std::shared_ptr<WatchReactor> self_;
};

class ClusterService final : public pb::Cluster::CallbackService {
 public:
  ClusterService(State& state, ServiceOptions options)
      : state_(state), options_(std::move(options)) {}

  grpc::ServerUnaryReactor* Hello(grpc::CallbackServerContext* ctx, const pb::HelloRequest* req,
                                  pb::HelloResponse* resp) override {
    grpc::Status status = grpc::Status::OK;
    if (auto error = check_cluster_id(req->cluster_id())) {
      status = invalid(*error);
    } else {
      if (!options_.disable_client_ip_reporting) resp->set_client_ip(peer_ip_bytes(ctx->peer()));
      if (!options_.redirect_endpoint.empty()) {
        resp->mutable_redirect()->set_endpoint(options_.redirect_endpoint);
      }
    }
    return finish(ctx, "Hello", req->cluster_id(), status);
  }

  grpc::ServerUnaryReactor* AffiliateUpdate(grpc::CallbackServerContext* ctx,
                                            const pb::AffiliateUpdateRequest* req,
                                            pb::AffiliateUpdateResponse*) override {
    return finish(ctx, "AffiliateUpdate", req->cluster_id(), apply_update(*req));
  }

  grpc::ServerUnaryReactor* AffiliateDelete(grpc::CallbackServerContext* ctx,
                                            const pb::AffiliateDeleteRequest* req,
                                            pb::AffiliateDeleteResponse*) override {
    grpc::Status status = grpc::Status::OK;
    if (auto error = check_cluster_id(req->cluster_id())) {
      status = invalid(*error);
    } else if (auto error = check_affiliate_id(req->affiliate_id())) {
      status = invalid(*error);
    } else {
      state_.remove(req->cluster_id(), req->affiliate_id());
    }
    return finish(ctx, "AffiliateDelete", req->cluster_id(), status);
  }

  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const pb::ListRequest* req,
                                 pb::ListResponse* resp) override {
    grpc::Status status = grpc::Status::OK;
    if (auto error = check_cluster_id(req->cluster_id())) {
      status = invalid(*error);
    } else {
      for (const auto& affiliate : state_.list(req->cluster_id())) {
        fill(*resp->add_affiliates(), *affiliate);
      }
    }
    return finish(ctx, "List", req->cluster_id(), status);
  }

  grpc::ServerWriteReactor<pb::WatchResponse>* Watch(grpc::CallbackServerContext*,
                                                     const pb::WatchRequest* req) override {
    spdlog::debug("rpc method=Watch cluster={}", id_tag(req->cluster_id()));
    return WatchReactor::start(state_, req->cluster_id());
  }

 private:
  grpc::Status apply_update(const pb::AffiliateUpdateRequest& req) {
    server::AffiliateUpdate request{req.cluster_id(), req.affiliate_id(), req.affiliate_data(), {},
                                    {}};
    request.endpoints.assign(req.affiliate_endpoints().begin(), req.affiliate_endpoints().end());
    // Same order as upstream: cluster, affiliate, data, endpoints, ttl.
    for (auto error :
         {check_cluster_id(request.cluster_id), check_affiliate_id(request.affiliate_id),
          check_affiliate_data(request.data), check_endpoints(request.endpoints)}) {
      if (error) return invalid(*error);
    }
    auto ttl = ttl_from_duration(req.ttl().seconds(), req.ttl().nanos());
    if (!ttl) return invalid(kTtlTooLarge);
    request.ttl = *ttl;
    return status_of(state_.update(request));
  }

  static grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* ctx,
                                          std::string_view method, std::string_view cluster_id,
                                          const grpc::Status& status) {
    log_rpc(method, cluster_id, status);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  State& state_;
  const ServiceOptions options_;
};

class GrpcServer final : public Server {
 public:
  GrpcServer(State& state, const ServerOptions& options)
      : state_(state), service_(state, options.service) {
    std::string address = options.address;
    if (address.starts_with(':')) address = "[::]" + address;
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      throw std::runtime_error("discovery-service: cannot listen on " + options.address);
    }
  }

  ~GrpcServer() override { shutdown(); }

  int port() const override { return port_; }

  void shutdown() override {
    std::call_once(shutdown_once_, [this] {
      state_.close_watches();
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_->Wait();
    });
  }

 private:
  State& state_;
  ClusterService service_;  // outlives server_, which is declared (so destroyed) after it
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::once_flag shutdown_once_;
};

}  // namespace

std::unique_ptr<Server> start_server(State& state, const ServerOptions& options) {
  return std::make_unique<GrpcServer>(state, options);
}

std::string peer_ip_bytes(std::string_view peer) {
  std::string host;
  if (peer.starts_with("ipv4:")) {
    peer.remove_prefix(5);
    host = std::string(peer.substr(0, peer.rfind(':')));
  } else if (peer.starts_with("ipv6:")) {
    peer.remove_prefix(5);
    // Brackets may arrive URI-escaped depending on the gRPC version.
    std::string text(peer);
    for (auto [from, to] : {std::pair{"%5B", "["}, std::pair{"%5D", "]"}}) {
      for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from)) {
        text.replace(pos, 3, to);
      }
    }
    if (!text.starts_with('[') || text.find(']') == std::string::npos) return {};
    host = text.substr(1, text.find(']') - 1);
    if (auto zone = host.find('%'); zone != std::string::npos) host.resize(zone);
  } else {
    return {};
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) return {reinterpret_cast<char*>(buf), 4};
  if (inet_pton(AF_INET6, host.c_str(), buf) != 1) return {};
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(std::begin(kMapped), std::end(kMapped), buf)) {
    return {reinterpret_cast<char*>(buf + 12), 4};
  }
  return {reinterpret_cast<char*>(buf), 16};
}

std::string id_tag(std::string_view id) {
  // FNV-1a: enough to tell clusters apart in logs without revealing the ID (the only credential).
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : id) hash = (hash ^ c) * 16777619u;
  return fmt::format("{:08x}", hash);
}

}  // namespace discovery::server
