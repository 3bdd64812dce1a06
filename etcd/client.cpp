// The etcd client over gRPC's synchronous API: unary calls on the caller's thread, each watch and
// lease keep-alive on a thread of its own that reconnects on failure.
#include "etcd/client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "etcd/rpc.grpc.pb.h"
#include "values/list.h"

namespace etcd {

namespace pb = ::etcdserverpb;

Error::Error(Kind kind, std::string rpc, std::string endpoint, int grpc_code, std::string message)
    : std::runtime_error("etcd " + rpc + " at " + endpoint + ": " + message),
      kind_(kind),
      rpc_(std::move(rpc)),
      endpoint_(std::move(endpoint)),
      grpc_code_(grpc_code) {}

std::vector<std::string> parse_endpoints(std::string_view list) { return values::split_list(list); }

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

namespace {

using Clock = std::chrono::steady_clock;

// Reconnect pace of the streams and of gRPC's own channel: short, since etcd members restart in
// seconds and a watch that waits long falls behind.
constexpr auto kRetryMin = std::chrono::milliseconds(100);
constexpr auto kRetryMax = std::chrono::milliseconds(2000);

Error::Kind kind_of(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
      return Error::Kind::kUnavailable;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Error::Kind::kDeadlineExceeded;
    case grpc::StatusCode::CANCELLED:
      return Error::Kind::kCanceled;
    default:
      return Error::Kind::kRejected;
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("etcd: cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::shared_ptr<grpc::ChannelCredentials> credentials(const Options& options) {
  if (!options.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  if (!options.tls->ca_file.empty()) ssl.pem_root_certs = read_file(options.tls->ca_file);
  if (!options.tls->cert_file.empty()) ssl.pem_cert_chain = read_file(options.tls->cert_file);
  if (!options.tls->key_file.empty()) ssl.pem_private_key = read_file(options.tls->key_file);
  return grpc::SslCredentials(ssl);
}

KeyValue from_pb(const mvccpb::KeyValue& kv) {
  return {kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version(), kv.lease()};
}

pb::RangeRequest to_pb(const RangeRequest& r) {
  pb::RangeRequest out;
  out.set_key(r.key);
  out.set_range_end(r.range_end);
  out.set_revision(r.revision);
  out.set_limit(r.limit);
  return out;
}

pb::PutRequest to_pb(const PutRequest& r) {
  pb::PutRequest out;
  out.set_key(r.key);
  out.set_value(r.value);
  out.set_lease(r.lease);
  out.set_prev_kv(r.prev_kv);
  return out;
}

pb::DeleteRangeRequest to_pb(const DeleteRequest& r) {
  pb::DeleteRangeRequest out;
  out.set_key(r.key);
  out.set_range_end(r.range_end);
  out.set_prev_kv(r.prev_kv);
  return out;
}

RangeResult from_pb(const pb::RangeResponse& r) {
  RangeResult out;
  out.revision = r.header().revision();
  out.more = r.more();
  out.count = r.count();
  out.kvs.reserve(static_cast<std::size_t>(r.kvs_size()));
  for (const auto& kv : r.kvs()) out.kvs.push_back(from_pb(kv));
  return out;
}

PutResult from_pb(const pb::PutResponse& r) {
  PutResult out;
  out.revision = r.header().revision();
  if (r.has_prev_kv()) out.prev_kv = from_pb(r.prev_kv());
  return out;
}

DeleteResult from_pb(const pb::DeleteRangeResponse& r) {
  DeleteResult out;
  out.revision = r.header().revision();
  out.deleted = r.deleted();
  for (const auto& kv : r.prev_kvs()) out.prev_kvs.push_back(from_pb(kv));
  return out;
}

pb::Compare to_pb(const Compare& c) {
  pb::Compare out;
  out.set_key(c.key);
  out.set_range_end(c.range_end);
  switch (c.result) {
    case Compare::Result::kEqual:
      out.set_result(pb::Compare::EQUAL);
      break;
    case Compare::Result::kGreater:
      out.set_result(pb::Compare::GREATER);
      break;
    case Compare::Result::kLess:
      out.set_result(pb::Compare::LESS);
      break;
    case Compare::Result::kNotEqual:
      out.set_result(pb::Compare::NOT_EQUAL);
      break;
  }
  // The target_union member is set even when 0: etcd reads the oneof, not a default.
  switch (c.target) {
    case Compare::Target::kVersion:
      out.set_target(pb::Compare::VERSION);
      out.set_version(c.number);
      break;
    case Compare::Target::kCreateRevision:
      out.set_target(pb::Compare::CREATE);
      out.set_create_revision(c.number);
      break;
    case Compare::Target::kModRevision:
      out.set_target(pb::Compare::MOD);
      out.set_mod_revision(c.number);
      break;
    case Compare::Target::kValue:
      out.set_target(pb::Compare::VALUE);
      out.set_value(c.value);
      break;
  }
  return out;
}

void add_ops(const std::vector<Op>& ops, google::protobuf::RepeatedPtrField<pb::RequestOp>* out) {
  for (const auto& op : ops) {
    auto* req = out->Add();
    std::visit(
        [&](const auto& r) {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, RangeRequest>) {
            *req->mutable_request_range() = to_pb(r);
          } else if constexpr (std::is_same_v<T, PutRequest>) {
            *req->mutable_request_put() = to_pb(r);
          } else {
            *req->mutable_request_delete_range() = to_pb(r);
          }
        },
        op);
  }
}

TxnResult from_pb(const pb::TxnResponse& r) {
  TxnResult out;
  out.revision = r.header().revision();
  out.succeeded = r.succeeded();
  for (const auto& op : r.responses()) {
    switch (op.response_case()) {
      case pb::ResponseOp::kResponseRange:
        out.responses.emplace_back(from_pb(op.response_range()));
        break;
      case pb::ResponseOp::kResponsePut:
        out.responses.emplace_back(from_pb(op.response_put()));
        break;
      case pb::ResponseOp::kResponseDeleteRange:
        out.responses.emplace_back(from_pb(op.response_delete_range()));
        break;
      case pb::ResponseOp::RESPONSE_NOT_SET:
        out.responses.emplace_back(RangeResult{});
        break;
    }
  }
  return out;
}

// One endpoint's channel and stubs; channels connect lazily, so building them costs nothing.
struct Endpoint {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Lease::Stub> lease;
};

// What the streams share with the client: the endpoints and which one to prefer. Held by
// shared_ptr so a stream's thread can outlive nothing it uses.
class Connections {
 public:
  explicit Connections(Options options) : options_(std::move(options)) {
    if (options_.endpoints.empty()) throw std::invalid_argument("etcd: no endpoints");
    const auto creds = credentials(options_);
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(kRetryMin.count()));
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(kRetryMin.count()));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(kRetryMax.count()));
    // Finds a silently dead peer (a partitioned member) on an idle watch stream.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    for (const auto& address : options_.endpoints) {
      auto e = std::make_unique<Endpoint>();
      e->address = address;
      e->channel = grpc::CreateCustomChannel(address, creds, args);
      e->kv = pb::KV::NewStub(e->channel);
      e->watch = pb::Watch::NewStub(e->channel);
      e->lease = pb::Lease::NewStub(e->channel);
      endpoints_.push_back(std::move(e));
    }
  }

  const Options& options() const { return options_; }
  std::size_t size() const { return endpoints_.size(); }
  std::size_t preferred() const { return preferred_.load(); }
  Endpoint& at(std::size_t i) { return *endpoints_[i % endpoints_.size()]; }
  // Calls after a failure at endpoint i start at the next one.
  void failed(std::size_t i) {
    std::size_t expected = i % endpoints_.size();
    preferred_.compare_exchange_strong(expected, (expected + 1) % endpoints_.size());
  }

  // Waits until endpoint i has a connection, up to the dial timeout and `deadline`.
  bool dial(std::size_t i, Clock::time_point deadline) {
    auto& channel = *at(i).channel;
    if (channel.GetState(true) == GRPC_CHANNEL_READY) return true;
    const auto until = std::min(deadline, Clock::now() + options_.dial_timeout);
    return channel.WaitForConnected(std::chrono::system_clock::now() + (until - Clock::now()));
  }

 private:
  const Options options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;  // fixed after construction
  std::atomic<std::size_t> preferred_ = 0;
};

// Sleeps up to `delay` unless stop is asked first; false when asked.
class StopFlag {
 public:
  bool sleep(std::chrono::milliseconds delay) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, delay, [&] { return stopped_; });
  }
  // Asks to stop and cancels the call in flight, if any.
  void stop() {
    std::shared_ptr<grpc::ClientContext> ctx;
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      ctx = ctx_;
    }
    cv_.notify_all();
    if (ctx) ctx->TryCancel();
  }
  bool stopped() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  // Registers the context of the stream about to start; null when stop was already asked.
  std::shared_ptr<grpc::ClientContext> begin_call() {
    auto ctx = std::make_shared<grpc::ClientContext>();
    // A member cut off from its cluster's leader ends the stream (UNAVAILABLE, "no leader")
    // instead of keeping it open and silent, so the stream moves to another endpoint.
    ctx->AddMetadata("hasleader", "true");
    std::lock_guard lock(mu_);
    if (stopped_) return nullptr;
    ctx_ = ctx;
    return ctx_;
  }
  void end_call() {
    std::lock_guard lock(mu_);
    ctx_.reset();
  }

 private:
  mutable std::mutex mu_;  // guards stopped_ and ctx_
  std::condition_variable cv_;
  bool stopped_ = false;
  std::shared_ptr<grpc::ClientContext> ctx_;  // the stream thread's call in flight
};

// A background thread running `body(flag)` until it returns or stop() is called.
class ThreadStream : public Stream {
 public:
  template <typename Body>
  explicit ThreadStream(Body body) : flag_(std::make_shared<StopFlag>()) {
    thread_ = std::thread([flag = flag_, body = std::move(body)]() mutable { body(*flag); });
  }
  ~ThreadStream() override { stop(); }

  void stop() override {
    flag_->stop();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  std::shared_ptr<StopFlag> flag_;
  std::thread thread_;
};

std::chrono::milliseconds next_backoff(std::chrono::milliseconds current) {
  return std::min(current * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kRetryMax));
}

// Runs one watch across reconnects. Lives on the watch's thread only.
void run_watch(const std::shared_ptr<Connections>& conns, WatchRequest request,
               const WatchCallback& callback, StopFlag& flag) {
  std::size_t endpoint = conns->preferred();
  auto backoff = std::chrono::milliseconds(kRetryMin);
  while (!flag.stopped()) {
    auto& e = conns->at(endpoint);
    bool progressed = false;
    bool ended = false;
    if (auto ctx = flag.begin_call()) {
      auto stream = e.watch->Watch(ctx.get());
      pb::WatchRequest create;
      auto* c = create.mutable_create_request();
      c->set_key(request.key);
      c->set_range_end(request.range_end);
      c->set_start_revision(request.start_revision);
      c->set_prev_kv(request.prev_kv);
      c->set_progress_notify(request.progress_notify);
      pb::WatchResponse resp;
      if (stream->Write(create)) {
        while (stream->Read(&resp)) {
          progressed = true;
          backoff = kRetryMin;
          WatchResponse out;
          out.revision = resp.header().revision();
          if (resp.compact_revision() != 0 || resp.canceled()) {
            out.compact_revision = resp.compact_revision();
            out.canceled = resp.canceled();
            out.cancel_reason = resp.cancel_reason();
            ended = true;
            callback(out);
            break;
          }
          if (resp.created() && resp.events_size() == 0) {
            // A watch "from now" resumes after the revision it was created at.
            if (request.start_revision == 0) request.start_revision = out.revision + 1;
            continue;
          }
          for (const auto& ev : resp.events()) {
            Event event;
            event.type =
                ev.type() == mvccpb::Event::DELETE ? Event::Type::kDelete : Event::Type::kPut;
            event.kv = from_pb(ev.kv());
            if (ev.has_prev_kv()) event.prev_kv = from_pb(ev.prev_kv());
            out.events.push_back(std::move(event));
          }
          // Resume after what was delivered: a progress notification covers up to its revision.
          const std::int64_t seen =
              out.events.empty() ? out.revision : out.events.back().kv.mod_revision;
          if (seen > 0) request.start_revision = std::max(request.start_revision, seen + 1);
          callback(out);
          if (flag.stopped()) break;
        }
      }
      ctx->TryCancel();
      stream->Finish();
      flag.end_call();
    }
    if (ended) return;
    if (flag.stopped()) return;
    if (!progressed) conns->failed(endpoint);
    endpoint = (endpoint + 1) % conns->size();
    if (!flag.sleep(backoff)) return;
    backoff = next_backoff(backoff);
  }
}

// Keeps one lease alive across reconnects. Lives on the keep-alive's thread only.
void run_keep_alive(const std::shared_ptr<Connections>& conns, std::int64_t lease,
                    const LeaseLostCallback& on_lost, StopFlag& flag) {
  std::size_t endpoint = conns->preferred();
  auto backoff = std::chrono::milliseconds(kRetryMin);
  while (!flag.stopped()) {
    auto& e = conns->at(endpoint);
    bool lost = false;
    if (auto ctx = flag.begin_call()) {
      auto stream = e.lease->LeaseKeepAlive(ctx.get());
      pb::LeaseKeepAliveRequest req;
      req.set_id(lease);
      pb::LeaseKeepAliveResponse resp;
      while (stream->Write(req) && stream->Read(&resp)) {
        backoff = kRetryMin;
        if (resp.ttl() <= 0) {
          lost = true;
          break;
        }
        const auto period = std::max<std::chrono::milliseconds>(
            std::chrono::milliseconds(resp.ttl() * 1000 / 3), std::chrono::milliseconds(100));
        if (!flag.sleep(period)) break;
      }
      ctx->TryCancel();
      stream->Finish();
      flag.end_call();
    }
    if (lost) {
      if (on_lost) on_lost(lease);
      return;
    }
    if (flag.stopped()) return;
    conns->failed(endpoint);
    endpoint = (endpoint + 1) % conns->size();
    if (!flag.sleep(backoff)) return;
    backoff = next_backoff(backoff);
  }
}

class GrpcClient : public Client {
 public:
  explicit GrpcClient(Options options)
      : conns_(std::make_shared<Connections>(std::move(options))) {}

  RangeResult range(const RangeRequest& request) override {
    pb::RangeResponse resp;
    call("KV.Range", [&](Endpoint& e, grpc::ClientContext* ctx) {
      return e.kv->Range(ctx, to_pb(request), &resp);
    });
    return from_pb(resp);
  }

  PutResult put(const PutRequest& request) override {
    pb::PutResponse resp;
    call("KV.Put", [&](Endpoint& e, grpc::ClientContext* ctx) {
      return e.kv->Put(ctx, to_pb(request), &resp);
    });
    return from_pb(resp);
  }

  DeleteResult delete_range(const DeleteRequest& request) override {
    pb::DeleteRangeResponse resp;
    call("KV.DeleteRange", [&](Endpoint& e, grpc::ClientContext* ctx) {
      return e.kv->DeleteRange(ctx, to_pb(request), &resp);
    });
    return from_pb(resp);
  }

  TxnResult txn(const TxnRequest& request) override {
    pb::TxnRequest req;
    for (const auto& c : request.compare) *req.add_compare() = to_pb(c);
    add_ops(request.success, req.mutable_success());
    add_ops(request.failure, req.mutable_failure());
    pb::TxnResponse resp;
    call("KV.Txn",
         [&](Endpoint& e, grpc::ClientContext* ctx) { return e.kv->Txn(ctx, req, &resp); });
    return from_pb(resp);
  }

  void compact(std::int64_t revision, bool physical) override {
    pb::CompactionRequest req;
    req.set_revision(revision);
    req.set_physical(physical);
    pb::CompactionResponse resp;
    call("KV.Compact",
         [&](Endpoint& e, grpc::ClientContext* ctx) { return e.kv->Compact(ctx, req, &resp); });
  }

  LeaseGrant lease_grant(std::int64_t ttl_seconds) override {
    pb::LeaseGrantRequest req;
    req.set_ttl(ttl_seconds);
    pb::LeaseGrantResponse resp;
    const auto endpoint = call("Lease.LeaseGrant", [&](Endpoint& e, grpc::ClientContext* ctx) {
      return e.lease->LeaseGrant(ctx, req, &resp);
    });
    if (!resp.error().empty()) {
      throw Error(Error::Kind::kRejected, "Lease.LeaseGrant", endpoint, 0, resp.error());
    }
    return {resp.id(), resp.ttl()};
  }

  void lease_revoke(std::int64_t lease) override {
    pb::LeaseRevokeRequest req;
    req.set_id(lease);
    pb::LeaseRevokeResponse resp;
    call("Lease.LeaseRevoke", [&](Endpoint& e, grpc::ClientContext* ctx) {
      return e.lease->LeaseRevoke(ctx, req, &resp);
    });
  }

  std::unique_ptr<Stream> lease_keep_alive(std::int64_t lease, LeaseLostCallback on_lost) override {
    return std::make_unique<ThreadStream>(
        [conns = conns_, lease, on_lost = std::move(on_lost)](StopFlag& flag) {
          run_keep_alive(conns, lease, on_lost, flag);
        });
  }

  std::unique_ptr<Stream> watch(const WatchRequest& request, WatchCallback callback) override {
    return std::make_unique<ThreadStream>(
        [conns = conns_, request, callback = std::move(callback)](StopFlag& flag) {
          run_watch(conns, request, callback, flag);
        });
  }

 private:
  // Runs `rpc` at the preferred endpoint, moving on to the next one only while none connects
  // (nothing was sent, so trying elsewhere cannot apply a write twice). One deadline covers the
  // dials and the call. Returns the endpoint that answered; throws Error otherwise.
  template <typename Rpc>
  std::string call(const char* name, Rpc&& rpc) {
    const auto deadline = Clock::now() + conns_->options().request_timeout;
    const std::size_t first = conns_->preferred();
    std::string last;
    for (std::size_t n = 0; n < conns_->size(); ++n) {
      const std::size_t i = first + n;
      auto& e = conns_->at(i);
      last = e.address;
      if (!conns_->dial(i, deadline)) {
        conns_->failed(i);
        if (Clock::now() >= deadline) break;
        continue;
      }
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + (deadline - Clock::now()));
      const grpc::Status status = rpc(e, &ctx);
      if (status.ok()) return e.address;
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) conns_->failed(i);
      throw Error(kind_of(status.error_code()), name, e.address,
                  static_cast<int>(status.error_code()), status.error_message());
    }
    throw Error(Error::Kind::kUnavailable, name, last,
                static_cast<int>(grpc::StatusCode::UNAVAILABLE),
                "no endpoint connected within the dial timeout");
  }

  std::shared_ptr<Connections> conns_;
};

}  // namespace

std::unique_ptr<Client> make_client(Options options) {
  return std::make_unique<GrpcClient>(std::move(options));
}

}  // namespace etcd
