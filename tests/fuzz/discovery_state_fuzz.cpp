// libFuzzer target: arbitrary bytes become a program of Cluster API requests (wire-decoded
// protobuf messages and small structured ones that collide on IDs) applied to a discovery State
// with a hand-moved clock. After every step it checks the limits and that every open watch, once
// drained, agrees with List.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "discovery/server.pb.h"
#include "discovery/server/limits.h"
#include "discovery/server/state.h"
#include "discovery/server/validate.h"
#include "tests/discovery/server/manual_clock.h"

namespace {

namespace ds = discovery::server;
namespace pb = ::sidero::discovery::server;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "invariant violated: %s (%s)\n", what, detail.c_str());
  std::abort();
}

// What a watch consumer has built from the snapshot and the changes it drained.
struct WatchView {
  std::string cluster;
  std::unique_ptr<ds::Watch> watch;
  std::map<std::string, ds::AffiliateRecord> seen;
};

class Harness {
 public:
  // Mirrors the service: validation in upstream's order, then the State. Requests the service
  // rejects never reach the State. `verify` compares List before and after (O(cluster size)).
  void update(const pb::AffiliateUpdateRequest& req, bool verify = true) {
    ds::AffiliateUpdate update{req.cluster_id(), req.affiliate_id(), req.affiliate_data(), {}, {}};
    update.endpoints.assign(req.affiliate_endpoints().begin(), req.affiliate_endpoints().end());
    if (ds::check_cluster_id(update.cluster_id) || ds::check_affiliate_id(update.affiliate_id) ||
        ds::check_affiliate_data(update.data) || ds::check_endpoints(update.endpoints)) {
      return;
    }
    auto ttl = ds::ttl_from_duration(req.ttl().seconds(), req.ttl().nanos());
    if (!ttl) return;
    update.ttl = *ttl;
    clusters_.insert(req.cluster_id());
    if (!verify) {
      state_.update(update);
      return;
    }

    const auto before = ids(req.cluster_id());
    const auto status = state_.update(update);
    const auto after = ids(req.cluster_id());
    const bool existed = before.count(req.affiliate_id()) > 0;
    if (status == ds::UpdateStatus::kTooManyAffiliates) {
      if (existed || before != after || before.size() < ds::kClusterAffiliatesMax) {
        fail("kTooManyAffiliates only for a new affiliate in a full cluster, storing nothing",
             std::to_string(before.size()));
      }
    } else if (!after.count(req.affiliate_id())) {
      fail("an accepted update stores the affiliate", req.affiliate_id());
    }
  }

  void remove(const std::string& cluster, const std::string& affiliate) {
    if (ds::check_cluster_id(cluster) || ds::check_affiliate_id(affiliate)) return;
    state_.remove(cluster, affiliate);
    if (ids(cluster).count(affiliate)) fail("a removed affiliate is gone", affiliate);
  }

  void open_watch(const std::string& cluster) {
    if (watches_.size() >= 4 || ds::check_cluster_id(cluster)) return;
    clusters_.insert(cluster);
    auto start = state_.watch(cluster, [] {});
    WatchView view{cluster, std::move(start.watch), {}};
    for (const auto& a : start.snapshot->affiliates) view.seen[a->id] = *a;
    if (decoded(start.snapshot->message, false) != view.seen) {
      fail("the snapshot's bytes carry its affiliates", cluster);
    }
    watches_.push_back(std::move(view));
  }

  void close_watch(std::size_t index) {
    if (!watches_.empty()) watches_.erase(watches_.begin() + index % watches_.size());
  }

  void advance(std::chrono::milliseconds by) { clock_.advance(by); }
  void collect() { state_.collect_garbage(); }

  void check() {
    std::size_t total = 0;
    for (const auto& cluster : clusters_) {
      const auto records = state_.list(cluster);
      total += records.size();
      if (records.size() > ds::kClusterAffiliatesMax) fail("affiliates per cluster", cluster);
      std::set<std::string> seen;
      for (const auto& a : records) {
        if (!seen.insert(a->id).second) fail("affiliate listed twice", a->id);
        if (a->id.empty() || a->id.size() > ds::kAffiliateIdMax) fail("affiliate ID size", a->id);
        if (a->data.size() > ds::kAffiliateDataMax) fail("data size", a->id);
        if (a->endpoints.size() > ds::kAffiliateEndpointsMax)
          fail("endpoints per affiliate", a->id);
        std::set<std::string> endpoints(a->endpoints.begin(), a->endpoints.end());
        if (endpoints.size() != a->endpoints.size()) fail("duplicate endpoint", a->id);
        for (const auto& e : a->endpoints) {
          if (e.size() > ds::kAffiliateEndpointMax) fail("endpoint size", a->id);
        }
      }
    }
    if (state_.stats().affiliates != total) {
      fail("stats agree with List", std::to_string(state_.stats().affiliates));
    }
    for (auto& view : watches_) {
      drain(view);
      std::map<std::string, ds::AffiliateRecord> listed;
      for (const auto& a : state_.list(view.cluster)) listed[a->id] = *a;
      if (listed != view.seen) fail("a drained watch converges to List", view.cluster);
    }
  }

 private:
  std::set<std::string> ids(const std::string& cluster) const {
    std::set<std::string> result;
    for (const auto& a : state_.list(cluster)) result.insert(a->id);
    return result;
  }

  // A WatchResponse's affiliates by ID; fails unless it parses and has the `deleted` flag given.
  static std::map<std::string, ds::AffiliateRecord> decoded(const std::string& bytes,
                                                            bool deleted) {
    pb::WatchResponse msg;
    if (!msg.ParseFromString(bytes) || msg.deleted() != deleted) fail("watch message bytes", "");
    std::map<std::string, ds::AffiliateRecord> out;
    for (const auto& a : msg.affiliates()) {
      out[a.id()] = {a.id(), a.data(), {a.endpoints().begin(), a.endpoints().end()}};
    }
    return out;
  }

  static void drain(WatchView& view) {
    ds::Change change;
    while (view.watch->next(change) == ds::Watch::Poll::kChange) {
      const std::string id(change.id);
      if (change.affiliate) {
        if (change.affiliate->id != id) fail("change ID matches its record", id);
        if (decoded(*change.message, false) !=
            std::map<std::string, ds::AffiliateRecord>{{id, *change.affiliate}}) {
          fail("an upsert's bytes carry its record", id);
        }
        view.seen[id] = *change.affiliate;
      } else {
        if (decoded(*change.message, true) !=
            std::map<std::string, ds::AffiliateRecord>{{id, ds::AffiliateRecord{id, {}, {}}}}) {
          fail("a deletion's bytes name the affiliate", id);
        }
        view.seen.erase(id);
      }
    }
  }

  ds::test::ManualClock clock_;
  ds::State state_{clock_};
  std::set<std::string> clusters_;  // every cluster ID a request named
  std::vector<WatchView> watches_;  // destroyed before state_
};

// Small ID and endpoint spaces, so updates collide and limits (1024 affiliates, 64 endpoints) are
// reachable; the structured ops take one byte per choice.
std::string pick_cluster(FuzzedDataProvider& in) {
  return "cluster-" + std::to_string(in.ConsumeIntegralInRange(0, 2));
}

pb::AffiliateUpdateRequest structured_update(FuzzedDataProvider& in) {
  pb::AffiliateUpdateRequest req;
  req.set_cluster_id(pick_cluster(in));
  req.set_affiliate_id("affiliate-" + std::to_string(in.ConsumeIntegralInRange(0, 1100)));
  if (in.ConsumeBool()) req.set_affiliate_data(std::string(in.ConsumeIntegralInRange(1, 64), 'd'));
  const int endpoints = in.ConsumeIntegralInRange(0, 16);
  for (int i = 0; i < endpoints; ++i) {
    req.add_affiliate_endpoints("ep-" + std::to_string(in.ConsumeIntegralInRange(0, 100)));
  }
  req.mutable_ttl()->set_seconds(in.ConsumeIntegralInRange(-10, 1900));
  return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Harness harness;
  for (int steps = 0; in.remaining_bytes() > 0 && steps < 256; ++steps) {
    switch (in.ConsumeIntegralInRange(0, 9)) {
      case 0: {  // arbitrary bytes as a wire message, as the gRPC server would decode them
        pb::AffiliateUpdateRequest req;
        if (req.ParseFromString(in.ConsumeRandomLengthString(4096))) harness.update(req);
        break;
      }
      case 1:
      case 2:
        harness.update(structured_update(in));
        break;
      case 3: {
        pb::AffiliateDeleteRequest req;
        if (req.ParseFromString(in.ConsumeRandomLengthString(512))) {
          harness.remove(req.cluster_id(), req.affiliate_id());
        }
        break;
      }
      case 4: {
        auto cluster = pick_cluster(in);
        harness.remove(cluster, "affiliate-" + std::to_string(in.ConsumeIntegralInRange(0, 1100)));
        break;
      }
      case 5: {
        pb::WatchRequest req;
        if (!in.ConsumeBool()) {
          harness.open_watch(pick_cluster(in));
        } else if (req.ParseFromString(in.ConsumeRandomLengthString(512))) {
          harness.open_watch(req.cluster_id());
        }
        break;
      }
      case 6:
        harness.close_watch(in.ConsumeIntegral<std::uint8_t>());
        break;
      case 7:
        harness.advance(std::chrono::milliseconds(in.ConsumeIntegralInRange(0, 40 * 60 * 1000)));
        break;
      case 8:
        harness.collect();
        break;
      case 9: {  // many affiliates at once, so the per-cluster limit is reachable from short inputs
        auto cluster = pick_cluster(in);
        const int count = in.ConsumeIntegralInRange(0, 1100);
        const auto ttl = in.ConsumeIntegralInRange(0, 1900);
        for (int i = 0; i < count; ++i) {
          pb::AffiliateUpdateRequest req;
          req.set_cluster_id(cluster);
          req.set_affiliate_id("affiliate-" + std::to_string(i));
          req.set_affiliate_data("d");
          req.mutable_ttl()->set_seconds(ttl);
          harness.update(req, false);  // check() after the step still sees every limit
        }
        break;
      }
    }
    harness.check();
  }
  return 0;
}
