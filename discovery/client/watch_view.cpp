// Decrypting Watch messages into the client's view of its peers.
#include "discovery/client/watch_view.h"

#include <spdlog/spdlog.h>

#include "discovery/crypto/affiliate_codec.h"

namespace discovery::client {

std::shared_ptr<AffiliateMap> apply_watch_message(
    const AffiliateMap& current, const ::sidero::discovery::server::WatchResponse& message,
    bool snapshot, const crypto::Cipher& cipher, std::string_view own_id) {
  auto next = snapshot ? std::make_shared<AffiliateMap>() : std::make_shared<AffiliateMap>(current);
  for (const auto& remote : message.affiliates()) {
    const std::string& id = remote.id();
    if (id == own_id) continue;
    if (message.deleted()) {
      next->erase(id);
      continue;
    }
    if (remote.data().empty()) continue;  // endpoint-only record: nothing to show yet
    auto data = crypto::open_affiliate(cipher, remote.data());
    if (!data.ok()) {
      spdlog::warn("discovery affiliate skipped affiliate={} reason={} error=\"{}\"", id,
                   crypto::to_string(data.error().code), data.error().message);
      continue;
    }
    auto affiliate = std::make_shared<Affiliate>();
    affiliate->data = std::move(data).value();
    for (const auto& blob : remote.endpoints()) {
      auto endpoint = crypto::decrypt_endpoint(cipher, blob);
      if (!endpoint.ok()) {
        spdlog::warn("discovery endpoint skipped affiliate={} reason={} error=\"{}\"", id,
                     crypto::to_string(endpoint.error().code), endpoint.error().message);
        continue;
      }
      affiliate->endpoints.push_back(std::move(endpoint).value());
    }
    (*next)[id] = std::move(affiliate);
  }
  return next;
}

}  // namespace discovery::client
