// The State gRPC service over a real server on 127.0.0.1: status codes, the watch handshake and
// events, and the read-only access policy.
#include "runtime/api/state_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "cosi/v1alpha1/meta.pb.h"
#include "cosi/v1alpha1/state.grpc.pb.h"
#include "runtime/api/convert.h"
#include "runtime/resource/proto_spec.h"
#include "runtime/state/inmem_state.h"
#include "tests/runtime/api/test_server.h"
#include "tests/support/eventually.h"

namespace runtime::api {
namespace {

namespace wire = ::cosi::resource;
using resource::Metadata;
using resource::OpaqueSpec;
using resource::Pointer;
using resource::Resource;
using ::testing::ElementsAre;

constexpr char kNs[] = "default";
constexpr char kType[] = "Tests.test.dev";

Resource make(const std::string& id, const std::string& yaml = "value: 1\n",
              resource::Labels labels = {}) {
  Resource r{Metadata(Pointer{kNs, kType, id}), std::make_shared<OpaqueSpec>("", yaml)};
  r.metadata.labels = std::move(labels);
  return r;
}

std::unique_ptr<grpc::ClientContext> context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

wire::Resource to_wire(const Resource& r) {
  wire::Resource out;
  to_proto(r, &out);
  return out;
}

grpc::Status create_status(Server& s, const Resource& r, const std::string& owner = "",
                           wire::CreateResponse* out = nullptr) {
  wire::CreateRequest req;
  *req.mutable_resource() = to_wire(r);
  req.mutable_options()->set_owner(owner);
  wire::CreateResponse resp;
  return s.stub().Create(context().get(), req, out ? out : &resp);
}

grpc::StatusCode create(Server& s, const Resource& r, const std::string& owner = "",
                        wire::CreateResponse* out = nullptr) {
  return create_status(s, r, owner, out).error_code();
}

grpc::StatusCode update(Server& s, const Resource& r, const std::string& owner,
                        std::optional<std::string> phase, wire::UpdateResponse* out = nullptr) {
  wire::UpdateRequest req;
  *req.mutable_new_resource() = to_wire(r);
  req.mutable_options()->set_owner(owner);
  if (phase) req.mutable_options()->set_expected_phase(*phase);
  wire::UpdateResponse resp;
  return s.stub().Update(context().get(), req, out ? out : &resp).error_code();
}

grpc::Status get_status(Server& s, const std::string& type, const std::string& id,
                        wire::GetResponse* out = nullptr, const std::string& ns = kNs) {
  wire::GetRequest req;
  req.set_namespace_(ns);
  req.set_type(type);
  req.set_id(id);
  wire::GetResponse resp;
  return s.stub().Get(context().get(), req, out ? out : &resp);
}

grpc::StatusCode get(Server& s, const std::string& type, const std::string& id,
                     wire::GetResponse* out = nullptr, const std::string& ns = kNs) {
  return get_status(s, type, id, out, ns).error_code();
}

std::vector<std::string> list_ids(Server& s, const wire::ListOptions& opts,
                                  grpc::StatusCode* code = nullptr) {
  wire::ListRequest req;
  req.set_namespace_(kNs);
  req.set_type(kType);
  *req.mutable_options() = opts;
  auto ctx = context();
  auto reader = s.stub().List(ctx.get(), req);
  std::vector<std::string> ids;
  wire::ListResponse msg;
  while (reader->Read(&msg)) ids.push_back(msg.resource().metadata().id());
  auto status = reader->Finish();
  if (code) *code = status.error_code();
  return ids;
}

TEST(StateService, CreateStoresVersionOneWithTheOptionsOwner) {
  Server s;
  Resource r = make("a");
  r.metadata.version = 7;
  wire::CreateResponse resp;
  ASSERT_EQ(create(s, r, "ctrl", &resp), grpc::StatusCode::OK);
  EXPECT_EQ(resp.resource().metadata().version(), "1");
  EXPECT_EQ(resp.resource().metadata().owner(), "ctrl");
  EXPECT_EQ(resp.resource().metadata().phase(), "running");
  EXPECT_EQ(resp.resource().spec().yaml_spec(), "value: 1\n");

  EXPECT_EQ(create(s, r, "ctrl"), grpc::StatusCode::ALREADY_EXISTS);
  Resource other = make("b");
  other.metadata.owner = "someone";
  EXPECT_EQ(create(s, other, "ctrl"), grpc::StatusCode::UNKNOWN);
}

TEST(StateService, GetMissingIsNotFound) {
  Server s;
  EXPECT_EQ(get(s, kType, "nope"), grpc::StatusCode::NOT_FOUND);
}

TEST(StateService, UpdateErrorsMapToTheGoClientCodes) {
  Server s;
  ASSERT_EQ(create(s, make("a"), "owner"), grpc::StatusCode::OK);
  Resource r = make("a", "value: 2\n");
  r.metadata.version = 1;

  EXPECT_EQ(update(s, r, "intruder", "running"), grpc::StatusCode::PERMISSION_DENIED);
  r.metadata.version = 5;
  EXPECT_EQ(update(s, r, "owner", "running"), grpc::StatusCode::FAILED_PRECONDITION);
  r.metadata.version = 1;
  EXPECT_EQ(update(s, r, "owner", "tearingDown"), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(update(s, r, "owner", "sideways"), grpc::StatusCode::INVALID_ARGUMENT);

  wire::UpdateResponse resp;
  ASSERT_EQ(update(s, r, "owner", std::nullopt, &resp), grpc::StatusCode::OK);
  EXPECT_EQ(resp.resource().metadata().version(), "2");
  EXPECT_EQ(resp.resource().spec().yaml_spec(), "value: 2\n");
  EXPECT_EQ(update(s, make("missing"), "owner", std::nullopt), grpc::StatusCode::NOT_FOUND);
}

TEST(StateService, DestroyWithFinalizersIsFailedPrecondition) {
  Server s;
  ASSERT_EQ(create(s, make("a"), "owner"), grpc::StatusCode::OK);
  s.state().add_finalizers(Pointer{kNs, kType, "a"}, {"holder"});

  wire::DestroyRequest req;
  req.set_namespace_(kNs);
  req.set_type(kType);
  req.set_id("a");
  req.mutable_options()->set_owner("owner");
  wire::DestroyResponse resp;
  EXPECT_EQ(s.stub().Destroy(context().get(), req, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  s.state().remove_finalizers(Pointer{kNs, kType, "a"}, {"holder"});
  EXPECT_EQ(s.stub().Destroy(context().get(), req, &resp).error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(get(s, kType, "a"), grpc::StatusCode::NOT_FOUND);
}

TEST(StateService, TeardownAndDestroyWaitsForFinalizers) {
  Server s;
  ASSERT_EQ(create(s, make("a"), "owner"), grpc::StatusCode::OK);
  const Pointer ptr{kNs, kType, "a"};
  s.state().add_finalizers(ptr, {"holder"});

  wire::TeardownAndDestroyRequest req;
  req.set_namespace_(kNs);
  req.set_type(kType);
  req.set_id("a");
  req.mutable_options()->set_owner("owner");
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::thread caller([&] {
    wire::TeardownAndDestroyResponse resp;
    code = s.stub().TeardownAndDestroy(context().get(), req, &resp).error_code();
  });
  // The call tears the resource down and then waits; releasing the finalizer lets it finish.
  tds::test::eventually(
      [&] {
        auto r = s.state().get(ptr);
        return r && r->metadata.phase == resource::Phase::kTearingDown;
      },
      std::chrono::seconds(5), std::chrono::milliseconds(5));
  ASSERT_EQ(s.state().get(ptr)->metadata.phase, resource::Phase::kTearingDown);
  s.state().remove_finalizers(ptr, {"holder"});
  caller.join();
  EXPECT_EQ(code, grpc::StatusCode::OK);
  EXPECT_EQ(s.state().get(ptr), nullptr);
}

TEST(StateService, ListIsSortedAndFiltered) {
  Server s;
  for (const char* id : {"c", "a", "b"}) {
    ASSERT_EQ(create(s, make(id, "v: 1\n", {{"role", id == std::string("b") ? "x" : "y"}})),
              grpc::StatusCode::OK);
  }
  EXPECT_THAT(list_ids(s, {}), ElementsAre("a", "b", "c"));

  wire::ListOptions by_label;
  auto* term = by_label.add_label_query()->add_terms();
  term->set_key("role");
  term->set_op(wire::LabelTerm::EQUAL);
  term->add_value("y");
  EXPECT_THAT(list_ids(s, by_label), ElementsAre("a", "c"));

  wire::ListOptions by_id;
  by_id.mutable_id_query()->set_regexp("[bc]");
  EXPECT_THAT(list_ids(s, by_id), ElementsAre("b", "c"));

  grpc::StatusCode code;
  wire::ListOptions bad_regexp;
  bad_regexp.mutable_id_query()->set_regexp("(");
  EXPECT_TRUE(list_ids(s, bad_regexp, &code).empty());
  EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);

  wire::ListOptions no_value;
  auto* t2 = no_value.add_label_query()->add_terms();
  t2->set_key("role");
  t2->set_op(wire::LabelTerm::EQUAL);
  list_ids(s, no_value, &code);
  EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
}

// Reads a watch stream on its own thread so the test can wait for events with a deadline.
class WatchClient {
 public:
  WatchClient(Server& s, const wire::WatchRequest& req) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    reader_ = s.stub().Watch(&ctx_, req);
    thread_ = std::thread([this] {
      wire::WatchResponse msg;
      while (reader_->Read(&msg)) {
        std::lock_guard lock(mu_);
        messages_.push_back(msg);
      }
      auto status = reader_->Finish();
      std::lock_guard lock(mu_);
      status_ = status;
      done_ = true;
    });
  }
  ~WatchClient() {
    ctx_.TryCancel();
    thread_.join();
  }

  // Waits until at least n messages arrived (or the stream ended); returns them.
  std::vector<wire::WatchResponse> wait(std::size_t n) {
    wait_until([&](const auto& msgs) { return msgs.size() >= n || done_; });
    std::lock_guard lock(mu_);
    return messages_;
  }

  template <class Pred>
  bool wait_until(Pred pred) {
    return tds::test::eventually(
        [&] {
          std::lock_guard lock(mu_);
          return pred(messages_);
        },
        std::chrono::seconds(10), std::chrono::milliseconds(2));
  }

  std::optional<grpc::Status> status() {
    wait(std::numeric_limits<std::size_t>::max());
    std::lock_guard lock(mu_);
    return done_ ? std::optional(status_) : std::nullopt;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<wire::WatchResponse>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<wire::WatchResponse> messages_;
  grpc::Status status_;
  bool done_ = false;
};

wire::WatchRequest kind_watch(bool bootstrap, int api_version = 1) {
  wire::WatchRequest req;
  req.set_namespace_(kNs);
  req.set_type(kType);
  req.set_api_version(api_version);
  req.mutable_options()->set_bootstrap_contents(bootstrap);
  return req;
}

TEST(StateService, KindWatchSendsEmptyMessageThenBootstrapThenLiveEvents) {
  Server s;
  ASSERT_EQ(create(s, make("b"), "o"), grpc::StatusCode::OK);
  ASSERT_EQ(create(s, make("a"), "o"), grpc::StatusCode::OK);
  WatchClient w(s, kind_watch(true));
  auto msgs = w.wait(4);
  ASSERT_GE(msgs.size(), 4u);
  EXPECT_EQ(msgs[0].event_size(), 0);  // readiness handshake
  ASSERT_EQ(msgs[1].event_size(), 1);
  EXPECT_EQ(msgs[1].event(0).event_type(), wire::CREATED);
  EXPECT_EQ(msgs[1].event(0).resource().metadata().id(), "a");
  EXPECT_EQ(msgs[2].event(0).resource().metadata().id(), "b");
  const auto& boot = msgs[3].event(0);
  EXPECT_EQ(boot.event_type(), wire::BOOTSTRAPPED);
  EXPECT_TRUE(boot.has_bookmark());
  EXPECT_TRUE(boot.resource().has_spec());  // tombstones still carry an (empty) spec

  Resource r = make("a", "value: 2\n");
  r.metadata.version = 1;
  ASSERT_EQ(update(s, r, "o", "running"), grpc::StatusCode::OK);
  msgs = w.wait(5);
  ASSERT_GE(msgs.size(), 5u);
  const auto& upd = msgs[4].event(0);
  EXPECT_EQ(upd.event_type(), wire::UPDATED);
  EXPECT_EQ(upd.resource().metadata().version(), "2");
  EXPECT_EQ(upd.old().metadata().version(), "1");
}

TEST(StateService, ApiVersionZeroDropsBootstrapped) {
  Server s;
  ASSERT_EQ(create(s, make("a"), "o"), grpc::StatusCode::OK);
  WatchClient w(s, kind_watch(true, 0));
  ASSERT_EQ(create(s, make("b"), "o"), grpc::StatusCode::OK);
  ASSERT_TRUE(w.wait_until([](const auto& msgs) {
    return !msgs.empty() && msgs.back().event_size() == 1 &&
           msgs.back().event(0).resource().metadata().id() == "b";
  }));
  for (const auto& m : w.wait(0)) {
    for (const auto& e : m.event()) EXPECT_NE(e.event_type(), wire::BOOTSTRAPPED);
  }
}

TEST(StateService, SingleWatchOfAbsentResourceStartsWithDestroyedTombstone) {
  Server s;
  wire::WatchRequest req;
  req.set_namespace_(kNs);
  req.set_type(kType);
  req.set_id("a");
  req.set_api_version(1);
  WatchClient w(s, req);
  auto msgs = w.wait(2);
  ASSERT_GE(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].event_size(), 0);
  ASSERT_EQ(msgs[1].event_size(), 1);
  EXPECT_EQ(msgs[1].event(0).event_type(), wire::DESTROYED);
  EXPECT_EQ(msgs[1].event(0).resource().metadata().version(), "undefined");
  EXPECT_EQ(msgs[1].event(0).resource().metadata().phase(), "running");
}

TEST(StateService, InvalidWatchOptionsFailBeforeTheFirstMessage) {
  Server s;
  wire::WatchRequest single;
  single.set_namespace_(kNs);
  single.set_type(kType);
  single.set_id("a");
  single.mutable_options()->set_bootstrap_contents(true);
  WatchClient w1(s, single);
  auto st1 = w1.status();
  ASSERT_TRUE(st1.has_value());
  EXPECT_EQ(st1->error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(w1.wait(0).empty());

  wire::WatchRequest resume = kind_watch(false);
  resume.mutable_options()->set_start_from_bookmark(std::string(15, '\x01'));
  WatchClient w2(s, resume);
  auto st2 = w2.status();
  ASSERT_TRUE(st2.has_value());
  EXPECT_EQ(st2->error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(w2.wait(0).empty());
}

// Applies watch messages to a map id -> version, as a client's view of the kind.
std::map<std::string, std::string> view_of(const std::vector<wire::WatchResponse>& msgs) {
  std::map<std::string, std::string> view;
  for (const auto& m : msgs) {
    for (const auto& e : m.event()) {
      const auto& md = e.resource().metadata();
      if (e.event_type() == wire::CREATED || e.event_type() == wire::UPDATED) {
        view[md.id()] = md.version();
      } else if (e.event_type() == wire::DESTROYED) {
        view.erase(md.id());
      }
    }
  }
  return view;
}

// Creates 50 resources, updates each five times and destroys half, while the server's event
// loop is held, then checks that the watcher's view ends equal to the stored contents.
void churn_while_paused(Server& s, WatchClient& w) {
  auto release = s.pause();
  for (int i = 0; i < 50; ++i) s.state().create(make("r" + std::to_string(i)), {"o"});
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 50; ++i) {
      Resource next = *s.state().get(Pointer{kNs, kType, "r" + std::to_string(i)});
      next.spec = std::make_shared<OpaqueSpec>("", "round: " + std::to_string(round) + "\n");
      s.state().update(next, {"o", std::nullopt});
    }
  }
  for (int i = 0; i < 50; i += 2) {
    s.state().destroy(Pointer{kNs, kType, "r" + std::to_string(i)}, {"o"});
  }
  release.set_value();

  std::map<std::string, std::string> want;
  for (const auto& r : s.state().list(resource::Kind{kNs, kType})) {
    want[r->metadata.id] = resource::version_to_string(r->metadata.version);
  }
  ASSERT_EQ(want.size(), 25u);
  EXPECT_TRUE(w.wait_until([&](const auto& msgs) { return view_of(msgs) == want; }));
}

TEST(StateService, StreamThatOverflowsItsQueueConvergesToTheStoredContents) {
  StateServiceOptions opts;
  opts.max_pending_watch_messages = 4;
  state::InMemoryStateOptions big_history{1024, 1024, 8};
  Server s(opts, big_history);
  WatchClient w(s, kind_watch(true));
  ASSERT_GE(w.wait(2).size(), 2u);  // handshake + Bootstrapped
  churn_while_paused(s, w);
  // 325 events arrived as one batch: far more than 4 messages, so the stream started over.
  std::size_t events = 0;
  for (const auto& m : w.wait(0)) events += m.event_size();
  EXPECT_LT(events, 325u);
}

// A resource destroyed and created again, identical, while the stream overflowed: the difference
// still brings the client the new incarnation (its creation time), not nothing because the two
// compare equal (the State API fuzz target found the client keeping the old one).
TEST(StateService, OverflowedStreamReplacesARecreatedResource) {
  StateServiceOptions opts;
  opts.max_pending_watch_messages = 2;
  state::InMemoryStateOptions big_history{1024, 1024, 8};
  Server s(opts, big_history);
  s.state().create(make("a"), {"o"});
  WatchClient w(s, kind_watch(true));
  ASSERT_GE(w.wait(3).size(), 3u);  // handshake, Created a, Bootstrapped
  {
    auto release = s.pause();
    s.state().destroy(Pointer{kNs, kType, "a"}, {"o"});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a creation time of its own
    s.state().create(make("a"), {"o"});
    for (const char* id : {"b", "c", "d"}) s.state().create(make(id), {"o"});
    release.set_value();
  }
  auto created = [](const wire::Resource& r) { return r.metadata().created().SerializeAsString(); };
  std::map<std::string, std::string> want;
  for (const auto& r : s.state().list(resource::Kind{kNs, kType}))
    want[r->metadata.id] = created(to_wire(*r));
  EXPECT_TRUE(w.wait_until([&](const auto& msgs) {
    std::map<std::string, std::string> view;
    for (const auto& m : msgs) {
      for (const auto& e : m.event()) {
        const auto& id = e.resource().metadata().id();
        if (e.event_type() == wire::CREATED || e.event_type() == wire::UPDATED) {
          view[id] = created(e.resource());
        } else if (e.event_type() == wire::DESTROYED) {
          view.erase(id);
        }
      }
    }
    return view == want;
  }));
}

TEST(StateService, StateResyncBecomesADifferenceForTheClient) {
  state::InMemoryStateOptions small_history{16, 16, 2};
  Server s({}, small_history);
  WatchClient w(s, kind_watch(true));
  ASSERT_GE(w.wait(2).size(), 2u);
  churn_while_paused(s, w);
  for (const auto& m : w.wait(0)) {
    for (const auto& e : m.event()) EXPECT_NE(e.event_type(), wire::ERRORED);
  }
}

// The read-only listener follows Talos's policy: registered types in registered namespaces,
// sensitive ones for admins only.
class ReadOnly : public ::testing::Test {
 protected:
  explicit ReadOnly(Roles roles = {Role::kReader})
      : s_(StateServiceOptions{Access::kReadOnly, fixed_roles(roles)}) {
    auto& st = s_.state();
    register_type(kType, wire::meta::ResourceDefinitionSpec::NON_SENSITIVE);
    register_type("Secrets.test.dev", wire::meta::ResourceDefinitionSpec::SENSITIVE);
    wire::meta::NamespaceSpec ns;
    ns.set_description("test");
    st.create(
        resource::make_resource(Metadata(Pointer{"meta", "Namespaces.meta.cosi.dev", kNs}), ns),
        {"meta"});
    st.create(make("a"), {"o"});
    Resource secret{Metadata(Pointer{kNs, "Secrets.test.dev", "s"}),
                    std::make_shared<OpaqueSpec>("", "key: x\n")};
    st.create(secret, {"o"});
  }

  void register_type(const std::string& type, wire::meta::ResourceDefinitionSpec::Sensitivity s) {
    wire::meta::ResourceDefinitionSpec rd;
    rd.set_resource_type(type);
    rd.set_sensitivity(s);
    std::string id = type;
    std::transform(id.begin(), id.end(), id.begin(), ::tolower);
    s_.state().create(resource::make_resource(
                          Metadata(Pointer{"meta", "ResourceDefinitions.meta.cosi.dev", id}), rd),
                      {"meta"});
  }

  Server s_;
};

TEST_F(ReadOnly, ReadsRegisteredTypes) {
  wire::GetResponse resp;
  ASSERT_EQ(get(s_, kType, "a", &resp), grpc::StatusCode::OK);
  EXPECT_EQ(resp.resource().metadata().id(), "a");
}

TEST_F(ReadOnly, RefusesWritesUnknownTypesSensitiveTypesAndUnknownNamespaces) {
  EXPECT_EQ(create(s_, make("b"), "o"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(get(s_, "Unknowns.test.dev", "a"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(get(s_, "Secrets.test.dev", "s"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(get(s_, kType, "a", nullptr, "elsewhere"), grpc::StatusCode::PERMISSION_DENIED);
  // Talos's texts: a write by a non-admin fails the per-call roles first (Create is os:admin's),
  // an unknown type, an unknown namespace.
  EXPECT_EQ(create_status(s_, make("b"), "o").error_message(), "not authorized");
  EXPECT_EQ(get_status(s_, "Unknowns.test.dev", "a").error_message(),
            "resource type \"Unknowns.test.dev\" is not supported");
  EXPECT_EQ(get_status(s_, kType, "a", nullptr, "elsewhere").error_message(),
            "namespace \"elsewhere\" is not supported");
  EXPECT_EQ(get_status(s_, "Secrets.test.dev", "s").error_message(), "not authorized");
  EXPECT_EQ(s_.state().get(Pointer{kNs, kType, "b"}), nullptr);
}

class ReadOnlyAdmin : public ReadOnly {
 protected:
  ReadOnlyAdmin() : ReadOnly({Role::kAdmin}) {}
};

TEST_F(ReadOnlyAdmin, ReadsSensitiveTypesButStillCannotWrite) {
  wire::GetResponse resp;
  ASSERT_EQ(get(s_, "Secrets.test.dev", "s", &resp), grpc::StatusCode::OK);
  EXPECT_EQ(resp.resource().metadata().id(), "s");
  // Past the roles, Talos's access policy refuses every write in its own words.
  const auto denied = create_status(s_, make("b"), "o");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(), "write access is not allowed");
  EXPECT_EQ(s_.state().get(Pointer{kNs, kType, "b"}), nullptr);
}

class ReadOnlyOperator : public ReadOnly {
 protected:
  ReadOnlyOperator() : ReadOnly({Role::kOperator}) {}
};

TEST_F(ReadOnlyOperator, ReadsOnlyNonSensitiveTypes) {
  EXPECT_EQ(get(s_, kType, "a"), grpc::StatusCode::OK);
  EXPECT_EQ(get_status(s_, "Secrets.test.dev", "s").error_message(), "not authorized");
}

// A certificate that names no role (or only roles for other APIs) reads nothing.
class ReadOnlyWithoutRoles : public ReadOnly {
 protected:
  ReadOnlyWithoutRoles() : ReadOnly({Role::kEtcdBackup}) {}
};

TEST_F(ReadOnlyWithoutRoles, GetsNothing) {
  const auto status = get_status(s_, kType, "a");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "not authorized");
  EXPECT_EQ(create(s_, make("b"), "o"), grpc::StatusCode::PERMISSION_DENIED);
}

// The local socket's service with callers who are not admins (an Authenticator that says so):
// writes need os:admin even where the listener allows them.
TEST(StateServiceRoles, WritesNeedAdmin) {
  Server s(StateServiceOptions{Access::kReadWrite, fixed_roles({Role::kReader})});
  EXPECT_EQ(create(s, make("b"), "o"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.state().get(Pointer{kNs, kType, "b"}), nullptr);
  Server admin(StateServiceOptions{Access::kReadWrite, fixed_roles({Role::kAdmin})});
  EXPECT_EQ(create(admin, make("b"), "o"), grpc::StatusCode::OK);
}

}  // namespace
}  // namespace runtime::api
