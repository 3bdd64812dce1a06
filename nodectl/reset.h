// `nodectl reset`: machine.MachineService/Reset on machined's local socket. machined deletes its
// affiliate from every discovery service, wipes its identity and stops, as a Talos reset without
// reboot does; the next start is a new node.
#pragma once

#include <chrono>
#include <ostream>

#include "nodectl/connection.h"

namespace nodectl {

struct ResetOptions {
  bool graceful = true;  // wait for the discovery services to acknowledge the delete
  bool wait = true;      // return once machined has stopped
  std::chrono::seconds timeout{60};
};

// Returns the exit code: 0 once the reset is done (or started, without wait), 1 when machined
// refused it, was unreachable, or did not stop within the timeout.
int reset(const Target& target, const ResetOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace nodectl
