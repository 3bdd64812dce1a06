// `nodectl get <type> [id]`: list, get or watch resources, printed like talosctl get.
#pragma once

#include <ostream>
#include <string>

#include "nodectl/connection.h"

namespace nodectl {

struct GetOptions {
  std::string type;  // type, alias or definition id, resolved through the ResourceDefinitions
  std::string id;
  std::string ns;  // empty: the type's default namespace
  std::string output = "table";
  bool watch = false;
};

// Returns the exit code; errors from machined propagate as exceptions.
int get(const Target& target, const GetOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace nodectl
