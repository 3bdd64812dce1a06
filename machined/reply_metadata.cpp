#include "machined/reply_metadata.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

namespace machined {
namespace {

using google::protobuf::internal::WireFormatLite;
namespace io = google::protobuf::io;

constexpr int kMessagesField = 1;  // the reply's repeated per-node messages
constexpr int kMetadataField = 1;  // the per-node message's common.Metadata
constexpr int kHostnameField = 1;  // common.Metadata.hostname
constexpr int kErrorField = 2;     // common.Metadata.error

void write_bytes(io::CodedOutputStream& out, int field, std::string_view bytes) {
  out.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  out.WriteVarint32(static_cast<std::uint32_t>(bytes.size()));
  out.WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
}

template <class Fn>
std::string encode(Fn&& fn) {
  std::string out;
  {
    io::StringOutputStream stream(&out);
    io::CodedOutputStream coded(&stream);
    fn(coded);
  }
  return out;
}

std::string metadata(std::string_view hostname, std::string_view error) {
  return encode([&](io::CodedOutputStream& out) {
    write_bytes(out, kHostnameField, hostname);
    if (!error.empty()) write_bytes(out, kErrorField, error);
  });
}

}  // namespace

std::optional<std::string> with_hostname(std::string_view reply, std::string_view hostname) {
  const std::string appended = encode([&](io::CodedOutputStream& out) {
    write_bytes(out, kMetadataField, metadata(hostname, {}));
  });
  io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(reply.data()),
                          static_cast<int>(reply.size()));
  bool valid = true;
  std::string out = encode([&](io::CodedOutputStream& coded) {
    for (std::uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
      if (WireFormatLite::GetTagFieldNumber(tag) == kMessagesField &&
          WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        std::string element;
        if (!WireFormatLite::ReadBytes(&in, &element)) {
          valid = false;
          return;
        }
        write_bytes(coded, kMessagesField, element + appended);
      } else if (!WireFormatLite::SkipField(&in, tag, &coded)) {
        valid = false;
        return;
      }
    }
    valid = in.ConsumedEntireMessage();
  });
  if (!valid) return std::nullopt;
  return out;
}

std::string error_reply(std::string_view hostname, std::string_view error) {
  return encode([&](io::CodedOutputStream& out) {
    write_bytes(out, kMessagesField, encode([&](io::CodedOutputStream& element) {
                  write_bytes(element, kMetadataField, metadata(hostname, error));
                }));
  });
}

}  // namespace machined
