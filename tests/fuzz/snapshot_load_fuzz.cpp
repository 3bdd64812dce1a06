// libFuzzer target: snapshot files (ours, plain or encrypted, and upstream's) decoded from
// arbitrary bytes. Decoding must never crash, and whatever it accepts must respect the API limits.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "discovery/server/limits.h"
#include "discovery/server/snapshot.h"

namespace {

using discovery::server::ClusterExport;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_limits(const ClusterExport& cluster) {
  using namespace discovery::server;
  check(!cluster.id.empty() && cluster.id.size() <= kClusterIdMax);
  check(cluster.affiliates.size() <= kClusterAffiliatesMax);
  for (const auto& a : cluster.affiliates) {
    check(a.record != nullptr);
    check(!a.record->id.empty() && a.record->id.size() <= kAffiliateIdMax);
    check(a.record->data.size() <= kAffiliateDataMax);
    check(a.record->endpoints.size() <= kAffiliateEndpointsMax);
    check(a.endpoint_ttls.size() == a.record->endpoints.size());
    check(a.ttl <= kTtlMax);
    for (const auto& e : a.record->endpoints) check(e.size() <= kAffiliateEndpointMax);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks whether a key is configured, so encrypted paths are reached too.
  discovery::server::SnapshotKey key{};
  key.fill(0x42);
  const bool keyed = (data[0] & 1) != 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  auto decoded = discovery::server::decode_snapshot(bytes, keyed ? &key : nullptr,
                                                    std::chrono::system_clock::now());
  if (decoded.refused) check(decoded.clusters.empty());
  for (const auto& cluster : decoded.clusters) check_limits(cluster);
  return 0;
}
