// Output of `nodectl get` in talosctl's three forms: an aligned table (print columns from the
// resource definition), YAML documents (node, metadata, spec) and indented JSON objects.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "nodectl/resolve.h"
#include "runtime/resource/resource.h"
#include "runtime/state/state.h"

namespace nodectl {

enum class Format { kTable, kYaml, kJson };

// Throws std::invalid_argument for anything but "table", "yaml" and "json".
Format parse_format(std::string_view name);

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

// Throws std::invalid_argument when a print column's JSONPath does not parse.
std::unique_ptr<Printer> make_printer(Format format, std::ostream& out);

// Our 2-space block YAML re-indented the way Go's yaml.v3 writes it (4 spaces; a block under
// a sequence item starts 2 columns after the dash).
std::string reindent_yaml(std::string_view yaml);

}  // namespace nodectl
