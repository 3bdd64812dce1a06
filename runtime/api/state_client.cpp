// The State client: unary calls block the caller; a watch is a ClientReadReactor that hands
// each WatchResponse to the subscriber's executor as one batch.
#include "runtime/api/state_client.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <stdexcept>

#include "cosi/v1alpha1/state.grpc.pb.h"
#include "runtime/api/convert.h"

namespace runtime::api {
namespace {

namespace asio = boost::asio;

using resource::Pointer;
using resource::Resource;
using resource::ResourcePtr;
using state::ErrorCode;

[[noreturn]] void fail(const grpc::Status& status,
                       std::initializer_list<ErrorCode> likely = {}) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNIMPLEMENTED:
      throw std::runtime_error("state API: " + status.error_message());
    default:
      throw from_status(status, likely);
  }
}

ResourcePtr decode(const wire::Resource& r) {
  return std::make_shared<const Resource>(from_proto(r));
}

// Markers (Bootstrapped, Noop, an absent resource) travel with an empty spec; locally they
// are tombstones without one, as the in-memory state delivers them.
ResourcePtr decode_event_resource(const wire::Event& e) {
  if (!e.has_resource()) return nullptr;
  Resource r = from_proto(e.resource());
  const bool marker = e.event_type() == wire::BOOTSTRAPPED || e.event_type() == wire::NOOP ||
                      r.metadata.version == resource::kUndefinedVersion;
  if (marker) r.spec = nullptr;
  return std::make_shared<const Resource>(std::move(r));
}

state::Event decode(const wire::Event& e) {
  static constexpr state::EventType kTypes[] = {
      state::EventType::kCreated,      state::EventType::kUpdated, state::EventType::kDestroyed,
      state::EventType::kBootstrapped, state::EventType::kErrored, state::EventType::kNoop};
  state::Event out;
  const int type = e.event_type();
  out.type = type >= 0 && type < 6 ? kTypes[type] : state::EventType::kErrored;
  out.resource = decode_event_resource(e);
  if (e.has_old()) out.old = decode(e.old());
  out.bookmark = e.bookmark();
  out.error = e.error();
  return out;
}

// Destroy and Teardown requests: a pointer plus the owner option.
template <class Request>
Request owned_request(const Pointer& ptr, const std::string& owner) {
  Request req;
  req.set_namespace_(ptr.ns);
  req.set_type(ptr.type);
  req.set_id(ptr.id);
  req.mutable_options()->set_owner(owner);
  return req;
}

void check_writable(const Resource& r) {
  if (r.spec == nullptr) {
    throw state::Error(ErrorCode::kInvalidArgument,
                       "resource " + resource::to_string(r.pointer()) + " has no spec");
  }
}

// What the subscriber's side and the reactor share. cancelled is set by the Watch handle;
// callbacks check it on the subscriber's executor, so none runs after the handle is gone.
struct WatchShared {
  WatchShared(state::Executor executor, state::WatchCallback cb)
      : strand(asio::make_strand(std::move(executor))), callback(std::move(cb)) {}

  asio::strand<state::Executor> strand;
  state::WatchCallback callback;
  grpc::ClientContext context;
  std::atomic<bool> cancelled{false};
};

class WatchReactor final : public grpc::ClientReadReactor<wire::WatchResponse> {
 public:
  // `ready` resolves when the server sent its empty readiness message or failed before it. The
  // reactor may be gone by then (a refused watch ends at once), so the caller holds the future.
  WatchReactor(wire::State::Stub& stub, const wire::WatchRequest& request,
               std::shared_ptr<WatchShared> shared, std::promise<grpc::Status> ready)
      : shared_(std::move(shared)), ready_(std::move(ready)) {
    stub.async()->Watch(&shared_->context, &request, this);
    StartRead(&message_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows with the status
    if (!handshaken_) {
      handshaken_ = true;
      ready_.set_value(grpc::Status::OK);
    } else {
      deliver(batch_of(message_));
    }
    message_.Clear();
    StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    if (!handshaken_) {
      ready_.set_value(status.ok() ? grpc::Status(grpc::StatusCode::INTERNAL,
                                                  "watch ended before it started")
                                   : status);
    } else if (!shared_->cancelled) {
      state::WatchBatch batch;
      batch.events.push_back(state::Event{state::EventType::kErrored, nullptr, nullptr, {},
                                          "watch ended: " + status.error_message()});
      deliver(std::move(batch));
    }
    delete this;  // gRPC hands the reactor back here
  }

 private:
  static state::WatchBatch batch_of(const wire::WatchResponse& msg) {
    state::WatchBatch batch;
    for (const auto& e : msg.event()) batch.events.push_back(decode(e));
    return batch;
  }

  void deliver(state::WatchBatch batch) {
    asio::post(shared_->strand, [shared = shared_, batch = std::move(batch)]() mutable {
      if (!shared->cancelled) shared->callback(std::move(batch));
    });
  }

  std::shared_ptr<WatchShared> shared_;
  wire::WatchResponse message_;
  std::promise<grpc::Status> ready_;
  bool handshaken_ = false;
};

class RemoteWatch final : public state::Watch {
 public:
  explicit RemoteWatch(std::shared_ptr<WatchShared> shared) : shared_(std::move(shared)) {}
  ~RemoteWatch() override {
    shared_->cancelled = true;
    shared_->context.TryCancel();
  }

 private:
  std::shared_ptr<WatchShared> shared_;
};

class StateClient final : public state::State {
 public:
  explicit StateClient(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)), stub_(wire::State::NewStub(channel_)) {}

  ResourcePtr get(const Pointer& ptr) const override {
    wire::GetRequest req;
    req.set_namespace_(ptr.ns);
    req.set_type(ptr.type);
    req.set_id(ptr.id);
    wire::GetResponse resp;
    grpc::ClientContext ctx;
    auto status = stub_->Get(&ctx, req, &resp);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return nullptr;
    if (!status.ok()) fail(status);
    return decode(resp.resource());
  }

  std::vector<ResourcePtr> list(const resource::Kind& kind,
                                const state::ListOptions& opts) const override {
    wire::ListRequest req;
    req.set_namespace_(kind.ns);
    req.set_type(kind.type);
    filter_to_proto(opts.filter, req.mutable_options()->mutable_label_query(),
                    req.mutable_options()->mutable_id_query());
    grpc::ClientContext ctx;
    auto reader = stub_->List(&ctx, req);
    std::vector<ResourcePtr> out;
    wire::ListResponse msg;
    while (reader->Read(&msg)) out.push_back(decode(msg.resource()));
    auto status = reader->Finish();
    if (!status.ok()) fail(status, {ErrorCode::kInvalidArgument});
    return out;
  }

  ResourcePtr create(Resource r, const state::CreateOptions& opts) override {
    check_writable(r);
    r.metadata.owner = opts.owner;  // the server refuses a metadata owner that differs
    wire::CreateRequest req;
    to_proto(r, req.mutable_resource());
    req.mutable_options()->set_owner(opts.owner);
    auto resp = call(&wire::State::Stub::Create, req,
                     {ErrorCode::kAlreadyExists, ErrorCode::kInvalidArgument});
    return decode(resp.resource());
  }

  ResourcePtr update(Resource r, const state::UpdateOptions& opts) override {
    check_writable(r);
    wire::UpdateRequest req;
    to_proto(r, req.mutable_new_resource());
    req.mutable_options()->set_owner(opts.owner);
    if (opts.expected_phase) {
      req.mutable_options()->set_expected_phase(std::string(to_string(*opts.expected_phase)));
    }
    auto resp = call(&wire::State::Stub::Update, req,
                     {ErrorCode::kVersionConflict, ErrorCode::kPhaseConflict});
    return decode(resp.resource());
  }

  void destroy(const Pointer& ptr, const state::DestroyOptions& opts) override {
    call(&wire::State::Stub::Destroy, owned_request<wire::DestroyRequest>(ptr, opts.owner),
         {ErrorCode::kPendingFinalizers});
  }

  bool teardown(const Pointer& ptr, const state::TeardownOptions& opts) override {
    auto resp =
        call(&wire::State::Stub::Teardown, owned_request<wire::TeardownRequest>(ptr, opts.owner),
             {ErrorCode::kPhaseConflict});
    return resp.destroy_ready();
  }

  ResourcePtr add_finalizers(const Pointer& ptr, const std::vector<std::string>& names) override {
    return change_finalizers(ptr, names, &resource::Finalizers::add);
  }

  ResourcePtr remove_finalizers(const Pointer& ptr,
                                const std::vector<std::string>& names) override {
    return change_finalizers(ptr, names, &resource::Finalizers::remove);
  }

  std::unique_ptr<state::Watch> watch(const Pointer& ptr, state::Executor executor,
                                      state::WatchCallback cb,
                                      const state::WatchOptions& opts) override {
    wire::WatchRequest req;
    req.set_namespace_(ptr.ns);
    req.set_type(ptr.type);
    req.set_id(ptr.id);
    req.mutable_options()->set_tail_events(opts.tail_events);
    if (opts.start_from_bookmark) {
      req.mutable_options()->set_start_from_bookmark(*opts.start_from_bookmark);
    }
    return start_watch(req, std::move(executor), std::move(cb));
  }

  std::unique_ptr<state::Watch> watch_kind(const resource::Kind& kind, state::Executor executor,
                                           state::WatchCallback cb,
                                           const state::WatchKindOptions& opts) override {
    wire::WatchRequest req;
    req.set_namespace_(kind.ns);
    req.set_type(kind.type);
    auto* o = req.mutable_options();
    o->set_bootstrap_contents(opts.bootstrap_contents);
    o->set_bootstrap_bookmark(opts.bootstrap_bookmark);
    o->set_tail_events(opts.tail_events);
    if (opts.start_from_bookmark) o->set_start_from_bookmark(*opts.start_from_bookmark);
    // Aggregated: one server batch stays one local batch, as the in-memory state delivers.
    o->set_aggregated(true);
    filter_to_proto(opts.filter, o->mutable_label_query(), o->mutable_id_query());
    return start_watch(req, std::move(executor), std::move(cb));
  }

 private:
  // One unary call; a failure throws, read as one of the `likely` kinds where its code is
  // ambiguous.
  template <class Request, class Response>
  Response call(grpc::Status (wire::State::Stub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
                const Request& req, std::initializer_list<ErrorCode> likely) {
    Response resp;
    grpc::ClientContext ctx;
    auto status = (stub_.get()->*method)(&ctx, req, &resp);
    if (!status.ok()) fail(status, likely);
    return resp;
  }

  // As the Go client does: read, apply `op` to each name, write back with the current owner and
  // any phase; retry only plain version races.
  ResourcePtr change_finalizers(const Pointer& ptr, const std::vector<std::string>& names,
                                bool (resource::Finalizers::*op)(std::string_view)) {
    for (;;) {
      auto current = get(ptr);
      if (current == nullptr) {
        throw state::Error(ErrorCode::kNotFound,
                           resource::not_found_message(ptr));
      }
      Resource next = *current;
      bool changed = false;
      for (const auto& name : names) changed |= (next.metadata.finalizers.*op)(name);
      if (!changed) return current;
      try {
        return update(std::move(next), state::UpdateOptions{current->metadata.owner, std::nullopt});
      } catch (const state::Error& e) {
        if (e.code() != ErrorCode::kVersionConflict) throw;
      }
    }
  }

  std::unique_ptr<state::Watch> start_watch(wire::WatchRequest& req, state::Executor executor,
                                            state::WatchCallback cb) {
    req.set_api_version(1);
    auto shared = std::make_shared<WatchShared>(std::move(executor), std::move(cb));
    std::promise<grpc::Status> ready;
    auto handshake = ready.get_future();
    new WatchReactor(*stub_, req, shared, std::move(ready));  // deletes itself in OnDone
    auto status = handshake.get();
    if (!status.ok()) fail(status, {ErrorCode::kInvalidBookmark, ErrorCode::kInvalidArgument});
    return std::make_unique<RemoteWatch>(std::move(shared));
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<wire::State::Stub> stub_;
};

}  // namespace

std::unique_ptr<state::State> make_state_client(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<StateClient>(std::move(channel));
}

}  // namespace runtime::api
