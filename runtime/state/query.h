// Label and id queries for List and Watch, with COSI's semantics.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/resource/metadata.h"

namespace re2 {
class RE2;
}

namespace runtime::state {

enum class LabelOp { kExists, kEqual, kIn, kLt, kLte, kLtNumeric, kLteNumeric };

struct LabelTerm {
  std::string key;
  LabelOp op = LabelOp::kExists;
  std::vector<std::string> values;
  bool invert = false;

  bool matches(const resource::Labels& labels) const;
};

// Terms joined with AND.
struct LabelQuery {
  std::vector<LabelTerm> terms;

  bool matches(const resource::Labels& labels) const;
};

// One RE2 regexp, searched unanchored. An empty pattern matches everything.
class IdQuery {
 public:
  IdQuery() = default;
  // Throws Error(kInvalidArgument) when the pattern does not compile.
  explicit IdQuery(const std::string& pattern);

  bool matches(const std::string& id) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::shared_ptr<const re2::RE2> re_;
};

// Label queries joined with OR (empty matches all), then AND the id query.
struct ResourceFilter {
  std::vector<LabelQuery> label_queries;
  IdQuery id_query;

  bool empty() const { return label_queries.empty() && id_query.pattern().empty(); }
  bool matches(const resource::Metadata& md) const;
};

}  // namespace runtime::state
