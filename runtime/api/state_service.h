// The COSI State gRPC service (cosi.resource.State) over a State, for talosctl, nodectl and
// out-of-process controllers.
#pragma once

#include <memory>

#include "runtime/api/roles.h"
#include "runtime/state/state.h"

namespace grpc {
class Service;
}

namespace runtime::api {

enum class Access {
  // Everything, for the local unix socket.
  kReadWrite,
  // Get, List and Watch of registered types in existing namespaces, as Talos's API serves them;
  // sensitive types only to os:admin. Writes are PERMISSION_DENIED whatever the role.
  kReadOnly,
};

struct StateServiceOptions {
  Access access = Access::kReadWrite;
  // The callers' roles, checked against each method's (reads: os:admin, os:operator, os:reader;
  // writes: os:admin). Null: every caller has every role (the local socket).
  std::shared_ptr<const Authenticator> authenticator;
  // A watch stream whose client reads slower than changes arrive holds at most this many
  // unsent messages; past it the stream resyncs to the current contents instead.
  std::size_t max_pending_watch_messages = 1024;
};

// `executor` runs the watch streams (each on its own strand); it must outlive the service and
// keep running until the gRPC server has shut down and the tasks it queued then have run (a
// finished stream frees itself with one), so drain it rather than stop it.
std::unique_ptr<grpc::Service> make_state_service(state::State& state, state::Executor executor,
                                                  const StateServiceOptions& options = {});

}  // namespace runtime::api
