// What a discovery client makes of one Watch message: the peers it can decrypt, merged into the
// view it had. No I/O and no gRPC, so it is tested and fuzzed on its own.
#pragma once

#include <memory>
#include <string_view>

#include "discovery/client/client.h"
#include "discovery/crypto/cipher.h"
#include "discovery/server.pb.h"

namespace discovery::client {

// The view after `message`: a snapshot (a stream's first message) replaces `current`, a change is
// applied to it. The client's own record (`own_id`) never enters the view. Records whose data does
// not decrypt are skipped, as are endpoint-only records (no data yet); endpoints that do not
// decrypt are dropped from their record. Skips are logged at warn level.
std::shared_ptr<AffiliateMap> apply_watch_message(
    const AffiliateMap& current, const ::sidero::discovery::server::WatchResponse& message,
    bool snapshot, const crypto::Cipher& cipher, std::string_view own_id);

}  // namespace discovery::client
