// Keys and values of the etcd store.
#include "discovery/server/etcd_layout.h"

#include <openssl/sha.h>

#include <algorithm>
#include <vector>

#include "discovery/etcd_store.pb.h"
#include "discovery/server/limits.h"
#include "discovery/server/validate.h"

namespace discovery::server {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHexDigits[c >> 4];
    out += kHexDigits[c & 0xf];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::int64_t unix_nanos(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

WallTime from_unix_nanos(std::int64_t n) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(n)));
}

constexpr std::size_t kTagSize = 2 * SHA256_DIGEST_LENGTH;

}  // namespace

EtcdKeys::EtcdKeys(std::string prefix) : prefix_(std::move(prefix)) {}

std::string EtcdKeys::cluster_tag(std::string_view cluster_id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(cluster_id.data()), cluster_id.size(), digest);
  return hex({reinterpret_cast<const char*>(digest), sizeof digest});
}

std::string EtcdKeys::cluster(std::string_view cluster_tag) const {
  std::string key = affiliates();
  key.append(cluster_tag).append("/");
  return key;
}

std::string EtcdKeys::affiliate(std::string_view cluster_tag, std::string_view affiliate_id) const {
  return cluster(cluster_tag) + hex(affiliate_id);
}

std::optional<EtcdKeys::Parsed> EtcdKeys::parse_affiliate(std::string_view key) const {
  const std::string head = affiliates();
  if (!key.starts_with(head)) return std::nullopt;
  key.remove_prefix(head.size());
  if (key.size() < kTagSize + 1 || key[kTagSize] != '/') return std::nullopt;
  std::string_view tag = key.substr(0, kTagSize);
  if (!std::all_of(tag.begin(), tag.end(), [](char c) { return hex_value(c) >= 0; })) {
    return std::nullopt;
  }
  auto id = unhex(key.substr(kTagSize + 1));
  if (!id || check_affiliate_id(*id)) return std::nullopt;
  return Parsed{std::string(tag), std::move(*id)};
}

std::string encode_stored(const StoredAffiliate& affiliate) {
  tds::discovery::etcd::StoredAffiliate out;
  out.set_id(affiliate.record.id);
  out.set_data(affiliate.record.data);
  out.set_expires_unix_nano(unix_nanos(affiliate.times.expiration));
  out.set_written_unix_nano(unix_nanos(affiliate.written));
  for (std::size_t i = 0; i < affiliate.record.endpoints.size(); ++i) {
    auto* endpoint = out.add_endpoints();
    endpoint->set_data(affiliate.record.endpoints[i]);
    endpoint->set_expires_unix_nano(unix_nanos(affiliate.times.endpoint_expiry[i]));
  }
  return out.SerializeAsString();
}

std::optional<StoredAffiliate> decode_stored(std::string_view bytes, std::string& error) {
  tds::discovery::etcd::StoredAffiliate in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    error = "not a StoredAffiliate message";
    return std::nullopt;
  }
  std::vector<std::string_view> endpoints;
  for (const auto& endpoint : in.endpoints()) endpoints.emplace_back(endpoint.data());
  for (auto problem :
       {check_affiliate_id(in.id()), check_affiliate_data(in.data()), check_endpoints(endpoints)}) {
    if (problem) {
      error = std::string(*problem);
      return std::nullopt;
    }
  }
  if (endpoints.size() > kAffiliateEndpointsMax) {
    error = "too many endpoints in the affiliate";
    return std::nullopt;
  }
  StoredAffiliate out;
  out.record.id = in.id();
  out.record.data = in.data();
  out.times.expiration = from_unix_nanos(in.expires_unix_nano());
  out.written = from_unix_nanos(in.written_unix_nano());
  for (const auto& endpoint : in.endpoints()) {
    if (std::find(out.record.endpoints.begin(), out.record.endpoints.end(), endpoint.data()) !=
        out.record.endpoints.end()) {
      error = "repeated endpoint";
      return std::nullopt;
    }
    out.record.endpoints.push_back(endpoint.data());
    out.times.endpoint_expiry.push_back(from_unix_nanos(endpoint.expires_unix_nano()));
  }
  return out;
}

AffiliateExport to_export(const StoredAffiliate& affiliate, WallTime now) {
  AffiliateExport out{std::make_shared<const AffiliateRecord>(affiliate.record),
                      affiliate.times.expiration - now,
                      {}};
  out.endpoint_ttls.reserve(affiliate.times.endpoint_expiry.size());
  for (WallTime expiry : affiliate.times.endpoint_expiry) out.endpoint_ttls.push_back(expiry - now);
  return out;
}

}  // namespace discovery::server
