// Snapshot encoding, decoding and atomic file replacement. Cluster records are upstream's
// ClusterSnapshot messages in both formats; ours adds a header, per-record checksums (or
// AES-256-GCM tags) bound to the file and the record's position, and an end record.
#include "discovery/server/snapshot.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "discovery/server/limits.h"
#include "discovery/server/validate.h"
#include "discovery/storage.pb.h"
#include "platform/private_file.h"
#include "values/base64.h"

namespace discovery::server {
namespace {

namespace pb = ::sidero::discovery::storage;
using std::chrono::nanoseconds;

constexpr std::string_view kMagic = "TDS-SNAP";
constexpr unsigned char kVersion = 1;
constexpr unsigned char kPlain = 0;
constexpr unsigned char kAes256Gcm = 1;
constexpr std::size_t kFileIdSize = 16;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
// magic, version, cipher, 2 reserved, file id, creation time; then nonce and tag over it.
constexpr std::size_t kHeaderCovered = 8 + 1 + 1 + 2 + kFileIdSize + 8;
constexpr std::size_t kHeaderSize = kHeaderCovered + kNonceSize + kTagSize;
// Header fields, by name as problems and logs give them.
struct HeaderField {
  std::string_view name;
  std::size_t offset;
  std::size_t size;
};
constexpr HeaderField kMagicField{"magic", 0, kMagic.size()};
constexpr HeaderField kVersionField{"version", 8, 1};
constexpr HeaderField kCipherField{"cipher", 9, 1};
constexpr HeaderField kReservedField{"reserved", 10, 2};
constexpr HeaderField kFileIdField{"file_id", 12, kFileIdSize};
constexpr HeaderField kCreatedField{"creation_time", 28, 8};
constexpr HeaderField kNonceField{"nonce", kHeaderCovered, kNonceSize};
static_assert(kCreatedField.offset + kCreatedField.size == kHeaderCovered);
constexpr std::size_t kRecordHead = 1 + 4;  // type, payload length
constexpr unsigned char kRecordCluster = 1;
constexpr unsigned char kRecordEnd = 2;
// Upstream's largest possible cluster record; ours may add a nonce.
constexpr std::uint64_t kMaxClusterRecord = 137'912'579;
constexpr std::uint64_t kMaxPayload = kMaxClusterRecord + kNonceSize;
// Remaining lifetimes are clamped to this window: longer than kTtlMax is impossible through the
// API, and anything more than an hour in the past is just "expired".
constexpr std::int64_t kOldestSeconds = -3600;
constexpr std::size_t kFlushBytes = 1 << 20;

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_le(std::string_view in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return value;
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("snapshot: no random bytes from OpenSSL");
  }
  return out;
}

// First kTagSize bytes of SHA-256 over the parts.
std::string checksum(std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (auto part : parts) ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &size) == 1;
  if (!ok) throw std::runtime_error("snapshot: SHA-256 failed in OpenSSL");
  return {reinterpret_cast<char*>(digest), kTagSize};
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// An AES-256-GCM context, encrypting or decrypting, that has taken in `aad` (authenticated
// only) and turned `input` into as many bytes at dst; null when OpenSSL fails. Sealing and
// unsealing differ only in the direction and in what they do with the tag.
CipherCtx gcm_pass(bool encrypt, const SnapshotKey& key, std::string_view nonce,
                   std::string_view aad, std::string_view input, unsigned char* dst) {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  const int aad_size = static_cast<int>(aad.size());
  const int input_size = static_cast<int>(input.size());
  int len = 0;
  const bool ok = ctx &&
                  EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(),
                                    bytes_of(nonce), encrypt ? 1 : 0) == 1 &&
                  EVP_CipherUpdate(ctx.get(), nullptr, &len, bytes_of(aad), aad_size) == 1 &&
                  EVP_CipherUpdate(ctx.get(), dst, &len, bytes_of(input), input_size) == 1;
  if (!ok) ctx.reset();
  return ctx;
}

// AES-256-GCM; returns ciphertext followed by the tag.
std::string seal(const SnapshotKey& key, std::string_view nonce, std::string_view aad,
                 std::string_view plain) {
  std::string out(plain.size() + kTagSize, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  unsigned char* tag = dst + plain.size();  // GCM's final step writes nothing before it
  CipherCtx ctx = gcm_pass(true, key, nonce, aad, plain, dst);
  int len = 0;
  const bool ok = ctx && EVP_EncryptFinal_ex(ctx.get(), tag, &len) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1;
  if (!ok) throw std::runtime_error("snapshot: AES-256-GCM encryption failed in OpenSSL");
  return out;
}

// Inverse of seal; nullopt when the tag does not verify (wrong key or modified bytes).
std::optional<std::string> unseal(const SnapshotKey& key, std::string_view nonce,
                                std::string_view aad, std::string_view sealed) {
  if (sealed.size() < kTagSize) return std::nullopt;
  std::string_view cipher = sealed.substr(0, sealed.size() - kTagSize);
  std::string tag(sealed.substr(cipher.size()));
  std::string out(cipher.size(), '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  CipherCtx ctx = gcm_pass(false, key, nonce, aad, cipher, dst);
  int len = 0;
  const bool ok = ctx &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
                  EVP_DecryptFinal_ex(ctx.get(), dst + cipher.size(), &len) == 1;
  if (!ok) return std::nullopt;
  return out;
}

void set_duration(google::protobuf::Duration& out, nanoseconds value) {
  // Truncating division keeps seconds and nanos the same sign, as Duration requires.
  out.set_seconds(value.count() / 1'000'000'000);
  out.set_nanos(static_cast<std::int32_t>(value.count() % 1'000'000'000));
}

nanoseconds clamp_seconds(std::int64_t seconds, std::int32_t nanos) {
  const std::int64_t max = std::chrono::duration_cast<std::chrono::seconds>(kTtlMax).count();
  if (seconds >= max) return kTtlMax;
  if (seconds < kOldestSeconds) return std::chrono::seconds(kOldestSeconds);
  return std::chrono::seconds(seconds) + nanoseconds(nanos % 1'000'000'000);
}

// Remaining lifetime: the relative ttl when present, else the legacy absolute expiration (a
// missing one is the Unix epoch, long expired), as upstream reads it.
nanoseconds remaining(bool has_ttl, const google::protobuf::Duration& ttl,
                      const google::protobuf::Timestamp& expiration,
                      std::chrono::system_clock::time_point now) {
  if (has_ttl) return clamp_seconds(ttl.seconds(), ttl.nanos());
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // Keeps the subtraction far from overflow whatever the file holds.
  const std::int64_t at = std::clamp<std::int64_t>(expiration.seconds(), 0, now_s + 86400);
  return clamp_seconds(at - now_s, expiration.nanos());
}

// Converts and validates one cluster record against the API limits.
std::optional<std::string> to_export(const pb::ClusterSnapshot& in,
                                     std::chrono::system_clock::time_point now,
                                     ClusterExport& out) {
  if (auto error = check_cluster_id(in.id())) return std::string(*error);
  if (static_cast<std::size_t>(in.affiliates_size()) > kClusterAffiliatesMax) {
    return "too many affiliates in the cluster";
  }
  out.id = in.id();
  std::unordered_set<std::string_view> ids;
  for (const auto& a : in.affiliates()) {
    if (auto error = check_affiliate_id(a.id())) return std::string(*error);
    if (!ids.insert(a.id()).second) return "duplicate affiliate ID";
    if (auto error = check_affiliate_data(a.data())) return std::string(*error);
    if (static_cast<std::size_t>(a.endpoints_size()) > kAffiliateEndpointsMax) {
      return "too many endpoints in the affiliate";
    }
    AffiliateRecord record{a.id(), a.data(), {}};
    AffiliateExport entry{nullptr, remaining(a.has_ttl(), a.ttl(), a.expiration(), now), {}};
    std::unordered_set<std::string_view> seen;
    for (const auto& e : a.endpoints()) {
      if (e.data().size() > kAffiliateEndpointMax) return "affiliate endpoint is too big";
      if (!seen.insert(e.data()).second) return "duplicate endpoint";
      record.endpoints.push_back(e.data());
      entry.endpoint_ttls.push_back(remaining(e.has_ttl(), e.ttl(), e.expiration(), now));
    }
    entry.record = std::make_shared<const AffiliateRecord>(std::move(record));
    out.affiliates.push_back(std::move(entry));
  }
  return std::nullopt;
}

std::string record_aad(std::string_view file_id, std::uint64_t index, unsigned char type,
                       std::uint32_t length) {
  std::string aad(file_id);
  put_le(aad, index, 8);
  aad.push_back(static_cast<char>(type));
  put_le(aad, length, 4);
  return aad;
}

// Our format although the magic is damaged: at most two of its bytes differ. Upstream files start
// with 0x0A and a length, nowhere near it.
bool has_our_magic(std::string_view bytes) {
  if (bytes.size() < kMagic.size()) return false;
  std::size_t differ = 0;
  for (std::size_t i = 0; i < kMagic.size(); ++i) differ += bytes[i] != kMagic[i];
  return differ <= 2;
}

// Whether the header's tag matches `covered` (its first kHeaderCovered bytes) under the cipher
// `covered` names.
bool header_authentic(std::string_view covered, std::string_view nonce, std::string_view tag,
                      const SnapshotKey* key) {
  switch (static_cast<unsigned char>(covered[kCipherField.offset])) {
    case kPlain:
      return checksum({covered}) == tag;
    case kAes256Gcm:
      return key != nullptr && unseal(*key, nonce, covered, tag).has_value();
    default:
      return false;
  }
}

// Names the damaged field of a header that does not check out, when it is one with a known valid
// value: restored, the header checks out again. Restores it in `covered`.
std::optional<HeaderField> restore_header(std::string& covered, std::string_view nonce,
                                          std::string_view tag, const SnapshotKey* key) {
  const std::string version(1, static_cast<char>(kVersion));
  const std::string plain(1, static_cast<char>(kPlain));
  const std::string gcm(1, static_cast<char>(kAes256Gcm));
  const std::string reserved(kReservedField.size, '\0');
  const std::pair<HeaderField, std::string_view> restores[] = {{kMagicField, kMagic},
                                                               {kVersionField, version},
                                                               {kCipherField, plain},
                                                               {kCipherField, gcm},
                                                               {kReservedField, reserved}};
  for (const auto& [field, value] : restores) {
    std::string candidate = covered;
    candidate.replace(field.offset, field.size, value);
    if (candidate != covered && header_authentic(candidate, nonce, tag, key)) {
      covered = std::move(candidate);
      return field;
    }
  }
  return std::nullopt;
}

// Writes our format into `sink`, buffering up to kFlushBytes.
class Encoder {
 public:
  Encoder(const SnapshotKey* key, const std::function<void(std::string_view)>& sink)
      : key_(key), sink_(sink), file_id_(random_bytes(kFileIdSize)) {
    buf_.append(kMagic);
    buf_.push_back(static_cast<char>(kVersion));
    buf_.push_back(static_cast<char>(key_ ? kAes256Gcm : kPlain));
    buf_.append(2, '\0');
    buf_.append(file_id_);
    auto now = std::chrono::system_clock::now().time_since_epoch();
    put_le(buf_, std::chrono::duration_cast<std::chrono::seconds>(now).count(), 8);
    std::string covered = buf_;
    if (key_) {
      std::string nonce = random_bytes(kNonceSize);
      buf_.append(nonce);
      buf_.append(seal(*key_, nonce, covered, {}));
    } else {
      buf_.append(kNonceSize, '\0');
      buf_.append(checksum({covered}));
    }
  }

  void cluster(const ClusterExport& cluster, SnapshotCounts& counts) {
    pb::ClusterSnapshot msg;
    msg.set_id(cluster.id);
    for (const auto& a : cluster.affiliates) {
      auto* out = msg.add_affiliates();
      out->set_id(a.record->id);
      out->set_data(a.record->data);
      set_duration(*out->mutable_ttl(), a.ttl);
      for (std::size_t i = 0; i < a.record->endpoints.size(); ++i) {
        auto* e = out->add_endpoints();
        e->set_data(a.record->endpoints[i]);
        set_duration(*e->mutable_ttl(), a.endpoint_ttls[i]);
      }
      counts.affiliates++;
      counts.endpoints += a.record->endpoints.size();
    }
    counts.clusters++;
    record(kRecordCluster, msg.SerializeAsString());
  }

  void finish(SnapshotCounts& counts) {
    std::string count;
    put_le(count, counts.clusters, 8);
    record(kRecordEnd, count);
    flush();
    counts.bytes = written_;
  }

 private:
  void record(unsigned char type, const std::string& plain) {
    const auto length = static_cast<std::uint32_t>(plain.size() + (key_ ? kNonceSize : 0));
    std::string aad = record_aad(file_id_, index_++, type, length);
    buf_.push_back(static_cast<char>(type));
    put_le(buf_, length, 4);
    if (key_) {
      std::string nonce = random_bytes(kNonceSize);
      buf_.append(nonce);
      buf_.append(seal(*key_, nonce, aad, plain));
    } else {
      buf_.append(plain);
      buf_.append(checksum({aad, plain}));
    }
    if (buf_.size() >= kFlushBytes) flush();
  }

  void flush() {
    sink_(buf_);
    written_ += buf_.size();
    buf_.clear();
  }

  const SnapshotKey* key_;
  const std::function<void(std::string_view)>& sink_;
  const std::string file_id_;
  std::string buf_;
  std::uint64_t index_ = 0;
  std::uint64_t written_ = 0;
};

// Accepts one decoded cluster unless its ID was seen before.
void accept(DecodedSnapshot& out, std::unordered_set<std::string>& ids, std::uint64_t offset,
            const pb::ClusterSnapshot& msg, std::chrono::system_clock::time_point now) {
  ClusterExport cluster;
  if (auto error = to_export(msg, now, cluster)) {
    out.problems.push_back({offset, "cluster record rejected: " + *error});
  } else if (!ids.insert(cluster.id).second) {
    out.problems.push_back({offset, "cluster record repeats an earlier cluster ID; skipped"});
  } else {
    out.clusters.push_back(std::move(cluster));
  }
}

// How many records authenticated and how many did not.
struct RecordTally {
  std::size_t authentic = 0;
  std::size_t failed = 0;
};

// Reads the records after the header. Each one authenticates on its own, against the file ID and
// its index, so it needs nothing else from the header. `key` is null for a plain file.
RecordTally decode_records(std::string_view in, std::string_view file_id, const SnapshotKey* key,
                           std::chrono::system_clock::time_point now, DecodedSnapshot& out) {
  const bool encrypted = key != nullptr;
  RecordTally tally;
  std::unordered_set<std::string> ids;
  std::uint64_t offset = kHeaderSize;
  std::uint64_t index = 0;
  for (;;) {
    if (offset == in.size()) {
      out.problems.push_back({offset, "truncated: the file ends before its end record"});
      return tally;
    }
    if (in.size() - offset < kRecordHead) {
      out.problems.push_back({offset, "truncated record header"});
      return tally;
    }
    const auto type = static_cast<unsigned char>(in[offset]);
    const auto length = static_cast<std::uint32_t>(get_le(in.substr(offset + 1), 4));
    if (length > kMaxPayload) {
      out.problems.push_back({offset, "record length " + std::to_string(length) +
                                          " exceeds the limit; the rest is unreadable"});
      return tally;
    }
    const std::uint64_t total = kRecordHead + std::uint64_t{length} + kTagSize;
    if (in.size() - offset < total) {
      out.problems.push_back({offset, "truncated record: needs " + std::to_string(total) +
                                          " bytes, the file has " +
                                          std::to_string(in.size() - offset) + " left"});
      return tally;
    }
    std::string_view payload = in.substr(offset + kRecordHead, length);
    std::string_view tag = in.substr(offset + kRecordHead + length, kTagSize);
    std::string aad = record_aad(file_id, index++, type, length);
    std::optional<std::string> plain;
    if (encrypted) {
      if (length >= kNonceSize) {
        plain = unseal(*key, payload.substr(0, kNonceSize), aad,
                     std::string(payload.substr(kNonceSize)) + std::string(tag));
      }
    } else if (checksum({aad, payload}) == tag) {
      plain = std::string(payload);
    }
    (plain ? tally.authentic : tally.failed)++;
    if (!plain) {
      out.problems.push_back({offset, encrypted ? "record fails authentication (modified or "
                                                  "damaged); skipped"
                                                : "record checksum mismatch; skipped"});
    } else if (type == kRecordEnd) {
      // Counts every record before it, damaged ones included: a mismatch means records vanished.
      if (plain->size() != 8 || get_le(*plain, 8) != index - 1) {
        out.problems.push_back({offset, "end record does not match the records before it"});
      }
      if (offset + total != in.size()) {
        out.problems.push_back({offset + total, "unexpected bytes after the end record"});
      }
      return tally;
    } else if (type == kRecordCluster) {
      pb::ClusterSnapshot msg;
      if (msg.ParseFromString(*plain)) {
        accept(out, ids, offset, msg, now);
      } else {
        out.problems.push_back({offset, "cluster record does not parse; skipped"});
      }
    }
    // Authentic records of unknown types come from a newer minor revision: skipped silently.
    offset += total;
  }
}

// Reads our format. The header's tag covers every header field, but records depend only on the
// version, the cipher and the file ID: damage elsewhere in the header is reported and costs no
// record.
void decode_ours(std::string_view in, const SnapshotKey* key,
                 std::chrono::system_clock::time_point now, DecodedSnapshot& out) {
  if (in.size() < kHeaderSize) {
    out.problems.push_back({in.size(), "truncated header: the file ends after " +
                                           std::to_string(in.size()) + " bytes, the header has " +
                                           std::to_string(kHeaderSize)});
    return;
  }
  std::string covered(in.substr(0, kHeaderCovered));
  const std::string_view nonce = in.substr(kNonceField.offset, kNonceSize);
  const std::string_view header_tag = in.substr(kHeaderCovered + kNonceSize, kTagSize);
  bool authentic = header_authentic(covered, nonce, header_tag, key);
  std::optional<HeaderField> restored;
  if (!authentic) {
    restored = restore_header(covered, nonce, header_tag, key);
    authentic = restored.has_value();
  }
  const auto version = static_cast<unsigned char>(covered[kVersionField.offset]);
  const auto cipher = static_cast<unsigned char>(covered[kCipherField.offset]);
  if (version != kVersion) {
    out.refused = "header field version: format version " + std::to_string(version) +
                  " is not supported (this build reads version " + std::to_string(kVersion) + ")" +
                  (authentic ? ""
                             : "; the header does not check out either, so it may "
                               "also be damaged");
    return;
  }
  if (cipher == kAes256Gcm && key == nullptr) {
    out.refused = "the file is encrypted; give its key with --snapshot-key-file";
    return;
  }
  const bool plain_nonce = nonce.find_first_not_of('\0') == std::string_view::npos;
  if (cipher != kPlain && cipher != kAes256Gcm) {
    out.problems.push_back(
        {kCipherField.offset,
         "header field cipher is damaged: it reads " + std::to_string(cipher) +
             ", neither 0 (plain) nor 1 (AES-256-GCM), and no record can be read without it" +
             (key == nullptr && !plain_nonce ? "; the nonce is set, so the file was probably "
                                               "encrypted: give its key with --snapshot-key-file"
                                             : ""),
         std::string(kCipherField.name)});
    return;
  }
  const bool encrypted = cipher == kAes256Gcm;
  const RecordTally tally =
      decode_records(in, std::string_view(covered).substr(kFileIdField.offset, kFileIdSize),
                     encrypted ? key : nullptr, now, out);
  std::vector<SnapshotProblem> header;
  if (!authentic && tally.authentic == 0 && (encrypted || tally.failed > 0)) {
    // Every record depends on the file ID; nothing authenticating means it is damaged, or (which
    // looks the same when encrypted) the key is wrong.
    out.problems.clear();
    if (encrypted) {
      out.refused =
          "cannot decrypt: wrong key, or the header field file_id is damaged (neither "
          "the header nor any record authenticates)";
      return;
    }
    header.push_back({kFileIdField.offset,
                      "header field file_id is damaged: the header does not check out and no "
                      "record authenticates against it; nothing can be read",
                      std::string(kFileIdField.name)});
  } else if (restored) {
    header.push_back({restored->offset,
                      "header field " + std::string(restored->name) +
                          " is damaged; restored, the header checks out, and records were read",
                      std::string(restored->name)});
  } else if (!authentic) {
    // The fields records depend on check out (records authenticate against them); the header's
    // tag cannot tell which of the rest is damaged.
    const std::string fields = encrypted ? "creation_time/nonce/tag" : "creation_time/tag";
    header.push_back({kCreatedField.offset,
                      "header is damaged in a field records do not depend on (" + fields +
                          "); records authenticate on their own and were read",
                      fields});
  }
  if (!encrypted && !plain_nonce) {
    // Plain headers do not cover the nonce with their checksum; it must be zero.
    header.push_back({kNonceField.offset,
                      "header field nonce is damaged: not zero in a plain file (records do not "
                      "depend on it)",
                      std::string(kNonceField.name)});
  }
  out.problems.insert(out.problems.begin(), header.begin(), header.end());
}

// Upstream's file: a serialized StateSnapshot read as a stream of field-1 records.
void decode_upstream(std::string_view in, std::chrono::system_clock::time_point now,
                     DecodedSnapshot& out) {
  out.upstream_format = true;
  std::unordered_set<std::string> ids;
  std::uint64_t offset = 0;
  while (offset < in.size()) {
    if (static_cast<unsigned char>(in[offset]) != 0x0a) {
      out.problems.push_back(
          {offset, "unexpected field tag " +
                       std::to_string(static_cast<unsigned char>(in[offset])) +
                       " (expected 10, a cluster record); the rest is unreadable"});
      return;
    }
    std::uint64_t length = 0;
    std::uint64_t pos = offset + 1;
    int shift = 0;
    for (;; shift += 7) {
      if (pos == in.size()) {
        out.problems.push_back({offset, "truncated record length"});
        return;
      }
      if (shift > 63) {
        out.problems.push_back({offset, "record length varint is longer than 10 bytes"});
        return;
      }
      const auto byte = static_cast<unsigned char>(in[pos++]);
      length |= std::uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) break;
    }
    if (length > kMaxClusterRecord) {
      out.problems.push_back({offset, "cluster record of " + std::to_string(length) +
                                          " bytes is larger than any valid cluster"});
      return;
    }
    if (in.size() - pos < length) {
      out.problems.push_back({offset, "truncated record: needs " + std::to_string(length) +
                                          " bytes, the file has " +
                                          std::to_string(in.size() - pos) + " left"});
      return;
    }
    pb::ClusterSnapshot msg;
    if (msg.ParseFromArray(in.data() + pos, static_cast<int>(length))) {
      accept(out, ids, offset, msg, now);
    } else {
      out.problems.push_back({offset, "cluster record does not parse; skipped"});
    }
    offset = pos + length;
  }
}

std::string errno_text(int err) { return std::strerror(err); }

std::runtime_error file_error(const std::string& what, const std::string& path, int err) {
  return std::runtime_error(what + " " + path + ": " + errno_text(err));
}

// Closes on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw file_error("cannot write", path, errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string read_all(int fd, const std::string& path) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw file_error("cannot read", path, errno);
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// Makes the rename of `path` into `dir` durable.
void sync_directory(const std::filesystem::path& dir, const std::string& path) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    throw file_error("cannot fsync directory " + dir.string() + " after renaming", path, errno);
  }
}

}  // namespace

SnapshotKey read_snapshot_key(const std::string& path) {
  std::string text;
  try {
    text = platform::read_private_file(path, 4096);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("key file ") + e.what());
  }
  SnapshotKey key{};
  if (text.size() == key.size()) {
    std::copy(text.begin(), text.end(), key.begin());
    return key;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() == 2 * key.size() && std::all_of(text.begin(), text.end(), [&](char c) {
        return hex(c) >= 0;
      })) {
    for (std::size_t i = 0; i < key.size(); ++i) {
      key[i] = static_cast<unsigned char>(hex(text[2 * i]) * 16 + hex(text[2 * i + 1]));
    }
    return key;
  }
  if (auto raw = values::base64_decode(text); raw && raw->size() == key.size()) {
    std::copy(raw->begin(), raw->end(), key.begin());
    return key;
  }
  throw std::runtime_error("key file " + path +
                           ": expected 32 raw bytes, 64 hex digits or base64 of 32 bytes");
}

SnapshotCounts encode_snapshot(const State& state, const SnapshotKey* key,
                               const std::function<void(std::string_view)>& sink) {
  SnapshotCounts counts;
  Encoder encoder(key, sink);
  state.export_clusters([&](ClusterExport&& cluster) { encoder.cluster(cluster, counts); });
  encoder.finish(counts);
  return counts;
}

DecodedSnapshot decode_snapshot(std::string_view bytes, const SnapshotKey* key,
                                std::chrono::system_clock::time_point now) {
  DecodedSnapshot out;
  if (has_our_magic(bytes)) {
    decode_ours(bytes, key, now, out);
  } else {
    decode_upstream(bytes, now, out);
  }
  return out;
}

SnapshotFile::SnapshotFile(std::string path, std::optional<SnapshotKey> key)
    : path_(std::move(path)), key_(key) {}

LoadResult SnapshotFile::load(State& state) const {
  LoadResult result;
  // O_NONBLOCK: a FIFO at the path must be refused below, not block the start.
  Fd fd(::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno != ENOENT) result.refused = "cannot read " + path_ + ": " + errno_text(errno);
    return result;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    result.refused = "cannot read " + path_ + ": " + errno_text(errno);
    return result;
  }
  if (!S_ISREG(st.st_mode)) {
    result.refused = path_ + (S_ISDIR(st.st_mode) ? " is a directory" : " is not a regular file") +
                     "; the snapshot path must name a file";
    return result;
  }
  result.found = true;
  std::string bytes;
  try {
    bytes = read_all(fd.get(), path_);
  } catch (const std::runtime_error& e) {
    result.refused = e.what();
    return result;
  }
  result.counts.bytes = bytes.size();
  DecodedSnapshot decoded =
      decode_snapshot(bytes, key_ ? &*key_ : nullptr, std::chrono::system_clock::now());
  result.problems = std::move(decoded.problems);
  result.refused = std::move(decoded.refused);
  for (const auto& cluster : decoded.clusters) {
    if (!state.import_cluster(cluster)) {
      result.problems.push_back({0, "a cluster in the file is already in memory; kept memory's"});
      continue;
    }
    result.counts.clusters++;
    result.counts.affiliates += cluster.affiliates.size();
    for (const auto& a : cluster.affiliates) result.counts.endpoints += a.record->endpoints.size();
  }
  return result;
}

SnapshotCounts SnapshotFile::save(const State& state) const {
  const std::filesystem::path path(path_);
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw std::runtime_error("cannot create directory " + dir.string() + " for " + path_ + ": " +
                             ec.message());
  }
  const std::string tmp = path_ + ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) throw file_error("cannot create", tmp, errno);
  try {
    // An older temp file may have looser permissions; O_CREAT's mode applies only to new files.
    if (::fchmod(fd.get(), 0600) != 0) throw file_error("cannot chmod", tmp, errno);
    SnapshotCounts counts = encode_snapshot(state, key_ ? &*key_ : nullptr,
                                            [&](std::string_view data) {
                                              write_all(fd.get(), data, tmp);
                                            });
    if (::fsync(fd.get()) != 0) throw file_error("cannot fsync", tmp, errno);
    if (::close(fd.release()) != 0) throw file_error("cannot close", tmp, errno);
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
      throw file_error("cannot rename " + tmp + " to", path_, errno);
    }
    sync_directory(dir, path_);
    return counts;
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

std::string SnapshotFile::set_aside() const {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string target =
      path_ + ".damaged-" +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  if (::rename(path_.c_str(), target.c_str()) != 0) {
    throw file_error("cannot move aside", path_ + " to " + target, errno);
  }
  return target;
}

}  // namespace discovery::server
