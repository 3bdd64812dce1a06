// A State in another process, reached over cosi.resource.State: what nodectl and
// out-of-process controllers use. Specs come back opaque (proto bytes and YAML).
#pragma once

#include <memory>

#include "runtime/state/state.h"

namespace grpc {
class Channel;
}

namespace runtime::api {

// Calls fail with state::Error of the kind the status code maps to (convert.h); transport
// failures (server gone, deadline) throw std::runtime_error. watch() and watch_kind() return
// once the server has accepted the watch, so a bad bookmark throws right there.
std::unique_ptr<state::State> make_state_client(std::shared_ptr<grpc::Channel> channel);

}  // namespace runtime::api
