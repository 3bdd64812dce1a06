// The discovery service controller's options, and the mapping between Talos's AffiliateSpec and
// the discovery service's plaintext (what each affiliate's encrypted data holds).
#pragma once

#include <functional>
#include <string>

#include "discovery/client/client.h"
#include "resources/cluster/cluster.h"

namespace controllers::cluster {

// Talos sends its release tag as the client version; ours matches the Talos API machined speaks.
inline constexpr char kDefaultDiscoveryClientVersion[] = "v1.11.0";

struct DiscoveryServiceOptions {
  std::string client_version = kDefaultDiscoveryClientVersion;
  std::string ca_pem;  // TLS roots to trust instead of the system's (private services, tests)
  // Called once on the controller's strand when a reset is signalled and every discovery service
  // has acknowledged the AffiliateDelete (at once when there is none): the node has left.
  std::function<void()> on_left;
};

// The local affiliate as the discovery plaintext: endpoints travel only with KubeSpan.
discovery::client::Affiliate to_discovery_affiliate(const resources::cluster::AffiliateSpec& spec);

// A decrypted peer as an AffiliateSpec. Addresses, prefixes and endpoints that are not valid IPs
// are logged and skipped; endpoints of a peer without KubeSpan are dropped, as Talos does.
resources::cluster::AffiliateSpec from_discovery_affiliate(
    const discovery::client::Affiliate& affiliate);

}  // namespace controllers::cluster
