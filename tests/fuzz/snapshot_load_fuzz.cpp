// libFuzzer target: snapshot files (ours, plain or encrypted, and upstream's) decoded from
// arbitrary bytes. The first byte's low bit says whether a key is configured (the key the seeds
// in seeds/tds_snapshot_load_fuzz are encrypted with), so encrypted records are reached. Decoding
// never crashes, whatever it accepts respects the API limits, and what it accepts, once imported,
// saves and loads again unchanged.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "discovery/server/limits.h"
#include "discovery/server/snapshot.h"
#include "discovery/server/state.h"
#include "tests/discovery/server/manual_clock.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

namespace ds = discovery::server;
using fuzz::check;
using fuzz::fail;

void check_limits(const ds::ClusterExport& cluster) {
  check(!cluster.id.empty() && cluster.id.size() <= ds::kClusterIdMax, "cluster ID size");
  check(cluster.affiliates.size() <= ds::kClusterAffiliatesMax, "affiliates per cluster");
  for (const auto& a : cluster.affiliates) {
    check(a.record != nullptr, "a record");
    check(!a.record->id.empty() && a.record->id.size() <= ds::kAffiliateIdMax, "affiliate ID");
    check(a.record->data.size() <= ds::kAffiliateDataMax, "affiliate data size");
    check(a.record->endpoints.size() <= ds::kAffiliateEndpointsMax, "endpoints per affiliate");
    check(a.endpoint_ttls.size() == a.record->endpoints.size(), "a lifetime per endpoint");
    check(a.ttl <= ds::kTtlMax, "lifetime within the API's limit");
    for (const auto& e : a.record->endpoints) {
      check(e.size() <= ds::kAffiliateEndpointMax, "endpoint size");
    }
  }
}

// A cluster's affiliates by ID: record, lifetime and endpoint lifetimes.
using Contents = std::map<std::string, std::map<std::string, ds::AffiliateExport>>;

Contents contents_of(const std::vector<ds::ClusterExport>& clusters) {
  Contents out;
  for (const auto& c : clusters) {
    auto& cluster = out[c.id];
    for (const auto& a : c.affiliates) cluster[a.record->id] = a;
  }
  return out;
}

bool same(const Contents& a, const Contents& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (i->first != j->first || i->second.size() != j->second.size()) return false;
    for (auto x = i->second.begin(), y = j->second.begin(); x != i->second.end(); ++x, ++y) {
      if (x->first != y->first || !(*x->second.record == *y->second.record) ||
          x->second.ttl != y->second.ttl || x->second.endpoint_ttls != y->second.endpoint_ttls) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  ds::SnapshotKey key{};
  key.fill(0x42);
  const ds::SnapshotKey* used = (data[0] & 1) != 0 ? &key : nullptr;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto now = std::chrono::system_clock::now();
  const auto decoded = ds::decode_snapshot(bytes, used, now);
  if (decoded.refused) check(decoded.clusters.empty(), "a refused file yields nothing");
  for (const auto& cluster : decoded.clusters) check_limits(cluster);
  if (decoded.clusters.empty()) return 0;

  // Imported, saved in our format and read again: the same registry.
  ds::test::ManualClock clock;
  ds::State state(clock);
  std::vector<ds::ClusterExport> imported;
  for (const auto& cluster : decoded.clusters) {
    if (!state.import_cluster(cluster)) fail("a decoded cluster imports", cluster.id);
    if (!cluster.affiliates.empty()) imported.push_back(cluster);
  }
  std::string saved;
  ds::encode_snapshot(state, used, [&](std::string_view chunk) { saved.append(chunk); });
  const auto again = ds::decode_snapshot(saved, used, now);
  if (again.refused) fail("a saved snapshot is not refused", *again.refused);
  if (!again.problems.empty()) fail("a saved snapshot reads cleanly", again.problems[0].message);
  check(same(contents_of(again.clusters), contents_of(imported)),
        "a loaded snapshot saves and loads unchanged");
  return 0;
}
