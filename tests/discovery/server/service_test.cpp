// The Cluster service over a real gRPC server on 127.0.0.1 (ephemeral port): every status code,
// the limit boundaries, Hello's client IP and redirect, and Watch snapshot-then-changes.
#include "discovery/server/service.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <map>
#include <string>
#include <tuple>

#include "discovery/server.grpc.pb.h"
#include "discovery/server/limits.h"
#include "discovery/server/metrics.h"
#include "discovery/server/rate_limit.h"
#include "discovery/server/state.h"
#include "tests/discovery/server/manual_clock.h"
#include "tests/support/eventually.h"

namespace discovery::server {
namespace {

namespace pb = ::sidero::discovery::server;
using grpc::StatusCode;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kCluster = "cluster1";

struct Result {
  StatusCode code;
  std::string message;
};

Result result(const grpc::Status& status) { return {status.error_code(), status.error_message()}; }

void expect_result(const grpc::Status& status, StatusCode code, const std::string& message = "") {
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_EQ(status.error_message(), message);
}

pb::AffiliateUpdateRequest make_update(const std::string& affiliate, const std::string& data,
                                       std::vector<std::string> endpoints,
                                       std::chrono::nanoseconds ttl = minutes(30),
                                       const std::string& cluster = kCluster) {
  pb::AffiliateUpdateRequest req;
  req.set_cluster_id(cluster);
  req.set_affiliate_id(affiliate);
  if (!data.empty()) req.set_affiliate_data(data);
  for (auto& e : endpoints) req.add_affiliate_endpoints(e);
  auto secs = std::chrono::duration_cast<seconds>(ttl);
  req.mutable_ttl()->set_seconds(secs.count());
  req.mutable_ttl()->set_nanos(static_cast<int>((ttl - secs).count()));
  return req;
}

AffiliateRecord record_of(const pb::Affiliate& a) {
  return {a.id(), a.data(), {a.endpoints().begin(), a.endpoints().end()}};
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  // On `state` (outliving the server) instead of state_ when given.
  void start(ServiceOptions service, State* state = nullptr) {
    server_.reset();
    ServerOptions options;
    options.address = "127.0.0.1:0";
    options.service = std::move(service);
    server_ = start_server(state != nullptr ? *state : state_, options);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                       grpc::InsecureChannelCredentials());
    stub_ = pb::Cluster::NewStub(channel);
  }

  grpc::Status update(const pb::AffiliateUpdateRequest& req) {
    grpc::ClientContext ctx;
    pb::AffiliateUpdateResponse resp;
    return stub_->AffiliateUpdate(&ctx, req, &resp);
  }

  grpc::Status remove(const std::string& cluster, const std::string& affiliate) {
    grpc::ClientContext ctx;
    pb::AffiliateDeleteRequest req;
    req.set_cluster_id(cluster);
    req.set_affiliate_id(affiliate);
    pb::AffiliateDeleteResponse resp;
    return stub_->AffiliateDelete(&ctx, req, &resp);
  }

  grpc::Status list(const std::string& cluster, std::vector<AffiliateRecord>* out) {
    grpc::ClientContext ctx;
    pb::ListRequest req;
    req.set_cluster_id(cluster);
    pb::ListResponse resp;
    grpc::Status status = stub_->List(&ctx, req, &resp);
    if (out != nullptr) {
      out->clear();
      for (const auto& a : resp.affiliates()) out->push_back(record_of(a));
    }
    return status;
  }

  std::map<std::string, AffiliateRecord> list_map(const std::string& cluster = kCluster) {
    std::vector<AffiliateRecord> records;
    EXPECT_TRUE(list(cluster, &records).ok());
    std::map<std::string, AffiliateRecord> out;
    for (auto& r : records) out.emplace(r.id, r);
    return out;
  }

  grpc::Status hello(const std::string& cluster, pb::HelloResponse* resp) {
    grpc::ClientContext ctx;
    pb::HelloRequest req;
    req.set_cluster_id(cluster);
    req.set_client_version("v1.8.3");
    return stub_->Hello(&ctx, req, resp);
  }

  struct WatchStream {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<pb::WatchResponse>> reader;
  };

  std::unique_ptr<WatchStream> watch(const std::string& cluster) {
    auto stream = std::make_unique<WatchStream>();
    // Bounds every Read, so a missing message fails the test instead of hanging it.
    stream->ctx.set_deadline(std::chrono::system_clock::now() + seconds(60));
    pb::WatchRequest req;
    req.set_cluster_id(cluster);
    stream->reader = stub_->Watch(&stream->ctx, req);
    return stream;
  }

  // A unary call with raw request bytes; `response`, if given, gets the reply's bytes.
  grpc::Status raw_call(const std::string& method, const std::string& request_bytes,
                        std::string* response) {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                       grpc::InsecureChannelCredentials());
    grpc::GenericStub generic(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
    grpc::Slice slice(request_bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer reply;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &reply,
                      [&](grpc::Status status) { done.set_value(status); });
    grpc::Status status = done.get_future().get();
    if (response != nullptr && status.ok()) {
      std::vector<grpc::Slice> slices;
      EXPECT_TRUE(reply.Dump(&slices).ok());
      response->clear();
      for (const auto& s : slices) {
        response->append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    return status;
  }

  test::ManualClock clock_;
  State state_{clock_};
  std::unique_ptr<Server> server_;
  std::unique_ptr<pb::Cluster::Stub> stub_;
};

TEST_F(ServiceTest, HelloReportsClientIpAsFourBytes) {
  pb::HelloResponse resp;
  ASSERT_TRUE(hello(kCluster, &resp).ok());
  EXPECT_EQ(resp.client_ip(), std::string("\x7f\x00\x00\x01", 4));
  EXPECT_FALSE(resp.has_redirect());
  EXPECT_EQ(state_.stats().clusters, 0u) << "Hello creates no cluster";
}

TEST_F(ServiceTest, HelloRedirectAndDisabledClientIp) {
  ServiceOptions options;
  options.redirect_endpoint = "new.example.com:443";
  options.disable_client_ip_reporting = true;
  start(options);
  pb::HelloResponse resp;
  ASSERT_TRUE(hello(kCluster, &resp).ok());
  ASSERT_TRUE(resp.has_redirect());
  EXPECT_EQ(resp.redirect().endpoint(), "new.example.com:443");
  EXPECT_TRUE(resp.client_ip().empty());
  // The redirect is advisory: everything else is still served.
  EXPECT_TRUE(update(make_update("af1", "d", {})).ok());
}

TEST_F(ServiceTest, ClusterIdValidationOnEveryRpc) {
  for (const auto& [id, message] :
       {std::pair{std::string(), "cluster ID can't be empty"},
        std::pair{std::string(257, 'c'), "cluster ID is too long"}}) {
    pb::HelloResponse hello_resp;
    expect_result(hello(id, &hello_resp), StatusCode::INVALID_ARGUMENT, message);
    expect_result(update(make_update("af", "d", {}, minutes(1), id)),
                  StatusCode::INVALID_ARGUMENT, message);
    expect_result(remove(id, "af"), StatusCode::INVALID_ARGUMENT, message);
    expect_result(list(id, nullptr), StatusCode::INVALID_ARGUMENT, message);
    auto stream = watch(id);
    pb::WatchResponse msg;
    EXPECT_FALSE(stream->reader->Read(&msg));
    expect_result(stream->reader->Finish(), StatusCode::INVALID_ARGUMENT, message);
  }
  const std::string max_id(256, 'c');
  pb::HelloResponse hello_resp;
  EXPECT_TRUE(hello(max_id, &hello_resp).ok());
  EXPECT_TRUE(update(make_update("af", "d", {}, minutes(1), max_id)).ok());
  EXPECT_TRUE(list(max_id, nullptr).ok());
  EXPECT_TRUE(remove(max_id, "af").ok());
  EXPECT_EQ(state_.stats().affiliates, 0u);
}

TEST_F(ServiceTest, AffiliateUpdateBoundaries) {
  expect_result(update(make_update("", "d", {})), StatusCode::INVALID_ARGUMENT,
                "affiliate ID can't be empty");
  expect_result(update(make_update(std::string(257, 'a'), "d", {})),
                StatusCode::INVALID_ARGUMENT, "affiliate ID is too long");
  expect_result(update(make_update("af", std::string(2049, 'd'), {})),
                StatusCode::INVALID_ARGUMENT, "affiliate data is too big");
  expect_result(update(make_update("af", "d", {"ok", std::string(33, 'e')})),
                StatusCode::INVALID_ARGUMENT, "affiliate endpoint is too big");
  expect_result(update(make_update("af", "d", {}, minutes(30) + std::chrono::nanoseconds(1))),
                StatusCode::INVALID_ARGUMENT, "ttl is too large");
  EXPECT_EQ(state_.stats().clusters, 0u) << "rejected requests change nothing";

  const std::string id(256, 'a');
  const std::string data(2048, 'd');
  const std::string endpoint(32, 'e');
  ASSERT_TRUE(update(make_update(id, data, {endpoint}, minutes(30))).ok());
  EXPECT_EQ(list_map().at(id), (AffiliateRecord{id, data, {endpoint}}));
  EXPECT_TRUE(remove(kCluster, id).ok());
  expect_result(remove(kCluster, ""), StatusCode::INVALID_ARGUMENT, "affiliate ID can't be empty");
  expect_result(remove(kCluster, std::string(257, 'a')), StatusCode::INVALID_ARGUMENT,
                "affiliate ID is too long");
}

TEST_F(ServiceTest, NonUtf8IdsAreAccepted) {
  const std::string cluster("\xff\xfe\x00", 3);
  const std::string affiliate("\x80\x81", 2);
  ASSERT_TRUE(update(make_update(affiliate, "d", {}, minutes(1), cluster)).ok());
  EXPECT_EQ(list_map(cluster).count(affiliate), 1u);
}

TEST_F(ServiceTest, TooManyAffiliates) {
  for (std::size_t i = 0; i < kClusterAffiliatesMax; ++i) {
    ASSERT_TRUE(update(make_update("af" + std::to_string(i), "", {})).ok()) << i;
  }
  expect_result(update(make_update("one-more", "d", {})), StatusCode::RESOURCE_EXHAUSTED,
                "too many affiliates in the cluster");
  EXPECT_EQ(list_map().size(), kClusterAffiliatesMax);
}

TEST_F(ServiceTest, TooManyEndpoints) {
  for (std::size_t i = 0; i < kAffiliateEndpointsMax; ++i) {
    ASSERT_TRUE(update(make_update("af1", "", {"e" + std::to_string(i)})).ok()) << i;
  }
  expect_result(update(make_update("af1", "", {"e-more"})), StatusCode::RESOURCE_EXHAUSTED,
                "too many endpoints in the affiliate");
  EXPECT_TRUE(update(make_update("af1", "", {"e0"})).ok()) << "known endpoints still refresh";
  EXPECT_EQ(list_map().at("af1").endpoints.size(), kAffiliateEndpointsMax);
}

TEST_F(ServiceTest, UpdateMergesAndDeleteRemoves) {
  ASSERT_TRUE(update(make_update("af1", "data1", {"e1", "e2"})).ok());
  ASSERT_TRUE(update(make_update("af1", "", {"e3", "e2"})).ok());
  ASSERT_TRUE(update(make_update("af2", "", {"x"})).ok());
  auto affiliates = list_map();
  EXPECT_EQ(affiliates.at("af1"), (AffiliateRecord{"af1", "data1", {"e1", "e2", "e3"}}));
  EXPECT_EQ(affiliates.at("af2"), (AffiliateRecord{"af2", "", {"x"}}));

  EXPECT_TRUE(remove(kCluster, "unknown").ok());
  EXPECT_TRUE(remove("unknown-cluster", "af1").ok());
  EXPECT_TRUE(remove(kCluster, "af1").ok());
  EXPECT_EQ(list_map().count("af1"), 0u);
}

TEST_F(ServiceTest, TtlBoundaryAndExpiry) {
  ASSERT_TRUE(update(make_update("af1", "d", {}, minutes(30))).ok());
  clock_.advance(minutes(30));
  state_.collect_garbage();
  EXPECT_EQ(list_map().size(), 1u);
  clock_.advance(std::chrono::nanoseconds(1));
  state_.collect_garbage();
  EXPECT_TRUE(list_map().empty());
}

TEST_F(ServiceTest, WatchSendsSnapshotThenChanges) {
  ASSERT_TRUE(update(make_update("af1", "", {})).ok());
  auto stream = watch(kCluster);
  pb::WatchResponse msg;
  ASSERT_TRUE(stream->reader->Read(&msg));
  ASSERT_EQ(msg.affiliates_size(), 1);
  EXPECT_EQ(record_of(msg.affiliates(0)), (AffiliateRecord{"af1", "", {}}));
  EXPECT_FALSE(msg.deleted());

  ASSERT_TRUE(update(make_update("af2", "d2", {"e"})).ok());
  ASSERT_TRUE(stream->reader->Read(&msg));
  ASSERT_EQ(msg.affiliates_size(), 1);
  EXPECT_EQ(record_of(msg.affiliates(0)), (AffiliateRecord{"af2", "d2", {"e"}}));
  EXPECT_FALSE(msg.deleted());

  ASSERT_TRUE(remove(kCluster, "af1").ok());
  ASSERT_TRUE(stream->reader->Read(&msg));
  ASSERT_EQ(msg.affiliates_size(), 1);
  EXPECT_EQ(record_of(msg.affiliates(0)), (AffiliateRecord{"af1", "", {}}));
  EXPECT_TRUE(msg.deleted());

  // Endpoint-only expiry is an upsert with what remains, not a deletion.
  ASSERT_TRUE(update(make_update("af2", "", {"short"}, seconds(1))).ok());
  ASSERT_TRUE(stream->reader->Read(&msg));
  clock_.advance(seconds(1));
  state_.collect_garbage();
  ASSERT_TRUE(stream->reader->Read(&msg));
  EXPECT_FALSE(msg.deleted());
  ASSERT_EQ(msg.affiliates_size(), 1);
  EXPECT_EQ(record_of(msg.affiliates(0)), (AffiliateRecord{"af2", "d2", {"e"}}));
}

TEST_F(ServiceTest, WatchOfEmptyClusterSendsEmptySnapshotAndLeavesNoState) {
  {
    auto stream = watch("nobody-here");
    pb::WatchResponse msg;
    ASSERT_TRUE(stream->reader->Read(&msg));
    EXPECT_EQ(msg.affiliates_size(), 0);
    EXPECT_FALSE(msg.deleted());
    stream->ctx.TryCancel();
    EXPECT_FALSE(stream->reader->Read(&msg));
    stream->reader->Finish();
  }
  // The server notices the cancellation asynchronously.
  tds::test::eventually([&] { return state_.stats().clusters == 0; }, seconds(10),
                        std::chrono::milliseconds(5));
  EXPECT_EQ(state_.stats().clusters, 0u);
  EXPECT_EQ(state_.stats().watches, 0u);
}

TEST_F(ServiceTest, ShutdownEndsWatchesWithOk) {
  auto stream = watch(kCluster);
  pb::WatchResponse msg;
  ASSERT_TRUE(stream->reader->Read(&msg));
  server_->shutdown();
  EXPECT_FALSE(stream->reader->Read(&msg));
  expect_result(stream->reader->Finish(), StatusCode::OK);
}

// A watcher that stops reading while writers go on is neither blocked nor aborted: once it reads
// again it converges to List, and writers never waited for it.
TEST_F(ServiceTest, SlowWatcherConvergesWithoutAbort) {
  auto stream = watch(kCluster);
  pb::WatchResponse msg;
  ASSERT_TRUE(stream->reader->Read(&msg));
  constexpr int kAffiliates = 20;
  constexpr int kRounds = 200;  // ~8 MB of updates, far beyond the HTTP/2 window
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kAffiliates; ++i) {
      std::string data(2000, static_cast<char>('a' + round % 26));
      data += std::to_string(round);
      ASSERT_TRUE(update(make_update("af" + std::to_string(i), data.substr(0, 2048), {})).ok());
    }
  }
  ASSERT_TRUE(remove(kCluster, "af0").ok());
  const auto expected = list_map();
  std::map<std::string, AffiliateRecord> view;
  int messages = 0;
  int largest = 0;
  while (view != expected) {
    ASSERT_TRUE(stream->reader->Read(&msg)) << result(stream->reader->Finish()).message;
    messages++;
    largest = std::max(largest, msg.affiliates_size());
    // As Talos clients read it: `deleted` covers every affiliate of the message.
    for (const auto& affiliate : msg.affiliates()) {
      if (msg.deleted()) {
        view.erase(affiliate.id());
      } else {
        view.insert_or_assign(affiliate.id(), record_of(affiliate));
      }
    }
  }
  EXPECT_EQ(view.size(), static_cast<std::size_t>(kAffiliates - 1));
  // Fewer messages than writes shows the stream really stalled and changes were coalesced.
  EXPECT_LT(messages, kAffiliates * kRounds);
  EXPECT_GT(largest, 1) << "changes pending together go out in one message";
  RecordProperty("messages", messages);
}

// As upstream's testHitRateLimit: rate 1/s, burst 60: 60 calls pass, the 61st (whose 1 s wait
// would outlast its deadline) is refused; a call with room in its deadline waits instead.
TEST_F(ServiceTest, RateLimitWaitsThenRefuses) {
  RateLimiter limiter(clock_, {.rate = 1, .burst = 60});
  Metrics metrics(false);
  ServiceOptions options;
  options.limiter = &limiter;
  options.metrics = &metrics;
  start(options);
  auto hello_within = [&](std::chrono::milliseconds deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    pb::HelloRequest req;
    req.set_cluster_id(kCluster);
    pb::HelloResponse resp;
    return stub_->Hello(&ctx, req, &resp);
  };
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(hello_within(seconds(1)).ok()) << i;
  expect_result(hello_within(std::chrono::milliseconds(500)), StatusCode::RESOURCE_EXHAUSTED,
                "rate limit exceeds request timeout");
  // The bucket refills on the test's clock, which stands still: a 1 s wait is real time on the
  // gRPC alarm, and the call succeeds after it.
  EXPECT_TRUE(hello_within(seconds(30)).ok());
  const std::string text = metrics.render({nullptr, limiter.buckets()});
  EXPECT_NE(text.find("discovery_ratelimit_rejects_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("discovery_ratelimit_waits_total 1\n"), std::string::npos) << text;
  // Throttled calls are not counted as handled RPCs, as upstream.
  EXPECT_NE(text.find("grpc_server_started_total{grpc_method=\"Hello\",grpc_service=\"sidero."
                      "discovery.server.Cluster\",grpc_type=\"unary\"} 61\n"),
            std::string::npos)
      << text;
}

TEST_F(ServiceTest, WatchOpenCostsAToken) {
  RateLimiter limiter(clock_, {.rate = 1, .burst = 1});
  ServiceOptions options;
  options.limiter = &limiter;
  start(options);
  auto first = watch(kCluster);
  pb::WatchResponse msg;
  ASSERT_TRUE(first->reader->Read(&msg));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  pb::WatchRequest req;
  req.set_cluster_id(kCluster);
  auto second = stub_->Watch(&ctx, req);
  EXPECT_FALSE(second->Read(&msg));
  expect_result(second->Finish(), StatusCode::RESOURCE_EXHAUSTED,
                "rate limit exceeds request timeout");
  first->ctx.TryCancel();
}

// Open Watch streams are capped per client address and in all; a slot is free again once its
// stream ends.
TEST_F(ServiceTest, WatchStreamsAreCapped) {
  const auto refused_with = [&](const std::string& message) {
    auto extra = watch(kCluster);
    pb::WatchResponse msg;
    EXPECT_FALSE(extra->reader->Read(&msg));
    expect_result(extra->reader->Finish(), StatusCode::RESOURCE_EXHAUSTED, message);
  };
  for (const auto& [per_address, total, message] :
       {std::tuple{std::size_t{2}, std::size_t{0},
                   "too many watch streams from this address (2)"},
        std::tuple{std::size_t{0}, std::size_t{2}, "too many watch streams on this server (2)"}}) {
    ServiceOptions options;
    options.max_watches_per_address = per_address;
    options.max_watches = total;
    start(options);
    auto first = watch(kCluster);
    auto second = watch(kCluster);
    pb::WatchResponse msg;
    ASSERT_TRUE(first->reader->Read(&msg));
    ASSERT_TRUE(second->reader->Read(&msg));
    refused_with(message);

    first->ctx.TryCancel();
    first->reader->Finish();
    // The slot comes back when the server is done with the call, just after the client is.
    EXPECT_TRUE(tds::test::eventually([&] {
      auto again = watch(kCluster);
      pb::WatchResponse snapshot;
      const bool admitted = again->reader->Read(&snapshot);
      again->ctx.TryCancel();
      again->reader->Finish();
      return admitted;
    }));
    second->ctx.TryCancel();
    second->reader->Finish();
  }
}

// Past the cluster cap, an update or a watch that would add a cluster is refused; the clusters
// there are still served.
TEST_F(ServiceTest, NewClustersPastTheCapAreRefused) {
  State capped(clock_, State::kDefaultSnapshotBudget, 1);
  start({}, &capped);
  ASSERT_TRUE(update(make_update("af1", "d", {})).ok());
  expect_result(update(make_update("af1", "d", {}, minutes(1), "another")),
                StatusCode::RESOURCE_EXHAUSTED, "too many clusters on this server");
  auto refused = watch("another");
  pb::WatchResponse msg;
  EXPECT_FALSE(refused->reader->Read(&msg));
  expect_result(refused->reader->Finish(), StatusCode::RESOURCE_EXHAUSTED,
                "too many clusters on this server");
  EXPECT_EQ(capped.stats().clusters, 1u);

  auto served = watch(kCluster);
  ASSERT_TRUE(served->reader->Read(&msg));
  EXPECT_EQ(msg.affiliates_size(), 1);
  served->ctx.TryCancel();
  served->reader->Finish();
  server_.reset();  // before `capped`
}

TEST_F(ServiceTest, ForwardedHeadersOnlyFromTrustedProxies) {
  auto hello_with = [&](const std::string& real_ip, const std::string& forwarded) {
    grpc::ClientContext ctx;
    if (!real_ip.empty()) ctx.AddMetadata("x-real-ip", real_ip);
    if (!forwarded.empty()) ctx.AddMetadata("x-forwarded-for", forwarded);
    pb::HelloRequest req;
    req.set_cluster_id(kCluster);
    pb::HelloResponse resp;
    EXPECT_TRUE(stub_->Hello(&ctx, req, &resp).ok());
    return resp.client_ip();
  };
  const std::string loopback("\x7f\x00\x00\x01", 4);
  EXPECT_EQ(hello_with("1.2.3.4", ""), loopback) << "headers are ignored by default";
  std::string error;
  ServiceOptions options;
  options.trusted_proxies = *TrustedProxies::parse("127.0.0.0/8", error);
  start(options);
  EXPECT_EQ(hello_with("1.2.3.4", ""), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(hello_with("", "5.6.7.8,192.168.0.0.1"), std::string("\x05\x06\x07\x08", 4));
  EXPECT_EQ(hello_with("bad", "also bad"), loopback);
}

TEST_F(ServiceTest, HealthServiceReportsServing) {
  std::string response;
  ASSERT_TRUE(raw_call("/grpc.health.v1.Health/Check", "", &response).ok());  // service: ""
  EXPECT_EQ(response, std::string("\x08\x01", 2)) << "HealthCheckResponse{status: SERVING}";
}

// A connection that never speaks HTTP/2 (a descriptor held by a raw TCP client) is closed after
// the handshake timeout rather than gRPC's default two minutes.
TEST(ServerLimits, ConnectionWithoutHandshakeIsClosed) {
  test::ManualClock clock;
  State state(clock);
  ServerOptions options;
  options.address = "127.0.0.1:0";
  options.handshake_timeout = std::chrono::milliseconds(200);
  auto server = start_server(state, options);

  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(server->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const timeval wait{5, 0};  // far past the timeout, far short of gRPC's default
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
  }  // the server's SETTINGS frame may come first
  const int read_errno = errno;
  ::close(fd);
  EXPECT_TRUE(n == 0 || read_errno == ECONNRESET)
      << "the connection was not closed: " << std::strerror(read_errno);
}

// No Watch stream outlives its connection's maximum age (plus grace); the client's next Watch
// goes over a new connection and is served.
TEST(ServerLimits, WatchEndsAtMaxConnectionAge) {
  test::ManualClock clock;
  State state(clock);
  ServerOptions options;
  options.address = "127.0.0.1:0";
  options.max_connection_age = std::chrono::milliseconds(300);
  options.max_connection_age_grace = std::chrono::milliseconds(300);
  auto server = start_server(state, options);
  auto stub = pb::Cluster::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server->port()), grpc::InsecureChannelCredentials()));
  const auto open_watch = [&](grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::WatchRequest req;
    req.set_cluster_id(kCluster);
    return stub->Watch(&ctx, req);
  };
  grpc::ClientContext first_ctx;
  auto first = open_watch(first_ctx);
  pb::WatchResponse msg;
  ASSERT_TRUE(first->Read(&msg)) << "the snapshot";
  EXPECT_FALSE(first->Read(&msg)) << "nothing changes, so only the connection's end ends it";
  const grpc::Status ended = first->Finish();
  EXPECT_EQ(ended.error_code(), StatusCode::UNAVAILABLE) << ended.error_message();

  grpc::ClientContext second_ctx;
  auto second = open_watch(second_ctx);
  EXPECT_TRUE(second->Read(&msg)) << "a new Watch is served";
  second_ctx.TryCancel();
  second->Finish();
}

// Watch is served from pre-encoded bytes, so it decodes its request itself.
TEST_F(ServiceTest, UndecodableWatchRequestIsRefused) {
  const std::string truncated("\x0a\x05" "ab", 4);  // cluster_id says 5 bytes, 2 follow
  expect_result(raw_call("/sidero.discovery.server.Cluster/Watch", truncated, nullptr),
                StatusCode::INTERNAL);
  EXPECT_EQ(state_.stats().clusters, 0u);
}

// Messages past the size up to which the service copies them are sent by reference (snapshots,
// maximum-size affiliates); both must arrive intact, to every watcher.
TEST_F(ServiceTest, LargeSnapshotsAndChangesArriveIntact) {
  std::vector<std::string> endpoints;
  for (int e = 0; e < static_cast<int>(kAffiliateEndpointsMax); ++e) {
    endpoints.emplace_back(kAffiliateEndpointMax, 'e');
    endpoints.back().back() = static_cast<char>(e);
  }
  for (int i = 0; i < 40; ++i) {
    std::string data(kAffiliateDataMax, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(update(make_update("af" + std::to_string(i), data, endpoints)).ok());
  }
  const auto expected = list_map();
  std::vector<std::unique_ptr<WatchStream>> streams;
  for (int i = 0; i < 2; ++i) streams.push_back(watch(kCluster));
  for (auto& stream : streams) {
    pb::WatchResponse msg;
    ASSERT_TRUE(stream->reader->Read(&msg));
    std::map<std::string, AffiliateRecord> view;
    for (const auto& a : msg.affiliates()) view.emplace(a.id(), record_of(a));
    EXPECT_EQ(view, expected);
  }
  const std::string data(kAffiliateDataMax, 'z');
  ASSERT_TRUE(update(make_update("af7", data, endpoints)).ok());
  for (auto& stream : streams) {
    pb::WatchResponse msg;
    ASSERT_TRUE(stream->reader->Read(&msg));
    ASSERT_EQ(msg.affiliates_size(), 1);
    EXPECT_EQ(record_of(msg.affiliates(0)), (AffiliateRecord{"af7", data, endpoints}));
  }
}

TEST(IdTag, IsShortStableAndHidesTheId) {
  const std::string id = "c2VjcmV0LWNsdXN0ZXItaWQtdGhhdC1tdXN0LW5vdC1sZWFr";
  EXPECT_EQ(id_tag(id), id_tag(id));
  EXPECT_EQ(id_tag(id).size(), 8u);
  EXPECT_NE(id_tag(id), id_tag(id + "x"));
  EXPECT_EQ(id_tag(id).find(id.substr(0, 4)), std::string::npos);
}

}  // namespace
}  // namespace discovery::server
