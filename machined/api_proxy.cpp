// Calls pass through as raw messages. Every method machined serves takes one request message
// (unary or server streaming), so the proxy reads that one, then relays the replies; a reply is
// read from upstream only once the previous one has been written to the caller, which is the
// caller's flow control all the way through.
#include "machined/api_proxy.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>

#include "machined/reply_metadata.h"

namespace machined {
namespace {

using grpc::ByteBuffer;
using grpc::GenericCallbackServerContext;
using grpc::Status;
using grpc::StatusCode;

// The metadata a forwarded request carries: the caller's own, less what the proxy decides.
bool forwarded_key(std::string_view key) {
  return !key.starts_with(':') && !key.starts_with("grpc-") && key != "content-type" &&
         key != "user-agent" && key != "te" && key != "talos-role" && key != "nodes" &&
         key != "proxyfrom";
}

std::multimap<std::string, std::string> metadata_of(const grpc::ServerContextBase& ctx) {
  std::multimap<std::string, std::string> out;
  for (const auto& [key, value] : ctx.client_metadata()) {
    out.emplace(std::string(key.data(), key.size()), std::string(value.data(), value.size()));
  }
  return out;
}

std::string text_of(const ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// The context of one forwarded call: deadline, the caller's metadata, and the caller's roles in
// `talos-role`; marked `proxyfrom` when it leaves this node.
void prepare(grpc::ClientContext& upstream, GenericCallbackServerContext& caller,
             runtime::api::Roles roles, const std::string& proxyfrom) {
  upstream.set_deadline(caller.raw_deadline());
  for (const auto& [key, value] : caller.client_metadata()) {
    const std::string_view name(key.data(), key.size());
    if (forwarded_key(name)) {
      upstream.AddMetadata(std::string(name), std::string(value.data(), value.size()));
    }
  }
  for (const auto& role : runtime::api::role_names(roles)) upstream.AddMetadata("talos-role", role);
  if (!proxyfrom.empty()) upstream.AddMetadata("proxyfrom", proxyfrom);
}

// Ends a call at once.
class Refusal final : public grpc::ServerGenericBidiReactor {
 public:
  explicit Refusal(Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// One call to one destination. Deleted when both sides are done.
class Forward final : public grpc::ServerGenericBidiReactor {
 public:
  Forward(GenericCallbackServerContext* ctx, std::shared_ptr<grpc::Channel> channel,
          runtime::api::Roles roles, std::string proxyfrom, std::string node,
          std::shared_ptr<ApiCallStats> stats)
      : ctx_(ctx),
        stats_(std::move(stats)),
        stub_(std::move(channel)),
        roles_(roles),
        proxyfrom_(std::move(proxyfrom)),
        node_(std::move(node)),
        upstream_(*this) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(Status(StatusCode::CANCELLED, "the call ended before its request"));
    prepare(upstream_ctx_, *ctx_, roles_, proxyfrom_);
    ++pending_;
    stub_.PrepareBidiStreamingCall(&upstream_ctx_, ctx_->method(), {}, &upstream_);
    // Held until no more upstream reads will be started, so that upstream cannot be done while
    // a reply is being written to the caller.
    upstream_.AddHold();
    upstream_.StartWriteLast(&request_, grpc::WriteOptions());
    upstream_.StartRead(&reply_);
    upstream_.StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) return upstream_.StartRead(&reply_);
    upstream_ctx_.TryCancel();
    upstream_.RemoveHold();
  }

  void OnCancel() override { upstream_ctx_.TryCancel(); }
  void OnDone() override { release(); }

 private:
  class Upstream final : public grpc::ClientBidiReactor<ByteBuffer, ByteBuffer> {
   public:
    explicit Upstream(Forward& call) : call_(call) {}
    void OnReadDone(bool ok) override {
      if (ok) return call_.StartWrite(&call_.reply_);
      RemoveHold();
    }
    void OnDone(const Status& status) override {
      call_.Finish(call_.named(status));
      call_.release();
    }

   private:
    Forward& call_;
  };

  // A failure to reach another node names it.
  Status named(const Status& status) const {
    if (node_.empty() || status.error_code() != StatusCode::UNAVAILABLE) return status;
    ++stats_->unreachable;
    return Status(status.error_code(), "node " + node_ + ": " + status.error_message());
  }

  void release() {
    if (--pending_ == 0) delete this;
  }

  GenericCallbackServerContext* const ctx_;
  const std::shared_ptr<ApiCallStats> stats_;
  grpc::GenericStub stub_;
  const runtime::api::Roles roles_;
  const std::string proxyfrom_;
  const std::string node_;  // empty: this node
  grpc::ClientContext upstream_ctx_;
  ByteBuffer request_;
  ByteBuffer reply_;
  Upstream upstream_;
  std::atomic<int> pending_{1};
};

// One-to-many: the request to each node, their replies merged into one, each element naming its
// node; a node that fails adds an element with the error instead.
class FanOut final : public grpc::ServerGenericBidiReactor {
 public:
  struct Target {
    std::string node;
    std::shared_ptr<grpc::Channel> channel;
  };

  FanOut(GenericCallbackServerContext* ctx, std::vector<Target> targets, runtime::api::Roles roles,
         std::string proxyfrom, std::shared_ptr<ApiCallStats> stats)
      : ctx_(ctx),
        stats_(std::move(stats)),
        roles_(roles),
        proxyfrom_(std::move(proxyfrom)),
        calls_(targets.size()) {
    for (std::size_t i = 0; i < targets.size(); ++i) calls_[i].target = std::move(targets[i]);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(Status(StatusCode::CANCELLED, "the call ended before its request"));
    outstanding_ = calls_.size();
    for (auto& call : calls_) {
      prepare(call.ctx, *ctx_, roles_, proxyfrom_);
      call.stub = std::make_unique<grpc::GenericStub>(call.target.channel);
      call.stub->UnaryCall(&call.ctx, ctx_->method(), {}, &request_, &call.reply,
                           [this, &call](Status status) {
                             call.status = std::move(status);
                             complete();
                           });
    }
  }

  void OnCancel() override {
    for (auto& call : calls_) call.ctx.TryCancel();
  }
  void OnDone() override { delete this; }

 private:
  struct Call {
    Target target;
    std::unique_ptr<grpc::GenericStub> stub;
    grpc::ClientContext ctx;
    ByteBuffer reply;
    Status status;
  };

  void complete() {
    if (--outstanding_ != 0) return;
    std::string merged;
    for (const auto& call : calls_) {
      std::optional<std::string> element;
      if (call.status.ok()) element = with_hostname(text_of(call.reply), call.target.node);
      if (call.status.error_code() == StatusCode::UNAVAILABLE) ++stats_->unreachable;
      merged += element
                    ? *element
                    : error_reply(call.target.node, call.status.ok() ? "the reply does not parse"
                                                                     : call.status.error_message());
    }
    grpc::Slice slice(merged);
    reply_ = ByteBuffer(&slice, 1);
    StartWriteAndFinish(&reply_, grpc::WriteOptions(), Status::OK);
  }

  GenericCallbackServerContext* const ctx_;
  const std::shared_ptr<ApiCallStats> stats_;
  const runtime::api::Roles roles_;
  const std::string proxyfrom_;
  ByteBuffer request_;
  ByteBuffer reply_;
  std::vector<Call> calls_;
  std::atomic<std::size_t> outstanding_{0};
};

class Proxy final : public grpc::CallbackGenericService {
 public:
  explicit Proxy(ApiProxyOptions options) : options_(std::move(options)) {
    if (!options_.self.hosts.empty()) proxyfrom_ = *options_.self.hosts.begin();
  }

  grpc::ServerGenericBidiReactor* CreateReactor(GenericCallbackServerContext* ctx) override {
    const auto roles = options_.authenticator->roles(*ctx);
    const auto route =
        route_request(ctx->method(), metadata_of(*ctx), options_.self, options_.peers.has_value());
    auto& stats = *options_.stats;
    switch (route.kind) {
      case NodeRoute::Kind::kLocal:
        ++stats.local;
        return new Forward(ctx, options_.local, roles, {}, {}, options_.stats);
      case NodeRoute::Kind::kOne:
        ++stats.node;
        return new Forward(ctx, peer(route.nodes.front()), roles, proxyfrom_, route.nodes.front(),
                           options_.stats);
      case NodeRoute::Kind::kMany: {
        ++stats.nodes;
        std::vector<FanOut::Target> targets;
        for (const auto& node : route.nodes) {
          targets.push_back({node, is_self(node, options_.self) ? options_.local : peer(node)});
        }
        return new FanOut(ctx, std::move(targets), roles, proxyfrom_, options_.stats);
      }
      case NodeRoute::Kind::kRefused:
        ++stats.refused;
        break;
    }
    return new Refusal(route.refusal);
  }

 private:
  // One channel per peer address, kept for the next calls; a bounded cache, so that callers
  // naming ever new nodes cannot grow it without end.
  std::shared_ptr<grpc::Channel> peer(const std::string& node) {
    const std::string address = node_address(node);
    std::lock_guard lock(mu_);
    if (auto it = peers_.find(address); it != peers_.end()) return it->second;
    if (peers_.size() >= kMaxPeerChannels) peers_.clear();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options_.peers->ca_pem;
    ssl.pem_cert_chain = options_.peers->cert_pem;
    ssl.pem_private_key = options_.peers->key_pem;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(32 << 20);
    auto channel = grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
    peers_.emplace(address, channel);
    return channel;
  }

  static constexpr std::size_t kMaxPeerChannels = 256;

  const ApiProxyOptions options_;
  std::string proxyfrom_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> peers_;
};

}  // namespace

ApiCallCounts ApiCallStats::counts() const {
  return {local.load(), node.load(), nodes.load(), refused.load(), unreachable.load()};
}

std::unique_ptr<grpc::CallbackGenericService> make_api_proxy(ApiProxyOptions options) {
  return std::make_unique<Proxy>(std::move(options));
}

}  // namespace machined
