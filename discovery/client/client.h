// The node-side discovery client: one connection to one discovery service. It publishes the local
// affiliate (encrypted), watches the cluster and exposes the peers it can decrypt.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "discovery/affiliate.pb.h"

namespace discovery::client {

namespace pb = ::sidero::discovery::client;

struct Options {
  std::string endpoint;      // gRPC "host:port"; replaced for good when Hello redirects
  bool insecure = false;     // plaintext h2c (upstream: only for testing and http:// endpoints)
  std::string ca_pem;        // TLS: trust these roots instead of the system's (tests)
  bool skip_verify = false;  // TLS: accept any server certificate (tests only)
  std::string cluster_id;
  std::string affiliate_id;
  std::string key;  // AES key, 16/24/32 bytes (Talos: the 32-byte cluster secret)
  std::string client_version;
  std::chrono::nanoseconds ttl = std::chrono::minutes(30);  // also sets refresh (ttl/2)
  // Reconnect backoff: first delay, growing x1.5 with +-50% jitter up to the maximum.
  std::chrono::nanoseconds backoff_initial = std::chrono::milliseconds(500);
  std::chrono::nanoseconds backoff_max = std::chrono::seconds(60);
};

// A peer as decrypted: its data and the endpoints that decrypted (bad ones are skipped).
struct Affiliate {
  pb::Affiliate data;
  std::vector<pb::Endpoint> endpoints;
};

// Endpoints this node observed for another affiliate; published as an endpoint-only update to
// that affiliate's record, so the service merges them into the peer's list.
struct OtherEndpoints {
  std::string affiliate_id;
  std::vector<pb::Endpoint> endpoints;
};

// Affiliate ID -> decrypted peer (never the client's own ID). Immutable once published.
using AffiliateMap = std::map<std::string, std::shared_ptr<const Affiliate>, std::less<>>;

class Client {
 public:
  virtual ~Client() = default;

  // Encrypts now and publishes on the next refresh, which this schedules. Clears a pending delete.
  virtual void set_local_data(const Affiliate& local, const std::vector<OtherEndpoints>& other) = 0;
  // Forgets the local data and sends AffiliateDelete on every refresh from now on (node reset).
  virtual void delete_local_affiliate() = 0;

  // The peers as of the last Watch message; never null.
  virtual std::shared_ptr<const AffiliateMap> affiliates() const = 0;
  // The client's address as the service saw it in Hello: 4 or 16 bytes, empty before the first.
  virtual std::string public_ip() const = 0;
  // True once the service acknowledged the AffiliateDelete that delete_local_affiliate() asked
  // for, until the next set_local_data(): the node has left this service.
  virtual bool left() const = 0;
  // The endpoint in use (differs from Options::endpoint after a redirect).
  virtual std::string endpoint() const = 0;
};

// Starts the client on its own thread. `on_change` is posted to `notify` 50 ms after affiliates(),
// public_ip() or left() changed, coalesced (at most one pending, so a burst of changes wakes the
// owner once); it is never invoked after the Client is destroyed if destruction happens on
// `notify`'s strand. Destruction cancels in-flight calls and joins the thread; it deletes nothing
// remotely (the registration expires by TTL, as upstream).
// Throws std::invalid_argument for unusable options (key size, empty IDs, ttl not positive).
std::unique_ptr<Client> start_client(Options options, boost::asio::any_io_executor notify,
                                     std::function<void()> on_change);

}  // namespace discovery::client
