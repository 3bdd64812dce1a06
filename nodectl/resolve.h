// Resolving what the user typed ("members", "rd", "Affiliates.cluster.talos.dev") to one
// resource type through the ResourceDefinitions the server publishes, as talosctl does.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/resource/definition.h"
#include "runtime/resource/resource.h"

namespace nodectl {

struct ResolvedType {
  std::string type;  // "Members.cluster.talos.dev"
  std::string display_type;
  std::string default_namespace;
  std::vector<runtime::resource::PrintColumn> print_columns;
};

// Not registered, ambiguous, or a malformed definition; what() is the message for the user.
class ResolveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Matches `name` case-insensitively against each definition's id and allAliases. The specs are
// read from their protobuf form (the wire's proto_spec), as talosctl reads them.
ResolvedType resolve_type(const std::vector<runtime::resource::ResourcePtr>& definitions,
                          std::string_view name);

}  // namespace nodectl
