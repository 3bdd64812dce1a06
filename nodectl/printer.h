// Output of `nodectl get` in talosctl's forms: an aligned table (print columns from the resource
// definition), YAML documents (node, metadata, spec), indented JSON objects, and the results of a
// JSONPath template over those objects.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "nodectl/resolve.h"
#include "runtime/resource/resource.h"
#include "runtime/state/state.h"

namespace nodectl {

enum class Format { kTable, kYaml, kJson, kJsonPath };

// An -o value: the format and, for kJsonPath, its template.
struct Output {
  Format format = Format::kTable;
  std::string jsonpath = {};
};

// "table", "yaml", "json" or "jsonpath=TEMPLATE"; throws std::invalid_argument for anything else.
Output parse_output(std::string_view name);

class Printer {
 public:
  virtual ~Printer() = default;
  // In watch mode each row or document carries its event (+/-/space, or `event: created`).
  virtual void header(const ResolvedType& type, bool watch) = 0;
  virtual void resource(std::string_view node, const runtime::resource::Resource& r,
                        runtime::state::EventType event) = 0;
  // Writes what is buffered: a table aligns the rows of one flush together.
  virtual void flush() = 0;
};

// Throws std::invalid_argument when the JSONPath template does not parse, and the table printer's
// header() when a print column's does not. The JSONPath printer's resource() throws
// std::runtime_error when the template names a key the resource does not have, as talosctl
// fails then.
std::unique_ptr<Printer> make_printer(const Output& output, std::ostream& out);

// Our 2-space block YAML re-indented the way Go's yaml.v3 writes it (4 spaces; a block under
// a sequence item starts 2 columns after the dash).
std::string reindent_yaml(std::string_view yaml);

}  // namespace nodectl
