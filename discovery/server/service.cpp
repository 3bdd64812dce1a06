// Cluster service handlers (gRPC callback API); server.cpp hosts them. Handlers run on gRPC
// threads and only take short internal locks (State, limiter, metrics), never across I/O. A call
// that must wait for its rate-limit token is resumed by a gRPC alarm, so no thread blocks.
#include "discovery/server/service.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "discovery/server.grpc.pb.h"
#include "discovery/server/cluster_service.h"
#include "discovery/server/metrics.h"
#include "discovery/server/periodic.h"
#include "discovery/server/rate_limit.h"
#include "discovery/server/registry.h"
#include "discovery/server/validate.h"
#include "discovery/server/watch_slots.h"

namespace discovery::server {
namespace {

namespace pb = ::sidero::discovery::server;
using Steady = std::chrono::steady_clock;

grpc::Status invalid(std::string_view message) {
  return {grpc::StatusCode::INVALID_ARGUMENT, std::string(message)};
}

// Past --max-clusters: an update or watch that would create a cluster. Talos clients retry.
const grpc::Status kTooManyClusters{grpc::StatusCode::RESOURCE_EXHAUSTED,
                                    "too many clusters on this server"};

grpc::Status status_of(UpdateStatus status) {
  switch (status) {
    case UpdateStatus::kOk:
      return grpc::Status::OK;
    case UpdateStatus::kUnavailable:
      // Talos clients retry UNAVAILABLE.
      return {grpc::StatusCode::UNAVAILABLE, "discovery store unavailable, try again"};
    case UpdateStatus::kTooManyClusters:
      return kTooManyClusters;
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

// Continuations parked until a rate-limit token arrives. cancel_all() (shutdown) fires every
// pending one with `false` so no call is left unfinished. mu_ guards pending_ and closed_.
class Delays {
 public:
  void after(std::chrono::nanoseconds wait, std::function<void(bool)> fn) {
    auto alarm = std::make_shared<grpc::Alarm>();
    bool closed;
    {
      std::lock_guard lock(mu_);
      closed = closed_;
      if (!closed) pending_.emplace(alarm.get(), alarm);
    }
    if (closed) return fn(false);
    // The alarm is dropped inside its own callback: gRPC keeps its internals alive until the
    // callback returns.
    alarm->Set(std::chrono::system_clock::now() + wait,
               [this, raw = alarm.get(), fn = std::move(fn)](bool ok) {
                 std::shared_ptr<grpc::Alarm> self = take(raw);
                 fn(ok);
               });
    {
      std::lock_guard lock(mu_);
      closed = closed_;
    }
    if (closed) alarm->Cancel();  // cancel_all may have run before Set
  }

  void cancel_all() {
    std::vector<std::shared_ptr<grpc::Alarm>> alarms;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      for (auto& [raw, alarm] : pending_) alarms.push_back(alarm);
    }
    for (auto& alarm : alarms) alarm->Cancel();
  }

 private:
  std::shared_ptr<grpc::Alarm> take(grpc::Alarm* raw) {
    std::lock_guard lock(mu_);
    auto it = pending_.find(raw);
    if (it == pending_.end()) return nullptr;
    auto alarm = std::move(it->second);
    pending_.erase(it);
    return alarm;
  }

  std::mutex mu_;
  std::unordered_map<grpc::Alarm*, std::shared_ptr<grpc::Alarm>> pending_;
  bool closed_ = false;
};

const grpc::Status kRateLimited{grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "rate limit exceeds request timeout"};
const grpc::Status kShuttingDown{grpc::StatusCode::UNAVAILABLE, "server is shutting down"};

// Up to this size a message is copied into a slice (one allocation; referencing takes two);
// bigger ones (snapshots) are referenced, so every watcher of a cluster shares one copy.
constexpr std::size_t kCopyLimit = 4096;

// Changes pending together go out in one message of at most about this size (one change more
// than fits is never split): fewer messages, writes and completions under load, and nothing
// waits for a batch to fill. Far below a client's 4 MiB receive limit.
constexpr std::size_t kBatchBytes = 64 * 1024;

grpc::Slice wire_slice(std::shared_ptr<const std::string> bytes) {
  if (bytes->size() <= kCopyLimit) return grpc::Slice(bytes->data(), bytes->size());
  using Holder = std::shared_ptr<const std::string>;
  auto holder = std::make_unique<Holder>(std::move(bytes));
  auto* data = const_cast<char*>((*holder)->data());  // gRPC only reads it
  const std::size_t size = (*holder)->size();
  // The slice owns the holder from here and drops it when gRPC lets go of the bytes.
  return grpc::Slice(
      data, size, [](void* raw) { std::unique_ptr<Holder>(static_cast<Holder*>(raw)); },
      holder.release());
}

grpc::ByteBuffer wire_buffer(std::shared_ptr<const std::string> bytes) {
  grpc::Slice slice = wire_slice(std::move(bytes));
  return grpc::ByteBuffer(&slice, 1);
}

// Streams one Watch: the snapshot, then the changes, those pending together in one message. It owns itself from creation to
// OnDone; the State's wake-up only holds a weak reference. mu_ guards the flags below; buffer_ is
// touched only by whoever set in_flight_.
class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                           public std::enable_shared_from_this<WatchReactor> {
 public:
  static std::shared_ptr<WatchReactor> create(Metrics* metrics) {
    auto reactor = std::make_shared<WatchReactor>(metrics);
    reactor->self_ = reactor;
    return reactor;
  }

  explicit WatchReactor(Metrics* metrics) : metrics_(metrics) {}

  // Starts streaming (after admission), holding `slot` until the call is done. The call may
  // have been cancelled while it waited.
  void begin(Registry& registry, std::string_view cluster_id, WatchSlots::Slot slot) {
    {
      std::lock_guard lock(mu_);
      if (finished_) return;  // cancelled while waiting for admission
      started_ = Steady::now();
      slot_.emplace(std::move(slot));
    }
    if (metrics_ != nullptr) {
      metrics_->rpc_started(Method::kWatch);
      metrics_->msg_received(Method::kWatch);
    }
    if (auto error = check_cluster_id(cluster_id)) return end(invalid(*error));
    std::weak_ptr<WatchReactor> weak = weak_from_this();
    WatchStart start = registry.watch(cluster_id, [weak] {
      if (auto self = weak.lock()) self->pump();
    });
    if (start.watch == nullptr) return end(kTooManyClusters);
    {
      std::lock_guard lock(mu_);
      if (finished_) return;  // cancelled meanwhile; OnDone drops the watch
      watch_ = std::move(start.watch);
      // Sent even when empty, so clients know the snapshot arrived.
      const auto& snapshot = start.snapshot;
      set_buffer(wire_buffer(std::shared_ptr<const std::string>(snapshot, &snapshot->message)));
      in_flight_ = true;
    }
    write();
  }

  // Finishes with `status` unless the call already ended.
  void end(const grpc::Status& status) {
    {
      std::lock_guard lock(mu_);
      if (finished_) return;
      finished_ = true;
      code_ = status.error_code();
    }
    Finish(status);
  }

  void OnWriteDone(bool ok) override {
    if (ok && metrics_ != nullptr) metrics_->msg_sent(Method::kWatch);
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      in_flight_ = false;
      // An idle watcher must not keep its last message (maybe the cluster's snapshot) alive.
      buffer_.Clear();
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
    std::unique_ptr<Watch> watch;
    std::optional<Steady::time_point> started;
    grpc::StatusCode code;
    {
      std::lock_guard lock(mu_);
      watch = std::move(watch_);
      started = started_;
      code = code_;
      slot_.reset();
    }
    if (metrics_ != nullptr && started) {
      metrics_->rpc_handled(Method::kWatch, static_cast<int>(code), Steady::now() - *started);
    }
    watch.reset();
    self_.reset();  // may destroy this; nothing may follow
  }

 private:
  void write() { StartWrite(&buffer_); }

  // ByteBuffer has no move assignment; its copy assignment would copy the slice list.
  void set_buffer(grpc::ByteBuffer buffer) { buffer_.Swap(&buffer); }

  // Sends what is pending if no write is in flight.
  void pump() {
    bool close = false;
    {
      std::lock_guard lock(mu_);
      if (in_flight_ || finished_ || watch_ == nullptr) return;
      Change change;
      if (held_) {
        change = std::move(*held_);
        held_.reset();
      } else {
        switch (watch_->next(change)) {
          case Watch::Poll::kIdle:
            return;
          case Watch::Poll::kClosed:
            // Server shutdown ends watches with OK, as upstream.
            finished_ = true;
            close = true;
            break;
          case Watch::Poll::kChange:
            break;
        }
      }
      if (!close) {
        set_buffer(batch_from(std::move(change)));
        in_flight_ = true;
      }
    }
    if (close) {
      Finish(grpc::Status::OK);
    } else {
      write();
    }
  }

  // `first` and the changes pending after it of the same kind, as one WatchResponse: upserts
  // concatenate into one message with every affiliate, and so do deletions, whose `deleted` flag
  // covers the whole message. A change of the other kind waits in held_ for the next message.
  // Under mu_.
  grpc::ByteBuffer batch_from(Change first) {
    const bool deletions = first.affiliate == nullptr;
    std::size_t bytes = first.message->size();
    batch_.clear();
    batch_.push_back(wire_slice(std::move(first.message)));
    Change next;
    while (bytes < kBatchBytes && watch_->next(next) == Watch::Poll::kChange) {
      if ((next.affiliate == nullptr) != deletions) {
        held_ = std::move(next);
        break;
      }
      bytes += next.message->size();
      batch_.push_back(wire_slice(std::move(next.message)));
    }
    grpc::ByteBuffer buffer(batch_.data(), batch_.size());
    batch_.clear();
    return buffer;
  }

  Metrics* const metrics_;
  std::mutex mu_;
  std::optional<Steady::time_point> started_;  // set once admitted
  bool in_flight_ = false;
  bool cancelled_ = false;
  bool finished_ = false;  // Finish was called or is about to be; nothing more may start
  grpc::StatusCode code_ = grpc::StatusCode::OK;
  grpc::ByteBuffer buffer_;       // the message being written
  std::vector<grpc::Slice> batch_;  // reused while a message is put together
  std::optional<Change> held_;      // taken from the watch, to go first in the next message
  std::unique_ptr<Watch> watch_;  // set by begin; taken in OnDone
  std::optional<WatchSlots::Slot> slot_;  // held from begin to OnDone
  std::shared_ptr<WatchReactor> self_;
};

std::optional<std::string_view> metadata(const grpc::CallbackServerContext& ctx,
                                         std::string_view key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return std::nullopt;
  return std::string_view(it->second.data(), it->second.size());
}

class ClusterServiceImpl final : public ClusterService {
 public:
  ClusterServiceImpl(Registry& registry, ServiceOptions options)
      : registry_(registry),
        options_(std::move(options)),
        watch_slots_(options_.max_watches, options_.max_watches_per_address) {}

  grpc::ServerUnaryReactor* Hello(grpc::CallbackServerContext* ctx, const pb::HelloRequest* req,
                                  pb::HelloResponse* resp) override {
    return unary(ctx, Method::kHello, req->cluster_id(), [this, ctx, req, resp] {
      // Counted before validation, as upstream.
      if (options_.metrics != nullptr) options_.metrics->hello(req->client_version());
      if (auto error = check_cluster_id(req->cluster_id())) return invalid(*error);
      if (!options_.disable_client_ip_reporting) resp->set_client_ip(client_address(*ctx));
      if (!options_.redirect_endpoint.empty()) {
        resp->mutable_redirect()->set_endpoint(options_.redirect_endpoint);
      }
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* AffiliateUpdate(grpc::CallbackServerContext* ctx,
                                            const pb::AffiliateUpdateRequest* req,
                                            pb::AffiliateUpdateResponse*) override {
    return unary_async(ctx, Method::kAffiliateUpdate, req->cluster_id(),
                       [this, req](Finish finish) { apply_update(*req, std::move(finish)); });
  }

  grpc::ServerUnaryReactor* AffiliateDelete(grpc::CallbackServerContext* ctx,
                                            const pb::AffiliateDeleteRequest* req,
                                            pb::AffiliateDeleteResponse*) override {
    return unary_async(ctx, Method::kAffiliateDelete, req->cluster_id(), [this, req](
                                                                              Finish finish) {
      if (auto error = check_cluster_id(req->cluster_id())) return finish(invalid(*error));
      if (auto error = check_affiliate_id(req->affiliate_id())) return finish(invalid(*error));
      registry_.remove(req->cluster_id(), req->affiliate_id(),
                       [finish = std::move(finish)](UpdateStatus s) { finish(status_of(s)); });
    });
  }

  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const pb::ListRequest* req,
                                 pb::ListResponse* resp) override {
    return unary(ctx, Method::kList, req->cluster_id(), [this, req, resp] {
      if (auto error = check_cluster_id(req->cluster_id())) return invalid(*error);
      for (const auto& affiliate : registry_.list(req->cluster_id())) {
        fill(*resp->add_affiliates(), *affiliate);
      }
      return grpc::Status::OK;
    });
  }

  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(grpc::CallbackServerContext* ctx,
                                                    const grpc::ByteBuffer* raw) override {
    auto reactor = WatchReactor::create(options_.metrics);
    pb::WatchRequest req;
    grpc::ByteBuffer request(*raw);  // shares the slices; decoding consumes the buffer
    if (auto parsed = grpc::SerializationTraits<pb::WatchRequest>::Deserialize(&request, &req);
        !parsed.ok()) {
      // INTERNAL, from protobuf's decoder, as upstream's Go server answers (gRPC C++ would
      // answer UNIMPLEMENTED for a typed method).
      reactor->end(parsed);
      return reactor.get();
    }
    spdlog::debug("rpc method=Watch cluster={}", id_tag(req.cluster_id()));
    // Copied: a call cancelled while it waits is finished, and its request freed, before this runs.
    admit(*ctx, [this, reactor, cluster_id = req.cluster_id(),
                 address = client_address(*ctx)](const grpc::Status& refused) {
      if (!refused.ok()) return reactor->end(refused);
      std::string refusal;
      auto slot = watch_slots_.acquire(address, refusal);
      if (!slot) return reactor->end({grpc::StatusCode::RESOURCE_EXHAUSTED, refusal});
      reactor->begin(registry_, cluster_id, std::move(*slot));
    });
    return reactor.get();
  }

  void shutdown() override { delays_.cancel_all(); }

 private:
  // Hello's client IP and the rate-limit key.
  std::string client_address(const grpc::CallbackServerContext& ctx) const {
    return client_ip(peer_ip_bytes(ctx.peer()), metadata(ctx, "x-real-ip"),
                     metadata(ctx, "x-forwarded-for"), options_.trusted_proxies);
  }

  // Calls `then` with OK once the caller's token is available, or with the refusal.
  void admit(const grpc::CallbackServerContext& ctx,
             std::function<void(const grpc::Status&)> then) {
    if (options_.limiter == nullptr) return then(grpc::Status::OK);
    std::optional<std::chrono::nanoseconds> time_left;
    if (auto deadline = ctx.deadline(); deadline != std::chrono::system_clock::time_point::max()) {
      time_left = deadline - std::chrono::system_clock::now();
    }
    auto wait = options_.limiter->reserve(client_address(ctx), time_left);
    if (!wait) {
      if (options_.metrics != nullptr) options_.metrics->rate_limit_reject();
      spdlog::debug("rate_limited peer={} action=reject", ctx.peer());
      return then(kRateLimited);
    }
    if (*wait == std::chrono::nanoseconds::zero()) return then(grpc::Status::OK);
    if (options_.metrics != nullptr) options_.metrics->rate_limit_wait();
    delays_.after(*wait, [then = std::move(then)](bool ok) {
      then(ok ? grpc::Status::OK : kShuttingDown);
    });
  }

  // Ends a unary call with its status (once).
  using Finish = std::function<void(const grpc::Status&)>;

  // Runs `body` (which returns the call's status) once admitted, with metrics and a log line.
  grpc::ServerUnaryReactor* unary(grpc::CallbackServerContext* ctx, Method method,
                                  std::string_view cluster_id,
                                  std::function<grpc::Status()> body) {
    return unary_async(ctx, method, cluster_id,
                       [body = std::move(body)](Finish finish) { finish(body()); });
  }

  // Like unary, for a body that ends the call through `finish`, maybe later on another thread.
  grpc::ServerUnaryReactor* unary_async(grpc::CallbackServerContext* ctx, Method method,
                                        std::string_view cluster_id,
                                        std::function<void(Finish)> body) {
    auto* reactor = ctx->DefaultReactor();
    admit(*ctx, [this, reactor, method, cluster_id, body = std::move(body)](
                    const grpc::Status& refused) {
      if (!refused.ok()) return reactor->Finish(refused);
      const auto started = Steady::now();
      Metrics* metrics = options_.metrics;
      if (metrics != nullptr) {
        metrics->rpc_started(method);
        metrics->msg_received(method);
      }
      body([reactor, method, cluster_id, started, metrics](const grpc::Status& status) {
        if (metrics != nullptr) {
          if (status.ok()) metrics->msg_sent(method);
          metrics->rpc_handled(method, static_cast<int>(status.error_code()),
                               Steady::now() - started);
        }
        log_rpc(kNames[static_cast<std::size_t>(method)], cluster_id, status);
        reactor->Finish(status);
      });
    });
    return reactor;
  }

  void apply_update(const pb::AffiliateUpdateRequest& req, Finish finish) {
    server::AffiliateUpdate request{req.cluster_id(), req.affiliate_id(), req.affiliate_data(), {},
                                    {}};
    request.endpoints.assign(req.affiliate_endpoints().begin(), req.affiliate_endpoints().end());
    // Same order as upstream: cluster, affiliate, data, endpoints, ttl.
    for (auto error :
         {check_cluster_id(request.cluster_id), check_affiliate_id(request.affiliate_id),
          check_affiliate_data(request.data), check_endpoints(request.endpoints)}) {
      if (error) return finish(invalid(*error));
    }
    auto ttl = ttl_from_duration(req.ttl().seconds(), req.ttl().nanos());
    if (!ttl) return finish(invalid(kTtlTooLarge));
    request.ttl = *ttl;
    // The request message outlives the call, so the views in `request` stay valid until done.
    registry_.update(request,
                     [finish = std::move(finish)](UpdateStatus s) { finish(status_of(s)); });
  }

  static constexpr std::string_view kNames[] = {"Hello", "AffiliateUpdate", "AffiliateDelete",
                                                "List", "Watch"};

  Registry& registry_;
  const ServiceOptions options_;
  WatchSlots watch_slots_;
  Delays delays_;
};

}  // namespace

std::unique_ptr<ClusterService> make_cluster_service(Registry& registry, ServiceOptions options) {
  return std::make_unique<ClusterServiceImpl>(registry, std::move(options));
}

std::string id_tag(std::string_view id) {
  // FNV-1a: enough to tell clusters apart in logs without revealing the ID (the only credential).
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : id) hash = (hash ^ c) * 16777619u;
  return fmt::format("{:08x}", hash);
}

}  // namespace discovery::server
