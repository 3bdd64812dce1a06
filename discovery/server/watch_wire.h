// WatchResponse messages in protobuf wire form, encoded by hand so the registry (which has no
// protobuf dependency) can encode each change once and share the bytes with every watcher.
#pragma once

#include <string>
#include <string_view>

namespace discovery::server {

struct AffiliateRecord;

// Appends `WatchResponse{affiliates: [record]}`. Concatenated upserts are one WatchResponse with
// every affiliate (protobuf appends repeated fields), which is how snapshots are built. The bytes
// equal what protobuf's serializer writes for the same message.
void append_watch_upsert(std::string& out, const AffiliateRecord& record);

// `WatchResponse{affiliates: [{id}], deleted: true}`.
std::string watch_deletion(std::string_view id);

}  // namespace discovery::server
