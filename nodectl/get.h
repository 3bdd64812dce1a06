// `nodectl get <type> [id]`: list, get or watch resources, printed like talosctl get.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "nodectl/connection.h"

namespace nodectl {

struct GetOptions {
  std::string type;  // type, alias or definition id, resolved through the ResourceDefinitions
  std::string id;
  std::string ns;  // empty: the type's default namespace
  std::string output = "table";
  bool watch = false;
};

// Asks each target (one node each) and prints their answers in one table or stream; a watch takes
// one target. Returns the exit code: 1 when a node did not answer (named on `err`, the others'
// answers printed) or the resource does not exist. With one target, errors from machined
// propagate as exceptions.
int get(const std::vector<Target>& targets, const GetOptions& opts, std::ostream& out,
        std::ostream& err);

}  // namespace nodectl
