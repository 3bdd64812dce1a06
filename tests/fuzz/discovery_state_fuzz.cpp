// libFuzzer target: the discovery-service's Cluster gRPC service class, its handlers called
// directly (no server), over a State with a hand-moved clock. The input is a program of small ops
// (a byte op-code, then one-byte choices): updates and deletes (structured, or wire-decoded
// protobuf), List, Hello, Watch streams whose writes the harness completes, fails or cancels, clock
// moves, GC, shutdown, and a snapshot round trip (plain or encrypted). After every step the
// registry must equal a model of what the API promises (records, limits, lifetimes), the open
// streams must respect their caps, and a drained watch must agree with List.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "discovery/server.pb.h"
#include "discovery/server/cluster_service.h"
#include "discovery/server/limits.h"
#include "discovery/server/metrics.h"
#include "discovery/server/snapshot.h"
#include "discovery/server/state.h"
#include "discovery/server/validate.h"
#include "tests/discovery/server/manual_clock.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/grpc_calls.h"

namespace {

namespace ds = discovery::server;
namespace pb = ::sidero::discovery::server;
using fuzz::check;
using fuzz::fail;
using std::chrono::nanoseconds;

constexpr std::size_t kMaxWatches = 5;
constexpr std::size_t kMaxWatchesPerAddress = 3;  // every call here comes from one (empty) address
constexpr std::size_t kMaxStreams = 8;            // streams the harness keeps at once

// What the registry must hold for one affiliate, by the API's rules.
struct ModelAffiliate {
  std::string data;
  std::vector<std::string> endpoints;
  std::vector<ds::TimePoint> endpoint_expiry;
  ds::TimePoint expiry;
};
using ModelCluster = std::map<std::string, ModelAffiliate>;
using Records = std::map<std::string, ds::AffiliateRecord>;

Records records_of(const std::vector<ds::AffiliatePtr>& list) {
  Records out;
  for (const auto& a : list) {
    check(out.emplace(a->id, *a).second, "an affiliate is listed once", a->id);
  }
  return out;
}

Records records_of(const ModelCluster& cluster) {
  Records out;
  for (const auto& [id, a] : cluster) out[id] = {id, a.data, a.endpoints};
  return out;
}

void check_limits(const ds::AffiliateRecord& a) {
  check(!a.id.empty() && a.id.size() <= ds::kAffiliateIdMax, "affiliate ID size", a.id);
  check(a.data.size() <= ds::kAffiliateDataMax, "affiliate data size", a.id);
  check(a.endpoints.size() <= ds::kAffiliateEndpointsMax, "endpoints per affiliate", a.id);
  std::set<std::string> unique(a.endpoints.begin(), a.endpoints.end());
  check(unique.size() == a.endpoints.size(), "endpoints are unique", a.id);
  for (const auto& e : a.endpoints) check(e.size() <= ds::kAffiliateEndpointMax, "endpoint size");
}

// A Watch stream and what its client has built from the messages it received.
struct Stream {
  std::string cluster;
  fuzz::StreamCall<grpc::ByteBuffer> call;
  bool snapshot_seen = false;
  bool over = false;
  Records view;
};

class Harness {
 public:
  Harness() {
    ds::ServiceOptions options;
    options.metrics = &metrics_;
    options.max_watches = kMaxWatches;
    options.max_watches_per_address = kMaxWatchesPerAddress;
    service_ = ds::make_cluster_service(state_, std::move(options));
  }

  ~Harness() {
    // Every call ends before the service goes, as gRPC guarantees.
    for (auto& s : streams_) finish(*s);
  }

  ds::TimePoint now() const { return clock_.now(); }

  void update(const pb::AffiliateUpdateRequest& req) {
    const grpc::Status status = fuzz::unary([&](grpc::CallbackServerContext* ctx) {
      pb::AffiliateUpdateResponse resp;
      return service_->AffiliateUpdate(ctx, &req, &resp);
    });
    expect_update(req, status);
  }

  void remove(const pb::AffiliateDeleteRequest& req) {
    const grpc::Status status = fuzz::unary([&](grpc::CallbackServerContext* ctx) {
      pb::AffiliateDeleteResponse resp;
      return service_->AffiliateDelete(ctx, &req, &resp);
    });
    if (valid_cluster(req.cluster_id())) dirty_.insert(req.cluster_id());
    if (!valid_cluster(req.cluster_id()) || !valid_affiliate(req.affiliate_id())) {
      expect_code(status, grpc::StatusCode::INVALID_ARGUMENT, "a bad delete is refused");
      return;
    }
    expect_code(status, grpc::StatusCode::OK, "a valid delete succeeds");
    seen_.insert(req.cluster_id());
    dirty_.insert(req.cluster_id());
    if (auto it = model_.find(req.cluster_id()); it != model_.end()) {
      it->second.erase(req.affiliate_id());
      if (it->second.empty()) model_.erase(it);
    }
  }

  void list(const std::string& cluster) {
    pb::ListRequest req;
    req.set_cluster_id(cluster);
    pb::ListResponse resp;
    const grpc::Status status = fuzz::unary(
        [&](grpc::CallbackServerContext* ctx) { return service_->List(ctx, &req, &resp); });
    if (!valid_cluster(cluster)) {
      expect_code(status, grpc::StatusCode::INVALID_ARGUMENT, "a bad List is refused");
      return;
    }
    expect_code(status, grpc::StatusCode::OK, "a valid List succeeds");
    Records listed;
    for (const auto& a : resp.affiliates()) {
      ds::AffiliateRecord r{a.id(), a.data(), {a.endpoints().begin(), a.endpoints().end()}};
      check(listed.emplace(a.id(), std::move(r)).second, "List names an affiliate once");
    }
    check(listed == expected(cluster), "List answers what the registry holds", cluster);
  }

  void hello(const pb::HelloRequest& req) {
    pb::HelloResponse resp;
    const grpc::Status status = fuzz::unary(
        [&](grpc::CallbackServerContext* ctx) { return service_->Hello(ctx, &req, &resp); });
    if (!valid_cluster(req.cluster_id())) {
      expect_code(status, grpc::StatusCode::INVALID_ARGUMENT, "a bad Hello is refused");
      return;
    }
    expect_code(status, grpc::StatusCode::OK, "a valid Hello succeeds");
    check(!resp.has_redirect(), "no redirect unless configured");
    // A call without a transport peer has no address to report.
    check(resp.client_ip().empty(), "Hello reports no address for a call without a peer");
  }

  // `raw` is the request as it arrives on the wire (it may not parse).
  void open_watch(const std::string& raw, const std::string& cluster) {
    std::erase_if(streams_, [](const std::unique_ptr<Stream>& s) { return s->over; });
    if (streams_.size() >= kMaxStreams) return;
    auto stream = std::make_unique<Stream>();
    stream->cluster = cluster;
    grpc::Slice slice(raw.data(), raw.size());
    grpc::ByteBuffer request(&slice, 1);
    stream->call.bind(service_->Watch(stream->call.context(), &request));
    streams_.push_back(std::move(stream));
    admitted_check();
  }

  // Completes up to `count` writes of one stream (`ok` false: the client is gone).
  void deliver(std::size_t index, std::size_t count, bool ok) {
    if (streams_.empty()) return;
    Stream& s = *streams_[index % streams_.size()];
    for (std::size_t i = 0; i < count && !s.over; ++i) {
      if (!take(s, ok)) break;
    }
    settle(s);
  }

  void cancel(std::size_t index) {
    if (streams_.empty()) return;
    Stream& s = *streams_[index % streams_.size()];
    if (!s.over) s.call.cancel();
    settle(s);
  }

  void advance(nanoseconds by) { clock_.advance(by); }

  void collect() {
    all_dirty_ = true;
    const ds::GcResult result = state_.collect_garbage();
    ds::GcResult expect;
    const auto now = clock_.now();
    for (auto it = model_.begin(); it != model_.end();) {
      auto& affiliates = it->second;
      for (auto a = affiliates.begin(); a != affiliates.end();) {
        if (a->second.expiry < now) {
          expect.affiliates_removed++;
          expect.endpoints_removed += a->second.endpoints.size();
          a = affiliates.erase(a);
          continue;
        }
        ModelAffiliate& m = a->second;
        ModelAffiliate kept{m.data, {}, {}, m.expiry};
        for (std::size_t i = 0; i < m.endpoints.size(); ++i) {
          if (m.endpoint_expiry[i] > now) {
            kept.endpoints.push_back(m.endpoints[i]);
            kept.endpoint_expiry.push_back(m.endpoint_expiry[i]);
          } else {
            expect.endpoints_removed++;
          }
        }
        m = std::move(kept);
        ++a;
      }
      it = affiliates.empty() ? model_.erase(it) : std::next(it);
    }
    check(result.affiliates_removed == expect.affiliates_removed,
          "GC removes exactly the expired affiliates");
    check(result.endpoints_removed == expect.endpoints_removed,
          "GC removes exactly the expired endpoints");
    metrics_.gc(result);
  }

  // Server shutdown: every watch ends with OK.
  void shutdown() {
    all_dirty_ = true;
    state_.close_watches();
    for (auto& s : streams_) {
      while (take(*s, true)) {
      }
      settle(*s);
      check(s->over, "a closed watch ends");
      if (s->call.status()) check(s->call.status()->ok() || !s->snapshot_seen, "shutdown ends OK");
    }
  }

  // Exports, encodes (plain or with a key), decodes and imports into a fresh State: nothing may
  // be lost or changed on the way.
  void snapshot_round_trip(bool encrypted) {
    all_dirty_ = true;
    std::vector<ds::ClusterExport> exported;
    state_.export_clusters([&](ds::ClusterExport&& c) { exported.push_back(std::move(c)); });
    ds::SnapshotKey key{};
    key.fill(0x42);
    std::string bytes;
    ds::encode_snapshot(state_, encrypted ? &key : nullptr,
                        [&](std::string_view chunk) { bytes.append(chunk); });
    auto decoded =
        ds::decode_snapshot(bytes, encrypted ? &key : nullptr, std::chrono::system_clock::now());
    if (decoded.refused) fail("a fresh snapshot is not refused", *decoded.refused);
    if (!decoded.problems.empty()) {
      fail("a fresh snapshot decodes without problems", decoded.problems.front().message);
    }
    check(decoded.clusters.size() == exported.size(), "a snapshot keeps every cluster");
    std::map<std::string, const ds::ClusterExport*> by_id;
    for (const auto& c : exported) by_id[c.id] = &c;
    ds::State restored(clock_);
    for (const auto& c : decoded.clusters) {
      auto it = by_id.find(c.id);
      check(it != by_id.end(), "a snapshot invents no cluster", c.id);
      check(c.affiliates.size() == it->second->affiliates.size(), "a snapshot keeps affiliates");
      for (std::size_t i = 0; i < c.affiliates.size(); ++i) {
        const auto& got = c.affiliates[i];
        const auto& want = it->second->affiliates[i];
        check(*got.record == *want.record, "a snapshot keeps records", want.record->id);
        check(got.ttl == clamp_ttl(want.ttl), "a snapshot keeps lifetimes", want.record->id);
        check(got.endpoint_ttls.size() == want.endpoint_ttls.size(), "endpoint lifetimes");
        for (std::size_t e = 0; e < got.endpoint_ttls.size(); ++e) {
          check(got.endpoint_ttls[e] == clamp_ttl(want.endpoint_ttls[e]), "endpoint lifetime");
        }
      }
      check(restored.import_cluster(c), "a decoded cluster imports into an empty State", c.id);
      check(records_of(restored.list(c.id)) == records_of(state_.list(c.id)),
            "an imported cluster lists as the original", c.id);
    }
  }

  // Many new affiliates at once, so the per-cluster limit is reachable from a short input.
  void fill(const std::string& cluster, std::size_t count, std::uint8_t ttl) {
    for (std::size_t i = 0; i < count; ++i) {
      pb::AffiliateUpdateRequest req;
      req.set_cluster_id(cluster);
      req.set_affiliate_id("f" + std::to_string(i));
      req.set_affiliate_data("d");
      set_ttl(req, ttl);
      update(req);
    }
  }

  // Per-step invariants: the clusters the step touched equal the model (all of them after a step
  // that touches every cluster), and the counters agree.
  void check_state() {
    std::size_t affiliates = 0, endpoints = 0;
    for (const auto& cluster : all_dirty_ ? seen_ : dirty_) {
      const Records listed = records_of(state_.list(cluster));
      for (const auto& [id, a] : listed) check_limits(a);
      check(listed.size() <= ds::kClusterAffiliatesMax, "affiliates per cluster", cluster);
      check(listed == expected(cluster), "the registry holds what the API promised", cluster);
    }
    for (const auto& [id, cluster] : model_) {
      affiliates += cluster.size();
      for (const auto& [aid, a] : cluster) endpoints += a.endpoints.size();
    }
    const ds::StateStats stats = state_.stats();
    check(stats.affiliates == affiliates, "stats count the affiliates");
    check(stats.endpoints == endpoints, "stats count the endpoints");
    admitted_check();
    dirty_.clear();
    all_dirty_ = false;
  }

  // Drains every stream; each open one must then show what List shows.
  void sync() {
    for (auto& s : streams_) {
      while (!s->over && take(*s, true)) {
      }
      settle(*s);
      if (s->over || !s->snapshot_seen) continue;
      check(s->view == records_of(state_.list(s->cluster)), "a drained watch agrees with List",
            s->cluster);
    }
  }

  void render_metrics() {
    const ds::StateStats stats = state_.stats();
    check(!metrics_.render({&stats, 0}).empty(), "metrics render");
  }

  static void set_ttl(pb::AffiliateUpdateRequest& req, std::uint8_t choice) {
    auto* ttl = req.mutable_ttl();
    switch (choice) {
      case 250:
        ttl->set_seconds(-5);
        break;
      case 251:  // just past the limit
        ttl->set_seconds(1800);
        ttl->set_nanos(1);
        break;
      case 252:
        ttl->set_seconds(1800);
        break;
      case 253:
        ttl->set_seconds(-1);
        ttl->set_nanos(-999'999'999);
        break;
      case 254:
        ttl->set_seconds(1800);
        ttl->set_nanos(999'999'999);
        break;
      case 255:
        ttl->set_seconds(INT64_MAX);
        ttl->set_nanos(INT32_MAX);
        break;
      default:
        ttl->set_seconds(choice * 8);  // 0 .. 1992 s: both sides of the limit
        ttl->set_nanos(choice % 3 == 0 ? 500'000'000 : 0);
    }
  }

 private:
  static bool valid_cluster(const std::string& id) {
    return !id.empty() && id.size() <= ds::kClusterIdMax;
  }
  static bool valid_affiliate(const std::string& id) {
    return !id.empty() && id.size() <= ds::kAffiliateIdMax;
  }

  static nanoseconds clamp_ttl(nanoseconds ttl) {
    return std::clamp<nanoseconds>(ttl, std::chrono::seconds(-3600), ds::kTtlMax);
  }

  static void expect_code(const grpc::Status& status, grpc::StatusCode code, const char* what) {
    check(status.error_code() == code, what, status.error_message());
  }

  Records expected(const std::string& cluster) const {
    auto it = model_.find(cluster);
    return it == model_.end() ? Records{} : records_of(it->second);
  }

  // The outcome an update must have, applied to the model.
  void expect_update(const pb::AffiliateUpdateRequest& req, const grpc::Status& status) {
    // A google.protobuf.Duration, exactly: longer than 30 minutes is refused, negative is zero. A
    // malformed one (nanos out of range, or signs that disagree) means whatever the server makes
    // of it, as long as that is a lifetime the API allows.
    __int128 ttl_ns =
        static_cast<__int128>(req.ttl().seconds()) * 1'000'000'000 + req.ttl().nanos();
    const auto seconds = req.ttl().seconds();
    const auto nanos = req.ttl().nanos();
    if (nanos <= -1'000'000'000 || nanos >= 1'000'000'000 || (seconds < 0 && nanos > 0) ||
        (seconds > 0 && nanos < 0)) {
      const auto read = ds::ttl_from_duration(seconds, nanos);
      if (read) {
        check(*read >= nanoseconds::zero() && *read <= ds::kTtlMax, "a lifetime the API allows");
      }
      ttl_ns = read ? read->count() : static_cast<__int128>(ds::kTtlMax.count()) + 1;
    }
    // A refused request must not have changed its cluster either.
    if (valid_cluster(req.cluster_id())) dirty_.insert(req.cluster_id());
    bool valid = valid_cluster(req.cluster_id()) && valid_affiliate(req.affiliate_id()) &&
                 req.affiliate_data().size() <= ds::kAffiliateDataMax &&
                 ttl_ns <= static_cast<__int128>(ds::kTtlMax.count());
    for (const auto& e : req.affiliate_endpoints())
      valid = valid && e.size() <= ds::kAffiliateEndpointMax;
    if (!valid) {
      expect_code(status, grpc::StatusCode::INVALID_ARGUMENT, "a bad update is refused");
      return;
    }
    seen_.insert(req.cluster_id());
    dirty_.insert(req.cluster_id());
    ModelCluster& cluster = model_[req.cluster_id()];
    const bool exists = cluster.count(req.affiliate_id()) > 0;
    if (!exists && cluster.size() >= ds::kClusterAffiliatesMax) {
      expect_code(status, grpc::StatusCode::RESOURCE_EXHAUSTED,
                  "a new affiliate in a full cluster is refused");
      return;
    }
    const ds::TimePoint expiry =
        clock_.now() + nanoseconds(static_cast<std::int64_t>(std::max<__int128>(ttl_ns, 0)));
    ModelAffiliate& a = cluster[req.affiliate_id()];
    if (!exists) a.expiry = expiry;
    // Data sets the lifetime outright; endpoints only ever extend theirs and the affiliate's.
    if (!req.affiliate_data().empty()) {
      a.data = req.affiliate_data();
      a.expiry = expiry;
    }
    bool too_many = false;
    for (const auto& e : req.affiliate_endpoints()) {
      auto found = std::find(a.endpoints.begin(), a.endpoints.end(), e);
      if (found != a.endpoints.end()) {
        auto& when = a.endpoint_expiry[found - a.endpoints.begin()];
        when = std::max(when, expiry);
        continue;
      }
      if (a.endpoints.size() >= ds::kAffiliateEndpointsMax) {
        too_many = true;
        break;
      }
      a.endpoints.push_back(e);
      a.endpoint_expiry.push_back(expiry);
    }
    a.expiry = std::max(a.expiry, expiry);
    expect_code(status, too_many ? grpc::StatusCode::RESOURCE_EXHAUSTED : grpc::StatusCode::OK,
                "an update succeeds unless its endpoints overflow the affiliate");
  }

  // Takes the stream's message in flight into its view and completes the write.
  bool take(Stream& s, bool ok) {
    const grpc::ByteBuffer* buffer = s.call.in_flight();
    if (buffer == nullptr) return false;
    std::vector<grpc::Slice> slices;
    check(buffer->Dump(&slices).ok(), "a watch message can be read");
    std::string bytes;
    for (const auto& slice : slices)
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    pb::WatchResponse msg;
    check(msg.ParseFromString(bytes), "a watch message parses");
    if (ok) {
      if (!s.snapshot_seen) {
        check(!msg.deleted(), "the first watch message is the snapshot");
        s.snapshot_seen = true;
        s.view.clear();
      } else {
        // Changes pending together come as one message, all upserts or all deletions.
        check(msg.affiliates_size() >= 1, "a change message names an affiliate");
      }
      for (const auto& a : msg.affiliates()) {
        if (msg.deleted()) {
          s.view.erase(a.id());
          continue;
        }
        ds::AffiliateRecord r{a.id(), a.data(), {a.endpoints().begin(), a.endpoints().end()}};
        check_limits(r);
        s.view[a.id()] = std::move(r);
      }
    }
    s.call.complete_write(ok);
    return true;
  }

  // Ends the call on gRPC's side once the reactor has finished.
  void settle(Stream& s) {
    if (!s.over && s.call.maybe_done()) s.over = true;
  }

  void finish(Stream& s) {
    if (s.over) return;
    s.call.cancel();
    while (take(s, false)) {
    }
    settle(s);
    check(s.over, "a cancelled watch ends");
  }

  // Streams admitted and not over never exceed the caps.
  void admitted_check() {
    std::size_t live = 0;
    for (auto& s : streams_) {
      settle(*s);
      if (!s->over && (s->snapshot_seen || s->call.in_flight() != nullptr)) ++live;
    }
    check(live <= kMaxWatchesPerAddress, "open watches stay within the per-address cap");
  }

  ds::test::ManualClock clock_;
  ds::State state_{clock_};
  ds::Metrics metrics_{true};
  std::unique_ptr<ds::ClusterServiceBase> service_;
  std::map<std::string, ModelCluster> model_;
  std::set<std::string> seen_;   // every valid cluster ID a request named
  std::set<std::string> dirty_;  // the clusters this step may have changed
  bool all_dirty_ = false;       // ... or all of them
  std::vector<std::unique_ptr<Stream>> streams_;
};

// Small ID spaces, so requests collide; a few IDs sit on the limits.
std::string cluster_id(fuzz::Input& in) {
  const std::uint8_t c = in.u8();
  switch (c % 8) {
    case 5:
      return std::string(ds::kClusterIdMax, 'c');
    case 6:
      return std::string(ds::kClusterIdMax + 1, 'c');
    case 7:
      return c >= 128 ? in.str() : std::string();
    default:
      return "cluster-" + std::to_string(c % 8);
  }
}

std::string affiliate_id(fuzz::Input& in) {
  const std::uint8_t a = in.u8();
  if (a == 255) return in.str();
  if (a == 254) return std::string(ds::kAffiliateIdMax + (in.flag() ? 1 : 0), 'a');
  return "af-" + std::to_string(a % 48);
}

std::string data(std::uint8_t d) {
  if (d == 0) return {};
  if (d < 200) return "data-" + std::to_string(d);
  return std::string(ds::kAffiliateDataMax - 8 + (d - 200) / 4, 'd');  // both sides of the limit
}

std::string endpoint(std::uint8_t e) {
  if (e < 224) return "ep-" + std::to_string(e % 96);
  return std::string(ds::kAffiliateEndpointMax - 4 + (e - 224) / 4, 'e');
}

pb::AffiliateUpdateRequest structured_update(fuzz::Input& in) {
  pb::AffiliateUpdateRequest req;
  req.set_cluster_id(cluster_id(in));
  req.set_affiliate_id(affiliate_id(in));
  const std::uint8_t d = in.u8();
  if (d != 0 || in.flag()) req.set_affiliate_data(data(d));
  const std::uint8_t shape = in.u8();
  if (shape >= 0xf0) {
    // Many distinct endpoints at once: over the per-affiliate limit from one step.
    const int base = in.u8();
    for (int i = 0; i < 70; ++i) req.add_affiliate_endpoints("many-" + std::to_string(base + i));
  } else {
    for (int i = 0; i < shape % 6; ++i) req.add_affiliate_endpoints(endpoint(in.u8()));
  }
  Harness::set_ttl(req, in.u8());
  return req;
}

nanoseconds clock_step(std::uint8_t b) {
  if (b < 200) return std::chrono::seconds(b * 10);  // up to 33 minutes
  if (b < 250) return std::chrono::milliseconds((b - 200) * 20);
  return nanoseconds(b - 249);  // a few nanoseconds: the `<` versus `<=` edges
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data_ptr, std::size_t size) {
  fuzz::Input in(data_ptr, size);
  Harness h;
  for (int steps = 0; !in.empty() && steps < 512; ++steps) {
    switch (in.u8() % 16) {
      case 0:
      case 1:
        h.update(structured_update(in));
        break;
      case 2: {  // a request as the wire delivers it
        pb::AffiliateUpdateRequest req;
        if (req.ParseFromString(in.str16())) h.update(req);
        break;
      }
      case 3: {
        pb::AffiliateDeleteRequest req;
        if (in.flag()) {
          req.ParseFromString(in.str());
        } else {
          req.set_cluster_id(cluster_id(in));
          req.set_affiliate_id(affiliate_id(in));
        }
        h.remove(req);
        break;
      }
      case 4:
        h.list(cluster_id(in));
        break;
      case 5: {
        pb::HelloRequest req;
        req.set_cluster_id(cluster_id(in));
        static const char* const kVersions[] = {"v1.8.3", "v1.8.3-beta", "v1",
                                                "",       "1.2.3",       "v99999999999.1.0"};
        const std::uint8_t v = in.u8();
        req.set_client_version(v < 6 ? kVersions[v] : in.str());
        h.hello(req);
        break;
      }
      case 6: {
        const bool raw = in.u8() == 0xff;
        if (raw) {
          const std::string bytes = in.str();
          pb::WatchRequest req;
          h.open_watch(bytes, req.ParseFromString(bytes) ? req.cluster_id() : std::string());
        } else {
          pb::WatchRequest req;
          req.set_cluster_id(cluster_id(in));
          h.open_watch(req.SerializeAsString(), req.cluster_id());
        }
        break;
      }
      case 7: {
        const std::uint8_t which = in.u8();
        const std::uint8_t how = in.u8();
        h.deliver(which, how % 8 + 1, how < 0xf0);
        break;
      }
      case 8:
        h.cancel(in.u8());
        break;
      case 9:
        h.advance(clock_step(in.u8()));
        break;
      case 10:
        h.collect();
        break;
      case 11: {
        const auto cluster = cluster_id(in);
        const std::uint8_t count = in.u8();
        h.fill(cluster, count < 16 ? 1030 : count, in.u8());
        break;
      }
      case 12:
        h.snapshot_round_trip(in.flag());
        break;
      case 13:
        h.sync();
        break;
      case 14:
        if (in.u8() == 0x5a) h.shutdown();
        break;
      case 15:
        h.render_metrics();
        break;
    }
    h.check_state();
  }
  h.sync();
  return 0;
}
