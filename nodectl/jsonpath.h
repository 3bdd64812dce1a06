// The subset of Kubernetes JSONPath templates that resource definitions use for print columns
// ("{.hostname}", "{.addresses}", "{.aliases[:]}") and `-o jsonpath=` takes, evaluated and printed
// as client-go does.
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

  // What each segment selects, in order, as client-go's FindResults: a literal gives itself as a
  // string. Out-of-range indices select nothing, and so do missing keys when allowed; otherwise
  // (client-go's default) a field that selects nothing from a non-empty input throws
  // std::runtime_error "<field> is not found".
  std::vector<std::vector<nlohmann::json>> find_results(const nlohmann::json& data,
                                                        bool allow_missing_keys) const;

  // A print column's cell: the results (missing keys allowed) in result_text form, those of one
  // expression joined by spaces.
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

// One result as client-go prints it: strings raw, numbers and booleans as Go prints them, lists
// and maps as JSON (indented by `indent` spaces; compact when negative).
std::string result_text(const nlohmann::json& value, int indent = -1);

}  // namespace nodectl
