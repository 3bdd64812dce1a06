// Hand-written protobuf encoding of the two WatchResponse shapes (field numbers from
// proto/discovery/server.proto: WatchResponse 1 affiliates, 2 deleted; Affiliate 1 id, 2 data,
// 3 endpoints). Proto3 omits empty singular fields; repeated ones are always written.
#include "discovery/server/watch_wire.h"

#include <cstdint>

#include "discovery/server/state.h"

namespace discovery::server {
namespace {

constexpr char kAffiliates = (1 << 3) | 2;  // field 1, length-delimited
constexpr char kId = (1 << 3) | 2;
constexpr char kData = (2 << 3) | 2;
constexpr char kEndpoints = (3 << 3) | 2;
constexpr char kDeleted = (2 << 3) | 0;  // field 2, varint

std::size_t varint_size(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

std::size_t field_size(std::string_view bytes) {
  return 1 + varint_size(bytes.size()) + bytes.size();
}

void append_field(std::string& out, char tag, std::string_view bytes) {
  out.push_back(tag);
  append_varint(out, bytes.size());
  out.append(bytes);
}

}  // namespace

void append_watch_upsert(std::string& out, const AffiliateRecord& record) {
  std::size_t size = 0;
  if (!record.id.empty()) size += field_size(record.id);
  if (!record.data.empty()) size += field_size(record.data);
  for (const auto& endpoint : record.endpoints) size += field_size(endpoint);
  out.reserve(out.size() + 1 + varint_size(size) + size);
  out.push_back(kAffiliates);
  append_varint(out, size);
  if (!record.id.empty()) append_field(out, kId, record.id);
  if (!record.data.empty()) append_field(out, kData, record.data);
  for (const auto& endpoint : record.endpoints) append_field(out, kEndpoints, endpoint);
}

std::string watch_deletion(std::string_view id) {
  std::string out;
  out.push_back(kAffiliates);
  append_varint(out, id.empty() ? 0 : field_size(id));
  if (!id.empty()) append_field(out, kId, id);
  out.push_back(kDeleted);
  out.push_back(1);
  return out;
}

}  // namespace discovery::server
