// `nodectl version`: nodectl's own version and each node's, printed as talosctl prints them.
#pragma once

#include <ostream>
#include <vector>

#include "nodectl/connection.h"

namespace nodectl {

struct VersionOptions {
  bool client_only = false;  // --client: no call to a node
  bool short_version = false;
};

// Asks each target. Returns the exit code: 1 when a node did not answer (each such node is named
// on `err`, the others printed).
int version(const std::vector<Target>& targets, const VersionOptions& opts, std::ostream& out,
            std::ostream& err);

}  // namespace nodectl
