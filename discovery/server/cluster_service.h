// The Cluster gRPC service class on its own (no health or reflection service), for hosting it in
// a server of one's own or calling its handlers directly.
#pragma once

#include <memory>

#include "discovery/server.grpc.pb.h"
#include "discovery/server/registry.h"
#include "discovery/server/service.h"

namespace discovery::server {

// Watch messages come from the State already encoded (once per change, shared by every watcher),
// so Watch is served as a raw method: the stream writes those bytes instead of a message that
// gRPC would serialize again for each watcher.
using ClusterServiceBase = ::sidero::discovery::server::Cluster::WithCallbackMethod_Hello<
    ::sidero::discovery::server::Cluster::WithCallbackMethod_AffiliateUpdate<
        ::sidero::discovery::server::Cluster::WithCallbackMethod_AffiliateDelete<
            ::sidero::discovery::server::Cluster::WithCallbackMethod_List<
                ::sidero::discovery::server::Cluster::WithRawCallbackMethod_Watch<
                    ::sidero::discovery::server::Cluster::Service>>>>>;

class ClusterService : public ClusterServiceBase {
 public:
  // Ends every call still waiting for a rate-limit token with UNAVAILABLE (server shutdown).
  virtual void shutdown() = 0;
};

// A call waiting for a rate-limit token holds the service, so with a limiter in `options` such
// calls must have ended (see shutdown) before the service is destroyed.
std::unique_ptr<ClusterService> make_cluster_service(Registry& registry, ServiceOptions options);

}  // namespace discovery::server
