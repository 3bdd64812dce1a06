// libFuzzer target: machined's COSI State gRPC service (the real service class, its handlers
// called directly without a server) over an in-memory State holding the built-in resource
// definitions, in both access modes (the local socket's read-write one and the TLS port's
// read-only one). The input is a program of small ops: Create, Update, Destroy, Teardown,
// TeardownAndDestroy, Get, List and Watch requests, built from small choice spaces (so they
// collide) or decoded from wire bytes, with label queries and ID patterns; stream writes that
// the harness completes, fails or cancels. Checked after every step: each answer agrees with what
// the State holds, a refused write changes nothing, the read-only service never writes or shows
// what it must not, label queries survive their wire round trip, and every drained watch
// converges to what List returns.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cosi/v1alpha1/meta.pb.h"
#include "cosi/v1alpha1/state.grpc.pb.h"
#include "resources/register.h"
#include "runtime/api/convert.h"
#include "runtime/api/state_service.h"
#include "runtime/registry/registry.h"
#include "runtime/state/inmem_state.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/grpc_calls.h"

namespace {

namespace api = runtime::api;
namespace wire = ::cosi::resource;
namespace rs = runtime::state;
using fuzz::check;
using fuzz::fail;
using google::protobuf::util::MessageDifferencer;
using runtime::resource::Pointer;

constexpr std::size_t kMaxStreams = 6;
constexpr std::size_t kMaxPending = 4;  // small, so slow watch clients overflow and resync

// Small choice spaces, so requests collide; registered types (one sensitive) and unknown ones.
const char* const kNamespaces[] = {"cluster", "default", "meta", "kubespan", ""};
const char* const kTypes[] = {"Members.cluster.talos.dev",
                              "Identities.cluster.talos.dev",
                              "Identities.kubespan.talos.dev",
                              "Custom.test.dev",
                              "ResourceDefinitions.meta.cosi.dev",
                              "Namespaces.meta.cosi.dev",
                              ""};
const char* const kIds[] = {"r0", "r1", "r2", "r10", "local", "members.cluster.talos.dev", ""};
const char* const kOwners[] = {"", "ctl", "other"};
const char* const kLabelKeys[] = {"role", "size", "a", ""};
const char* const kLabelValues[] = {"1", "2", "10", "x", "", "2k", "3Gi", "-4"};
const char* const kPatterns[] = {"", "r[0-1]", "^r1$", "(", "r.*0", "local|members", "\\pL+"};

template <std::size_t N>
std::string pick(fuzz::Input& in, const char* const (&choices)[N]) {
  const std::size_t c = in.u8();
  return c == 0xff ? in.str() : choices[c % N];
}

bool same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return MessageDifferencer::Equals(a, b);
}

wire::Resource wire_of(const rs::ResourcePtr& r) {
  wire::Resource out;
  api::to_proto(*r, &out);
  return out;
}

using View = std::map<std::string, wire::Resource>;

View view_of(const std::vector<rs::ResourcePtr>& list) {
  View out;
  for (const auto& r : list) out[r->metadata.id] = wire_of(r);
  return out;
}

bool same(const View& a, const View& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (i->first != j->first || !same(i->second, j->second)) return false;
  }
  return true;
}

void fill_labels(fuzz::Input& in, google::protobuf::RepeatedPtrField<wire::LabelQuery>* queries) {
  const std::uint8_t shape = in.u8();
  for (int q = 0; q < shape % 3; ++q) {
    auto* query = queries->Add();
    const std::uint8_t terms = in.u8();
    for (int t = 0; t < terms % 4; ++t) {
      auto* term = query->add_terms();
      term->set_key(pick(in, kLabelKeys));
      const std::uint8_t op = in.u8();
      term->set_op(static_cast<wire::LabelTerm::Operation>(op % 10));  // 8, 9: unknown
      for (int v = 0; v < (op >> 4) % 3; ++v) term->add_value(pick(in, kLabelValues));
      term->set_invert((op & 0x80) != 0);
    }
  }
}

// One Watch stream and the client's view built from it.
struct Stream {
  wire::WatchRequest request;
  fuzz::StreamCall<wire::WatchResponse> call;
  bool read_only = false;
  bool ready = false;    // the handshake (an empty first message) arrived
  bool errored = false;  // an Errored event: the view is no longer maintained
  bool over = false;
  View view;
  bool single_present = false;  // single-resource watches: whether the resource exists
  wire::Resource single;
};

class Harness {
 public:
  Harness() {
    registry_ = runtime::registry::make_state_registry(state_);
    resources::register_all(*registry_);
    rw_ = service(api::Access::kReadWrite);
    ro_ = service(api::Access::kReadOnly);
  }

  ~Harness() {
    for (auto& s : streams_) {
      if (!s->over) s->call.cancel();
    }
    for (auto& call : pending_) call->cancel();
    // Runs what the cancellations queued, then lets every call end as gRPC would.
    for (int round = 0; round < 64; ++round) {
      poll();
      bool all_over = true;
      for (auto& s : streams_) {
        while (s->call.complete_write(false)) poll();
        if (!s->over && s->call.maybe_done()) s->over = true;
        all_over = all_over && s->over;
      }
      for (auto& call : pending_) {
        call->done();
        all_over = all_over && call->over();
      }
      if (all_over) break;
    }
    poll();
  }

  void create(bool read_only, const wire::CreateRequest& req) {
    const Pointer ptr = pointer_of(req.resource().metadata());
    const auto before = state_.get(ptr);
    const auto status = unary(read_only, [&](wire::State::CallbackService& s, auto* ctx) {
      wire::CreateResponse resp;
      return s.Create(ctx, &req, &resp);
    });
    if (read_only) return expect_denied(status, ptr, before);
    if (!status.ok()) return expect_unchanged(ptr, before, status);
    check(before == nullptr, "Create succeeds only for a new resource", status.error_message());
    const auto after = state_.get(ptr);
    check(after != nullptr, "a created resource is stored");
    check(after->metadata.version == 1, "a created resource has version 1");
    check(after->metadata.owner == req.options().owner(), "a created resource has its owner");
    expect_content(req.resource(), *after, "Create stores what was sent");
  }

  void update(bool read_only, const wire::UpdateRequest& req) {
    const Pointer ptr = pointer_of(req.new_resource().metadata());
    const auto before = state_.get(ptr);
    const auto status = unary(read_only, [&](wire::State::CallbackService& s, auto* ctx) {
      wire::UpdateResponse resp;
      return s.Update(ctx, &req, &resp);
    });
    if (read_only) return expect_denied(status, ptr, before);
    if (before == nullptr) {
      check(!status.ok(), "an update of a missing resource fails");
      if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
        check(status.error_code() == grpc::StatusCode::NOT_FOUND, "missing: NOT_FOUND",
              status.error_message());
      }
    }
    if (!status.ok()) return expect_unchanged(ptr, before, status);
    const auto after = state_.get(ptr);
    check(after != nullptr, "an updated resource is stored");
    check(before->metadata.owner == req.options().owner(), "only the owner updates");
    check(after->metadata.owner == before->metadata.owner, "an update keeps the owner");
    check(after->metadata.version == before->metadata.version + 1, "an update bumps the version");
    check(after->metadata.created == before->metadata.created, "an update keeps the created time");
    expect_content(req.new_resource(), *after, "Update stores what was sent");
  }

  void destroy(bool read_only, const wire::DestroyRequest& req) {
    const Pointer ptr{req.namespace_(), req.type(), req.id()};
    const auto before = state_.get(ptr);
    const auto status = unary(read_only, [&](wire::State::CallbackService& s, auto* ctx) {
      wire::DestroyResponse resp;
      return s.Destroy(ctx, &req, &resp);
    });
    if (read_only) return expect_denied(status, ptr, before);
    if (!status.ok()) return expect_unchanged(ptr, before, status);
    check(before != nullptr, "only an existing resource is destroyed");
    check(before->metadata.finalizers.empty(), "nothing with finalizers is destroyed");
    check(before->metadata.owner == req.options().owner(), "only the owner destroys");
    check(state_.get(ptr) == nullptr, "a destroyed resource is gone");
  }

  void teardown(bool read_only, const wire::TeardownRequest& req) {
    const Pointer ptr{req.namespace_(), req.type(), req.id()};
    const auto before = state_.get(ptr);
    wire::TeardownResponse resp;
    const auto status = unary(read_only, [&](wire::State::CallbackService& s, auto* ctx) {
      return s.Teardown(ctx, &req, &resp);
    });
    if (read_only) return expect_denied(status, ptr, before);
    if (!status.ok()) return expect_unchanged(ptr, before, status);
    const auto after = state_.get(ptr);
    check(after != nullptr && after->metadata.phase == rs::Phase::kTearingDown,
          "a torn down resource is tearing down");
    check(resp.destroy_ready() == after->metadata.finalizers.empty(),
          "destroy_ready says whether finalizers remain");
  }

  void teardown_and_destroy(bool read_only, const wire::TeardownAndDestroyRequest& req) {
    if (pending_.size() >= kMaxStreams) return;
    const Pointer ptr{req.namespace_(), req.type(), req.id()};
    const auto before = state_.get(ptr);
    auto call = std::make_unique<fuzz::UnaryCall>();
    wire::TeardownAndDestroyResponse resp;
    call->bind((read_only ? *ro_ : *rw_).TeardownAndDestroy(call->context(), &req, &resp));
    if (read_only) {
      check(call->status().has_value(), "a read-only TeardownAndDestroy ends at once");
      expect_denied(*call->status(), ptr, before);
    }
    poll();
    pending_.push_back(std::move(call));
    settle_pending();
  }

  void get(bool read_only, const wire::GetRequest& req) {
    wire::GetResponse resp;
    const auto status = unary(read_only, [&](wire::State::CallbackService& s, auto* ctx) {
      return s.Get(ctx, &req, &resp);
    });
    const Pointer ptr{req.namespace_(), req.type(), req.id()};
    if (read_only && !status.ok() && status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      return;
    }
    if (read_only) expect_readable(req.namespace_(), req.type());
    const auto stored = state_.get(ptr);
    if (stored == nullptr) {
      check(status.error_code() == grpc::StatusCode::NOT_FOUND, "Get of a missing resource",
            status.error_message());
      return;
    }
    check(status.ok(), "Get of a stored resource succeeds", status.error_message());
    check(same(resp.resource(), wire_of(stored)), "Get answers what is stored");
  }

  void list(bool read_only, const wire::ListRequest& req) {
    fuzz::StreamCall<wire::ListResponse> call;
    call.bind((read_only ? *ro_ : *rw_).List(call.context(), &req));
    std::vector<wire::Resource> got;
    while (const auto* msg = call.in_flight()) {
      got.push_back(msg->resource());
      call.complete_write(true);
    }
    check(call.status().has_value(), "List finishes");
    check(call.maybe_done(), "List ends");
    const auto& status = *call.status();
    if (read_only && status.error_code() == grpc::StatusCode::PERMISSION_DENIED) return;
    if (read_only) expect_readable(req.namespace_(), req.type());
    const auto filter = filter_of(req.options().label_query(), req.options().id_query());
    if (!filter) {
      check(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT,
            "a query that cannot be evaluated is refused", status.error_message());
      return;
    }
    check(status.ok(), "a valid List succeeds", status.error_message());
    // Everything of the kind that matches, sorted by ID, nothing else.
    std::vector<wire::Resource> want;
    for (const auto& r : state_.list({req.namespace_(), req.type()})) {
      if (filter->matches(r->metadata)) want.push_back(wire_of(r));
    }
    check(got.size() == want.size(), "List returns every match and nothing else");
    for (std::size_t i = 0; i < got.size(); ++i) {
      check(same(got[i], want[i]), "List returns the stored resources in ID order");
    }
    check_query_round_trip(*filter);
  }

  void watch(bool read_only, const wire::WatchRequest& req) {
    std::erase_if(streams_, [](const std::unique_ptr<Stream>& s) { return s->over; });
    if (streams_.size() >= kMaxStreams) return;
    auto s = std::make_unique<Stream>();
    s->request = req;
    s->read_only = read_only;
    s->call.bind((read_only ? *ro_ : *rw_).Watch(s->call.context(), &s->request));
    streams_.push_back(std::move(s));
    poll();
  }

  // Completes up to `count` writes of one stream (`ok` false: the client is gone).
  void deliver(std::size_t index, std::size_t count, bool ok) {
    if (streams_.empty()) return;
    Stream& s = *streams_[index % streams_.size()];
    for (std::size_t i = 0; i < count && take(s, ok); ++i) poll();
    settle(s);
  }

  void cancel(std::size_t index) {
    if (!streams_.empty()) {
      Stream& s = *streams_[index % streams_.size()];
      if (!s.over) s.call.cancel();
      poll();
      settle(s);
    }
    if (!pending_.empty()) pending_[index % pending_.size()]->cancel();
    poll();
    settle_pending();
  }

  // Drains every stream; a live, error-free one must then agree with the State.
  void sync() {
    for (int round = 0; round < 8; ++round) {
      bool moved = false;
      for (auto& s : streams_) {
        while (!s->over && take(*s, true)) {
          moved = true;
          poll();
        }
        settle(*s);
      }
      if (!moved) break;
    }
    for (auto& s : streams_) {
      if (s->over || s->call.status() || !s->ready || s->errored) continue;
      const auto& r = s->request;
      // A watch that resumes (from a bookmark, or with a tail) builds on a view of the client's
      // own from before it; only one that starts from the current contents can be compared.
      if (r.options().has_start_from_bookmark() || r.options().tail_events() > 0) continue;
      if (r.has_id()) {
        const auto stored = state_.get(Pointer{r.namespace_(), r.type(), r.id()});
        check(s->single_present == (stored != nullptr), "a drained watch knows whether it exists");
        if (stored != nullptr)
          check(same(s->single, wire_of(stored)), "a drained watch is current");
        continue;
      }
      if (!r.options().bootstrap_contents()) continue;  // its view started empty
      const auto filter = filter_of(r.options().label_query(), r.options().id_query());
      check(filter.has_value(), "an accepted watch has a valid query");
      std::vector<rs::ResourcePtr> want;
      for (const auto& res : state_.list({r.namespace_(), r.type()})) {
        if (filter->matches(res->metadata)) want.push_back(res);
      }
      check(same(s->view, view_of(want)), "a drained watch converges to List");
    }
  }

  const rs::State& state() const { return state_; }

  // Bookmarks seen in events, for later watches to start from.
  const std::vector<std::string>& bookmarks() const { return bookmarks_; }

 private:
  // The read-only service as machined's TCP API serves a reader; the read-write one as its socket.
  static api::StateServiceOptions options(api::Access access) {
    api::StateServiceOptions out;
    out.access = access;
    if (access == api::Access::kReadOnly)
      out.authenticator = api::fixed_roles({api::Role::kReader});
    out.max_pending_watch_messages = kMaxPending;
    return out;
  }

  std::unique_ptr<wire::State::CallbackService> service(api::Access access) {
    std::unique_ptr<grpc::Service> base =
        api::make_state_service(state_, io_.get_executor(), options(access));
    auto* typed = dynamic_cast<wire::State::CallbackService*>(base.get());
    check(typed != nullptr, "the State service is a cosi.resource.State callback service");
    base.release();
    return std::unique_ptr<wire::State::CallbackService>(typed);
  }

  template <class Call>
  grpc::Status unary(bool read_only, Call&& call) {
    auto& s = read_only ? *ro_ : *rw_;
    return fuzz::unary([&](grpc::CallbackServerContext* ctx) { return call(s, ctx); });
  }

 public:
  // Runs what the streams and pending calls queued. Only between steps: a pending
  // TeardownAndDestroy may act on what a step just wrote, after the step's checks.
  void poll() {
    io_.restart();
    while (io_.poll() > 0) {
    }
  }

 private:
  static Pointer pointer_of(const wire::Metadata& md) {
    return Pointer{md.namespace_(), md.type(), md.id()};
  }

  // The filter the wire query stands for, or null when it cannot be evaluated.
  static std::optional<rs::ResourceFilter> filter_of(
      const google::protobuf::RepeatedPtrField<wire::LabelQuery>& labels, const wire::IDQuery& id) {
    try {
      return api::filter_from_proto(labels, id);
    } catch (const rs::Error& e) {
      check(e.code() == rs::ErrorCode::kInvalidArgument, "a bad query is an invalid argument");
      return std::nullopt;
    }
  }

  // The query sent back over the wire means the same, on every resource the State holds; an
  // inverted term of a non-ordering operator matches exactly where the plain one does not.
  void check_query_round_trip(const rs::ResourceFilter& filter) {
    google::protobuf::RepeatedPtrField<wire::LabelQuery> sent;
    wire::IDQuery sent_id;
    api::filter_to_proto(filter, &sent, &sent_id);
    const auto back = filter_of(sent, sent_id);
    check(back.has_value(), "a query survives its wire round trip");
    for (const auto& ns : kNamespaces) {
      for (const auto& type : kTypes) {
        for (const auto& r : state_.list({ns, type})) {
          check(back->matches(r->metadata) == filter.matches(r->metadata),
                "a round-tripped query matches the same resources", r->metadata.id);
          for (const auto& q : filter.label_queries) {
            for (auto term : q.terms) {
              const bool plain = term.matches(r->metadata.labels);
              term.invert = !term.invert;
              const bool inverted = term.matches(r->metadata.labels);
              check(!(plain && inverted), "a term and its inversion never both match");
              const bool ordering = term.op == rs::LabelOp::kLt || term.op == rs::LabelOp::kLte ||
                                    term.op == rs::LabelOp::kLtNumeric ||
                                    term.op == rs::LabelOp::kLteNumeric;
              if (!ordering) check(plain != inverted, "inverting a term negates it");
            }
          }
        }
      }
    }
  }

  void expect_denied(const grpc::Status& status, const Pointer& ptr,
                     const rs::ResourcePtr& before) {
    check(status.error_code() == grpc::StatusCode::PERMISSION_DENIED,
          "the read-only service refuses writes", status.error_message());
    check(state_.get(ptr) == before, "a refused write changes nothing");
  }

  void expect_unchanged(const Pointer& ptr, const rs::ResourcePtr& before,
                        const grpc::Status& status) {
    check(state_.get(ptr) == before, "a failed write changes nothing", status.error_message());
  }

  // What the read-only service may show: registered, non-sensitive types in registered
  // namespaces.
  void expect_readable(const std::string& ns, const std::string& type) {
    std::string lower = type;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto rd = state_.get(Pointer{"meta", "ResourceDefinitions.meta.cosi.dev", lower});
    check(rd != nullptr && rd->spec != nullptr, "read-only reads only registered types", type);
    wire::meta::ResourceDefinitionSpec spec;
    check(spec.ParseFromString(rd->spec->proto_bytes()) &&
              spec.sensitivity() != wire::meta::ResourceDefinitionSpec::SENSITIVE,
          "read-only reads never show sensitive types", type);
    check(state_.get(Pointer{"meta", "Namespaces.meta.cosi.dev", ns}) != nullptr,
          "read-only reads only registered namespaces", ns);
  }

  // Labels, annotations, finalizers, phase and spec are stored as sent.
  static void expect_content(const wire::Resource& sent, const rs::Resource& stored,
                             const char* what) {
    const auto parsed = api::from_proto(sent);
    check(parsed.metadata.labels == stored.metadata.labels, what, "labels");
    check(parsed.metadata.annotations == stored.metadata.annotations, what, "annotations");
    check(parsed.metadata.finalizers == stored.metadata.finalizers, what, "finalizers");
    check(parsed.metadata.phase == stored.metadata.phase, what, "phase");
    check(stored.spec != nullptr && parsed.spec->proto_bytes() == stored.spec->proto_bytes() &&
              parsed.spec->yaml() == stored.spec->yaml(),
          what, "spec");
  }

  // Takes the stream's message in flight into its view and completes the write.
  bool take(Stream& s, bool ok) {
    const wire::WatchResponse* msg = s.call.in_flight();
    if (msg == nullptr) return false;
    if (ok) {
      if (!s.ready) {
        check(msg->event_size() == 0, "a watch starts with an empty handshake message");
        s.ready = true;
      } else {
        check(msg->event_size() > 0, "every later watch message carries events");
        if (!s.request.options().aggregated()) check(msg->event_size() == 1, "one event each");
      }
      for (const auto& e : msg->event()) apply(s, e);
    }
    s.call.complete_write(ok);
    return true;
  }

  void apply(Stream& s, const wire::Event& e) {
    if (e.has_bookmark() && bookmarks_.size() < 16) bookmarks_.push_back(e.bookmark());
    if (s.request.api_version() < 1) {
      check(e.event_type() != wire::BOOTSTRAPPED && e.event_type() != wire::ERRORED,
            "old clients get no Bootstrapped or Errored events");
    }
    const bool single = s.request.has_id();
    switch (e.event_type()) {
      case wire::CREATED:
      case wire::UPDATED:
        check(e.has_resource(), "a change carries its resource");
        if (single) {
          check(e.resource().metadata().id() == s.request.id(), "a single watch sees its resource");
          s.single_present = true;
          s.single = e.resource();
        } else {
          s.view[e.resource().metadata().id()] = e.resource();
        }
        break;
      case wire::DESTROYED:
        check(e.has_resource(), "a deletion names its resource");
        if (single) {
          s.single_present = false;
        } else {
          s.view.erase(e.resource().metadata().id());
        }
        break;
      case wire::ERRORED:
        s.errored = true;
        break;
      default:
        break;
    }
  }

  void settle(Stream& s) {
    if (!s.over && s.call.maybe_done()) {
      s.over = true;
      poll();
    }
  }

  void settle_pending() {
    for (auto& call : pending_) call->done();
    poll();
    std::erase_if(pending_, [](const std::unique_ptr<fuzz::UnaryCall>& c) { return c->over(); });
  }

  boost::asio::io_context io_;  // runs the streams' strands; outlives everything below
  rs::InMemoryState state_{rs::InMemoryStateOptions{4, 8, 1}};
  std::unique_ptr<runtime::registry::Registry> registry_;
  std::unique_ptr<wire::State::CallbackService> rw_;
  std::unique_ptr<wire::State::CallbackService> ro_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<fuzz::UnaryCall>> pending_;
  std::vector<std::string> bookmarks_;
};

void fill_metadata(fuzz::Input& in, wire::Metadata* md) {
  md->set_namespace_(pick(in, kNamespaces));
  md->set_type(pick(in, kTypes));
  md->set_id(pick(in, kIds));
  const std::uint8_t shape = in.u8();
  if (shape & 1) md->set_owner(pick(in, kOwners));
  if (shape & 2) md->set_phase((shape & 4) ? "tearingDown" : ((shape & 8) ? "bogus" : "running"));
  for (int i = 0; i < (shape >> 4) % 4; ++i) {
    (*md->mutable_labels())[pick(in, kLabelKeys)] = pick(in, kLabelValues);
  }
  if (shape & 0x40) md->add_finalizers(in.flag() ? "f1" : "f2");
  if (shape & 0x80) (*md->mutable_annotations())["note"] = pick(in, kLabelValues);
}

wire::Resource resource(fuzz::Input& in) {
  wire::Resource r;
  fill_metadata(in, r.mutable_metadata());
  r.mutable_metadata()->set_version("1");
  r.mutable_spec()->set_proto_spec(in.str());
  r.mutable_spec()->set_yaml_spec("value: " + std::to_string(in.u8()) + "\n");
  return r;
}

std::string version_choice(fuzz::Input& in, const rs::State& state, const wire::Metadata& md) {
  const auto current = state.get(Pointer{md.namespace_(), md.type(), md.id()});
  const std::uint64_t v = current ? current->metadata.version : 1;
  switch (in.u8() % 6) {
    case 0:
    case 1:
      return std::to_string(v);
    case 2:
      return std::to_string(v + 1);
    case 3:
      return "undefined";
    case 4:
      return "18446744073709551615";
    default:
      return "x1";
  }
}

template <class Request>
void fill_pointer(fuzz::Input& in, Request& req) {
  req.set_namespace_(pick(in, kNamespaces));
  req.set_type(pick(in, kTypes));
  req.set_id(pick(in, kIds));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf's complaints about invalid UTF-8 in wire bytes are expected here.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  Harness h;
  for (int steps = 0; !in.empty() && steps < 256; ++steps) {
    const std::uint8_t op = in.u8();
    const bool ro = (op & 0x80) != 0;
    switch ((op & 0x7f) % 12) {
      case 0: {
        wire::CreateRequest req;
        *req.mutable_resource() = resource(in);
        req.mutable_options()->set_owner(pick(in, kOwners));
        h.create(ro, req);
        break;
      }
      case 1: {
        wire::UpdateRequest req;
        *req.mutable_new_resource() = resource(in);
        req.mutable_options()->set_owner(pick(in, kOwners));
        const std::uint8_t phase = in.u8();
        if (phase % 4 == 1) req.mutable_options()->set_expected_phase("running");
        if (phase % 4 == 2) req.mutable_options()->set_expected_phase("tearingDown");
        if (phase % 4 == 3) req.mutable_options()->set_expected_phase("ended");
        auto* md = req.mutable_new_resource()->mutable_metadata();
        md->set_version(version_choice(in, h.state(), *md));
        h.update(ro, req);
        break;
      }
      case 2: {
        wire::DestroyRequest req;
        fill_pointer(in, req);
        req.mutable_options()->set_owner(pick(in, kOwners));
        h.destroy(ro, req);
        break;
      }
      case 3: {
        wire::TeardownRequest req;
        fill_pointer(in, req);
        req.mutable_options()->set_owner(pick(in, kOwners));
        h.teardown(ro, req);
        break;
      }
      case 4: {
        wire::TeardownAndDestroyRequest req;
        fill_pointer(in, req);
        req.mutable_options()->set_owner(pick(in, kOwners));
        h.teardown_and_destroy(ro, req);
        break;
      }
      case 5: {
        wire::GetRequest req;
        fill_pointer(in, req);
        h.get(ro, req);
        break;
      }
      case 6: {
        wire::ListRequest req;
        req.set_namespace_(pick(in, kNamespaces));
        req.set_type(pick(in, kTypes));
        fill_labels(in, req.mutable_options()->mutable_label_query());
        req.mutable_options()->mutable_id_query()->set_regexp(pick(in, kPatterns));
        h.list(ro, req);
        break;
      }
      case 7: {
        wire::WatchRequest req;
        req.set_namespace_(pick(in, kNamespaces));
        req.set_type(pick(in, kTypes));
        const std::uint8_t shape = in.u8();
        if (shape & 1) req.set_id(pick(in, kIds));
        auto* opts = req.mutable_options();
        opts->set_bootstrap_contents((shape & 2) != 0);
        opts->set_aggregated((shape & 4) != 0);
        opts->set_bootstrap_bookmark((shape & 8) != 0);
        req.set_api_version((shape & 16) ? 1 : 0);
        if (shape & 32) opts->set_tail_events(static_cast<std::int8_t>(in.u8()));
        if (shape & 64) {
          const std::uint8_t b = in.u8();
          opts->set_start_from_bookmark(b < h.bookmarks().size() ? h.bookmarks()[b] : in.str());
        }
        if (shape & 128) {
          fill_labels(in, opts->mutable_label_query());
          opts->mutable_id_query()->set_regexp(pick(in, kPatterns));
        }
        h.watch(ro, req);
        break;
      }
      case 8: {
        const std::uint8_t which = in.u8();
        const std::uint8_t how = in.u8();
        h.deliver(which, how % 8 + 1, how < 0xf0);
        break;
      }
      case 9:
        h.cancel(in.u8());
        break;
      case 10:
        h.sync();
        break;
      case 11: {  // requests as the wire delivers them
        const std::uint8_t kind = in.u8();
        const std::string bytes = in.str();
        switch (kind % 6) {
          case 0: {
            wire::CreateRequest req;
            if (req.ParseFromString(bytes)) h.create(ro, req);
            break;
          }
          case 1: {
            wire::UpdateRequest req;
            if (req.ParseFromString(bytes)) h.update(ro, req);
            break;
          }
          case 2: {
            wire::ListRequest req;
            if (req.ParseFromString(bytes)) h.list(ro, req);
            break;
          }
          case 3: {
            wire::WatchRequest req;
            if (req.ParseFromString(bytes)) h.watch(ro, req);
            break;
          }
          case 4: {
            wire::GetRequest req;
            if (req.ParseFromString(bytes)) h.get(ro, req);
            break;
          }
          default: {
            wire::DestroyRequest req;
            if (req.ParseFromString(bytes)) h.destroy(ro, req);
            break;
          }
        }
        break;
      }
    }
    h.poll();
  }
  h.sync();
  return 0;
}
