// The subset of Kubernetes JSONPath templates that resource definitions use for print columns
// ("{.hostname}", "{.addresses}", "{.aliases[:]}"), evaluated and printed as client-go does with
// missing keys allowed.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nodectl {

class JsonPath {
 public:
  // Text outside braces is literal; inside: an optional $ or @, then .field, .*, ['field'],
  // [index], [start:end:step] and [*] steps. Throws std::invalid_argument naming the template
  // and the position for anything else.
  static JsonPath parse(std::string_view text);

  // Results of each expression joined by spaces: strings raw, numbers and booleans as Go
  // prints them, lists and maps as compact JSON. Missing keys and out-of-range indices give
  // nothing.
  std::string execute(const nlohmann::json& data) const;

  struct Field {
    std::string name;
  };
  struct Wildcard {};
  struct Index {
    long long index;
  };
  struct Slice {
    std::optional<long long> start, end, step;
  };
  using Step = std::variant<Field, Wildcard, Index, Slice>;
  using Expression = std::vector<Step>;
  using Segment = std::variant<std::string, Expression>;  // literal text or an expression

 private:
  std::vector<Segment> segments_;
};

}  // namespace nodectl
