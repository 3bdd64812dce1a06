// How the discovery registry is laid out in etcd, under a prefix P: one key per affiliate,
//   P a/<cluster tag>/<affiliate ID in hex>  (value: StoredAffiliate)
// so a cluster is the range of keys starting P a/<cluster tag>/.
// The cluster tag is the SHA-256 of the cluster ID in hex: the ID is the only credential a client
// needs to join or flood a cluster, so it is not written where etcd's readers and backups see it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "discovery/server/affiliate_merge.h"
#include "discovery/server/registry.h"
#include "discovery/server/state.h"

namespace discovery::server {

using WallTime = std::chrono::system_clock::time_point;

class EtcdKeys {
 public:
  explicit EtcdKeys(std::string prefix);

  static std::string cluster_tag(std::string_view cluster_id);

  const std::string& prefix() const { return prefix_; }
  // Every affiliate key starts with this.
  std::string affiliates() const { return prefix_ + "a/"; }
  // Every key of the cluster starts with this.
  std::string cluster(std::string_view cluster_tag) const;
  std::string affiliate(std::string_view cluster_tag, std::string_view affiliate_id) const;

  struct Parsed {
    std::string cluster_tag;
    std::string affiliate_id;
  };
  // The parts of an affiliate key; nullopt for any other key.
  std::optional<Parsed> parse_affiliate(std::string_view key) const;

 private:
  std::string prefix_;
};

// One affiliate as stored: the record, its absolute lifetimes and when it was written.
struct StoredAffiliate {
  AffiliateRecord record;
  AffiliateLifetimes<WallTime> times;
  WallTime written{};
};

std::string encode_stored(const StoredAffiliate& affiliate);
// Decodes and checks a value against the Cluster API's limits, since anyone with write access to
// etcd may have put it there; nullopt with `error` set when it is not one we could have written.
std::optional<StoredAffiliate> decode_stored(std::string_view bytes, std::string& error);

// The affiliate as the in-memory mirror holds it: lifetimes relative to `now`.
AffiliateExport to_export(const StoredAffiliate& affiliate, WallTime now);

}  // namespace discovery::server
