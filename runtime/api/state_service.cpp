// cosi.resource.State over a state::State with the gRPC callback API. Unary calls run inline
// (the in-memory state answers in microseconds and never waits on a controller); streams run
// their bookkeeping on a strand of the service's executor.
#include "runtime/api/state_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <cctype>
#include <deque>
#include <map>

#include "cosi/v1alpha1/meta.pb.h"
#include "cosi/v1alpha1/state.grpc.pb.h"
#include "runtime/api/convert.h"

namespace runtime::api {
namespace {

namespace asio = boost::asio;

using grpc::CallbackServerContext;
using grpc::Status;
using grpc::StatusCode;
using resource::Pointer;
using resource::ResourcePtr;
using state::Event;
using state::EventType;

constexpr char kMetaNamespace[] = "meta";
constexpr char kResourceDefinitionType[] = "ResourceDefinitions.meta.cosi.dev";
constexpr char kNamespaceType[] = "Namespaces.meta.cosi.dev";

// A status to end a call with, thrown from deep inside a handler.
struct StatusError {
  Status status;
};

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

template <class Fn>
Status guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const StatusError& e) {
    return e.status;
  } catch (const std::exception& e) {
    return to_status(e);
  }
}

// Who may do what: the caller's roles against each method's (Talos's machined rules), then, on the
// network listener, Talos's access policy for resources.
class Policy {
 public:
  Policy(const state::State& state, const StateServiceOptions& options)
      : state_(state), access_(options.access), authenticator_(options.authenticator) {}

  Roles roles(const grpc::ServerContextBase& ctx) const {
    return authenticator_ ? authenticator_->roles(ctx) : Roles::all();
  }

  void check_write(Roles roles) const {
    if (!roles.any_of(kWriteRoles)) throw not_authorized();
    if (access_ == Access::kReadOnly) {
      throw StatusError{Status(StatusCode::PERMISSION_DENIED, "write access is not allowed")};
    }
  }

  void check_read(Roles roles, const std::string& ns, const std::string& type) const {
    if (!roles.any_of(kReadRoles)) throw not_authorized();
    if (access_ == Access::kReadWrite) return;
    auto rd = state_.get(Pointer{kMetaNamespace, kResourceDefinitionType, lowercase(type)});
    if (rd == nullptr) {
      throw StatusError{
          Status(StatusCode::PERMISSION_DENIED, "resource type \"" + type + "\" is not supported")};
    }
    wire::meta::ResourceDefinitionSpec spec;
    if (rd->spec == nullptr || !spec.ParseFromString(rd->spec->proto_bytes())) {
      throw StatusError{
          Status(StatusCode::INTERNAL, "resource definition of \"" + type + "\" does not parse")};
    }
    // Sensitive types (secrets, keys) are for admins only.
    if (spec.sensitivity() == wire::meta::ResourceDefinitionSpec::SENSITIVE &&
        !roles.has(Role::kAdmin)) {
      throw not_authorized();
    }
    if (state_.get(Pointer{kMetaNamespace, kNamespaceType, ns}) == nullptr) {
      throw StatusError{
          Status(StatusCode::PERMISSION_DENIED, "namespace \"" + ns + "\" is not supported")};
    }
  }

 private:
  // Talos's words for a caller whose roles do not allow the call.
  static StatusError not_authorized() {
    return StatusError{Status(StatusCode::PERMISSION_DENIED, "not authorized")};
  }

  const state::State& state_;
  const Access access_;
  const std::shared_ptr<const Authenticator> authenticator_;
};

void event_to_proto(const Event& event, wire::Event* out) {
  static constexpr wire::EventType kTypes[] = {wire::CREATED,      wire::UPDATED, wire::DESTROYED,
                                               wire::BOOTSTRAPPED, wire::ERRORED, wire::NOOP};
  out->set_event_type(kTypes[static_cast<int>(event.type)]);
  if (event.resource != nullptr) to_proto(*event.resource, out->mutable_resource());
  if (event.old != nullptr) to_proto(*event.old, out->mutable_old());
  if (!event.error.empty()) out->set_error(event.error);
  if (!event.bookmark.empty()) out->set_bookmark(event.bookmark);
}

// Streams a List result one resource per message.
class ListReactor final : public grpc::ServerWriteReactor<wire::ListResponse> {
 public:
  explicit ListReactor(std::vector<ResourcePtr> items) : items_(std::move(items)) { next(); }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(Status(StatusCode::CANCELLED, "client went away"));
    next();
  }
  void OnDone() override { delete this; }  // gRPC hands the reactor back here

 private:
  void next() {
    if (pos_ == items_.size()) return Finish(Status::OK);
    message_.Clear();
    to_proto(*items_[pos_++], message_.mutable_resource());
    StartWrite(&message_);
  }

  std::vector<ResourcePtr> items_;
  std::size_t pos_ = 0;
  wire::ListResponse message_;
};

// What the reactors that hold a state watch share. Everything but the gRPC callbacks themselves
// runs on strand_, which owns all members, the derived reactor's too.
template <class GrpcReactor>
class StrandReactor : public GrpcReactor {
 public:
  // Deleting on the strand: tasks queued before this one still see a live object, and the
  // state watch (destroyed here, on its executor) runs no callback afterwards.
  void OnDone() override {
    asio::post(strand_, [this] {
      watch_.reset();
      delete this;
    });
  }

 protected:
  explicit StrandReactor(const state::Executor& executor) : strand_(asio::make_strand(executor)) {}

  // Ends the call once, with the state watch dropped first.
  void finish(const Status& status) {
    if (finished_) return;
    finished_ = true;
    watch_.reset();
    this->Finish(status);
  }

  asio::strand<state::Executor> strand_;
  std::unique_ptr<state::Watch> watch_;
  bool finished_ = false;
};

// One Watch stream. Everything but the gRPC callbacks themselves runs on strand_. A client slower
// than the changes never makes the stream grow without bound: past max_pending queued items the
// stream reopens its state watch with a fresh bootstrap and sends the client only the difference to
// what it has already been sent.
class WatchReactor final : public StrandReactor<grpc::ServerWriteReactor<wire::WatchResponse>> {
 public:
  WatchReactor(state::State& state, const Policy& policy, Roles roles, state::Executor executor,
               const wire::WatchRequest& request, std::size_t max_pending)
      : StrandReactor(executor), state_(state), request_(request), max_pending_(max_pending) {
    asio::post(strand_, [this, &policy, roles] { start(policy, roles); });
  }

  void OnWriteDone(bool ok) override {
    asio::post(strand_, [this, ok] {
      writing_ = false;
      if (!ok) return finish(Status(StatusCode::CANCELLED, "client went away"));
      write_next();
    });
  }
  void OnCancel() override {
    asio::post(strand_, [this] { finish(Status(StatusCode::CANCELLED, "watch cancelled")); });
  }

 private:
  // An item the client still has to be sent: a batch (aggregated) or a single event.
  struct Outgoing {
    std::vector<Event> events;
  };

  bool single() const { return request_.has_id(); }

  void start(const Policy& policy, Roles roles) {
    Status status = guarded([&] {
      policy.check_read(roles, request_.namespace_(), request_.type());
      const auto& opts = request_.options();
      if (single() && (opts.bootstrap_contents() || opts.label_query_size() > 0)) {
        throw StatusError{Status(StatusCode::UNIMPLEMENTED,
                                 "bootstrap contents and label queries need a kind watch")};
      }
      filter_ = filter_from_proto(opts.label_query(), opts.id_query());
      open(/*fresh=*/false);
      return Status::OK;
    });
    if (!status.ok()) return finish(status);
    // The readiness handshake: one empty message before any event.
    queue_.push_back(Outgoing{});
    write_next();
  }

  // Opens the state watch. `fresh` reopens it after an overflow: a bootstrap of the current
  // contents that on_batch turns into a difference.
  void open(bool fresh) {
    const auto& opts = request_.options();
    auto cb = [this](state::WatchBatch batch) { on_batch(std::move(batch)); };
    if (single()) {
      state::WatchOptions wo;
      if (!fresh) {
        wo.tail_events = opts.tail_events();
        if (opts.has_start_from_bookmark()) wo.start_from_bookmark = opts.start_from_bookmark();
      }
      watch_ = state_.watch(Pointer{request_.namespace_(), request_.type(), request_.id()}, strand_,
                            cb, wo);
      return;
    }
    state::WatchKindOptions wo;
    wo.filter = filter_;
    if (fresh) {
      wo.bootstrap_contents = true;
    } else {
      wo.bootstrap_contents = opts.bootstrap_contents();
      wo.bootstrap_bookmark = opts.bootstrap_bookmark();
      wo.tail_events = opts.tail_events();
      if (opts.has_start_from_bookmark()) wo.start_from_bookmark = opts.start_from_bookmark();
    }
    watch_ =
        state_.watch_kind(resource::Kind{request_.namespace_(), request_.type()}, strand_, cb, wo);
  }

  void on_batch(state::WatchBatch batch) {
    if (finished_) return;
    // A difference is bounded by the number of resources, so it may exceed max_pending_.
    const bool catch_up = batch.resync || reopening_;
    if (catch_up) {
      reopening_ = false;
      batch.events = difference(batch.events);
    }
    if (request_.api_version() < 1) {
      std::erase_if(batch.events, [](const Event& e) {
        return e.type == EventType::kBootstrapped || e.type == EventType::kErrored;
      });
    }
    if (batch.events.empty()) return;
    if (request_.options().aggregated()) {
      queue_.push_back(Outgoing{std::move(batch.events)});
    } else {
      for (auto& e : batch.events) queue_.push_back(Outgoing{{std::move(e)}});
    }
    if (!catch_up && queue_.size() > max_pending_) return reopen();
    write_next();
  }

  // The client is too slow: drop what it has not been sent and start over from the current
  // contents (the message being written is already out of the queue).
  void reopen() {
    queue_.clear();
    watch_.reset();
    reopening_ = true;
    Status status = guarded([&] {
      open(/*fresh=*/true);
      return Status::OK;
    });
    if (!status.ok()) finish(status);
  }

  // Turns a bootstrap (Created per current resource, a closing marker with a bookmark) into
  // the events that bring the client from view_ to it.
  std::vector<Event> difference(const std::vector<Event>& bootstrap) {
    std::string bookmark;
    std::map<std::string, ResourcePtr, std::less<>> current;
    for (const auto& e : bootstrap) {
      if (!e.bookmark.empty()) bookmark = e.bookmark;
      if (e.type == EventType::kCreated) current.emplace(e.resource->metadata.id, e.resource);
    }
    std::vector<Event> out;
    for (const auto& [id, was] : view_) {
      if (!current.contains(id))
        out.push_back(Event{EventType::kDestroyed, was, nullptr, bookmark, {}});
    }
    for (const auto& [id, now] : current) {
      auto it = view_.find(id);
      if (it == view_.end()) {
        out.push_back(Event{EventType::kCreated, now, nullptr, bookmark, {}});
        continue;
      }
      const ResourcePtr& was = it->second;
      // Stored resources are never changed in place: the same object is the same version.
      if (was == now) continue;
      if (*was == *now || was->metadata.created != now->metadata.created) {
        // Destroyed and created again while the client lagged (equality ignores the times, so
        // an equal one is a new incarnation too): the client drops the old one.
        out.push_back(Event{EventType::kDestroyed, was, nullptr, bookmark, {}});
        out.push_back(Event{EventType::kCreated, now, nullptr, bookmark, {}});
      } else {
        out.push_back(Event{EventType::kUpdated, now, was, bookmark, {}});
      }
    }
    return out;
  }

  void write_next() {
    if (writing_ || finished_ || queue_.empty()) return;
    message_.Clear();
    for (const auto& e : queue_.front().events) {
      event_to_proto(e, message_.add_event());
      remember(e);
    }
    writing_ = true;
    StartWrite(&message_);
    queue_.pop_front();
  }

  // view_ is what the client has been sent: the base of difference().
  void remember(const Event& e) {
    switch (e.type) {
      case EventType::kCreated:
      case EventType::kUpdated:
        view_[e.resource->metadata.id] = e.resource;
        break;
      case EventType::kDestroyed:
        view_.erase(e.resource->metadata.id);
        break;
      default:
        break;
    }
  }

  // Also drops what the client has not been sent.
  void finish(const Status& status) {
    queue_.clear();
    StrandReactor::finish(status);
  }

  state::State& state_;
  const wire::WatchRequest request_;
  const std::size_t max_pending_;

  state::ResourceFilter filter_;
  std::deque<Outgoing> queue_;
  std::map<std::string, ResourcePtr, std::less<>> view_;
  wire::WatchResponse message_;
  bool writing_ = false;
  bool reopening_ = false;
};

// TeardownAndDestroy: tears down, waits until no finalizers remain, destroys. The wait is a
// single-resource watch; the call ends early when the client cancels.
class TeardownAndDestroyReactor final : public StrandReactor<grpc::ServerUnaryReactor> {
 public:
  TeardownAndDestroyReactor(state::State& state, state::Executor executor, Pointer ptr,
                            std::string owner)
      : StrandReactor(executor), state_(state), ptr_(std::move(ptr)), owner_(std::move(owner)) {
    asio::post(strand_, [this] { start(); });
  }

  void OnCancel() override {
    asio::post(strand_, [this] { finish(Status(StatusCode::CANCELLED, "cancelled")); });
  }

 private:
  void start() {
    bool waiting = false;
    Status status = guarded([&] {
      if (state_.teardown(ptr_, state::TeardownOptions{owner_})) {
        state_.destroy(ptr_, state::DestroyOptions{owner_});
      } else {
        watch_ = state_.watch(ptr_, strand_,
                              [this](state::WatchBatch batch) { on_batch(std::move(batch)); });
        waiting = true;
      }
      return Status::OK;
    });
    if (!waiting) finish(status);
  }

  void on_batch(const state::WatchBatch& batch) {
    if (finished_ || batch.events.empty()) return;
    const Event& last = batch.events.back();
    // Destroyed by someone else counts as done (runtime a32ff66).
    if (last.type == EventType::kDestroyed) return finish(Status::OK);
    if (last.resource == nullptr || !last.resource->metadata.finalizers.empty()) return;
    finish(guarded([&] {
      try {
        state_.destroy(ptr_, state::DestroyOptions{owner_});
      } catch (const state::Error& e) {
        if (e.code() != state::ErrorCode::kNotFound) throw;
      }
      return Status::OK;
    }));
  }

  state::State& state_;
  const Pointer ptr_;
  const std::string owner_;
};

class StateService final : public wire::State::CallbackService {
 public:
  StateService(state::State& state, state::Executor executor, const StateServiceOptions& options)
      : state_(state), executor_(std::move(executor)), options_(options), policy_(state, options) {}

  grpc::ServerUnaryReactor* Get(CallbackServerContext* ctx, const wire::GetRequest* req,
                                wire::GetResponse* resp) override {
    return unary(ctx, [&] {
      policy_.check_read(policy_.roles(*ctx), req->namespace_(), req->type());
      Pointer ptr{req->namespace_(), req->type(), req->id()};
      auto r = state_.get(ptr);
      if (r == nullptr) {
        return Status(StatusCode::NOT_FOUND, resource::not_found_message(ptr));
      }
      to_proto(*r, resp->mutable_resource());
      return Status::OK;
    });
  }

  grpc::ServerWriteReactor<wire::ListResponse>* List(CallbackServerContext* ctx,
                                                     const wire::ListRequest* req) override {
    std::vector<ResourcePtr> items;
    Status status = guarded([&] {
      policy_.check_read(policy_.roles(*ctx), req->namespace_(), req->type());
      state::ListOptions opts{
          filter_from_proto(req->options().label_query(), req->options().id_query())};
      items = state_.list(resource::Kind{req->namespace_(), req->type()}, opts);
      return Status::OK;
    });
    auto* reactor = new ListReactor(status.ok() ? std::move(items) : std::vector<ResourcePtr>{});
    if (!status.ok()) reactor->Finish(status);
    return reactor;
  }

  grpc::ServerUnaryReactor* Create(CallbackServerContext* ctx, const wire::CreateRequest* req,
                                   wire::CreateResponse* resp) override {
    return unary(ctx, [&] {
      policy_.check_write(policy_.roles(*ctx));
      auto r = from_proto(req->resource());
      const std::string& owner = req->options().owner();
      if (!r.metadata.owner.empty() && r.metadata.owner != owner) {
        return Status(StatusCode::UNKNOWN, "resource owner \"" + r.metadata.owner +
                                               "\" does not match the create owner \"" + owner +
                                               "\"");
      }
      to_proto(*state_.create(std::move(r), state::CreateOptions{owner}), resp->mutable_resource());
      return Status::OK;
    });
  }

  grpc::ServerUnaryReactor* Update(CallbackServerContext* ctx, const wire::UpdateRequest* req,
                                   wire::UpdateResponse* resp) override {
    return unary(ctx, [&] {
      policy_.check_write(policy_.roles(*ctx));
      state::UpdateOptions opts{req->options().owner(), std::nullopt};
      if (req->options().has_expected_phase()) {
        opts.expected_phase = resource::parse_phase(req->options().expected_phase());
        if (!opts.expected_phase) {
          return Status(StatusCode::INVALID_ARGUMENT,
                        "unknown phase \"" + req->options().expected_phase() + "\"");
        }
      }
      to_proto(*state_.update(from_proto(req->new_resource()), opts), resp->mutable_resource());
      return Status::OK;
    });
  }

  grpc::ServerUnaryReactor* Destroy(CallbackServerContext* ctx, const wire::DestroyRequest* req,
                                    wire::DestroyResponse*) override {
    return unary(ctx, [&] {
      policy_.check_write(policy_.roles(*ctx));
      state_.destroy(Pointer{req->namespace_(), req->type(), req->id()},
                     state::DestroyOptions{req->options().owner()});
      return Status::OK;
    });
  }

  grpc::ServerUnaryReactor* Teardown(CallbackServerContext* ctx, const wire::TeardownRequest* req,
                                     wire::TeardownResponse* resp) override {
    return unary(ctx, [&] {
      policy_.check_write(policy_.roles(*ctx));
      resp->set_destroy_ready(state_.teardown(Pointer{req->namespace_(), req->type(), req->id()},
                                              state::TeardownOptions{req->options().owner()}));
      return Status::OK;
    });
  }

  grpc::ServerUnaryReactor* TeardownAndDestroy(CallbackServerContext* ctx,
                                               const wire::TeardownAndDestroyRequest* req,
                                               wire::TeardownAndDestroyResponse*) override {
    Status denied = guarded([&] {
      policy_.check_write(policy_.roles(*ctx));
      return Status::OK;
    });
    if (!denied.ok()) return unary(ctx, [&] { return denied; });
    return new TeardownAndDestroyReactor(state_, executor_,
                                         Pointer{req->namespace_(), req->type(), req->id()},
                                         req->options().owner());
  }

  grpc::ServerWriteReactor<wire::WatchResponse>* Watch(CallbackServerContext* ctx,
                                                       const wire::WatchRequest* req) override {
    return new WatchReactor(state_, policy_, policy_.roles(*ctx), executor_, *req,
                            options_.max_pending_watch_messages);
  }

 private:
  template <class Fn>
  grpc::ServerUnaryReactor* unary(CallbackServerContext* ctx, Fn&& fn) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(guarded(std::forward<Fn>(fn)));
    return reactor;
  }

  state::State& state_;
  state::Executor executor_;
  const StateServiceOptions options_;
  const Policy policy_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_state_service(state::State& state, state::Executor executor,
                                                  const StateServiceOptions& options) {
  return std::make_unique<StateService>(state, std::move(executor), options);
}

}  // namespace runtime::api
