// Label term evaluation with COSI's edge rules and the RE2 id query.
#include "runtime/state/query.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>

#include "runtime/state/errors.h"

namespace runtime::state {
namespace {

// The three outcomes of a term before `invert`: some failures are "no match" whatever the
// inversion says.
enum class TermResult { kTrue, kFalse, kNoMatch };

TermResult from_bool(bool b) { return b ? TermResult::kTrue : TermResult::kFalse; }

std::string_view trim(std::string_view s) {
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::int64_t> unit_multiplier(std::string_view unit) {
  struct Unit {
    std::string_view name;
    std::int64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"k", 1'000},
      {"m", 1'000'000},
      {"g", 1'000'000'000},
      {"t", 1'000'000'000'000},
      {"p", 1'000'000'000'000'000},
      {"ki", std::int64_t{1} << 10},
      {"mi", std::int64_t{1} << 20},
      {"gi", std::int64_t{1} << 30},
      {"ti", std::int64_t{1} << 40},
      {"pi", std::int64_t{1} << 50},
  };
  for (const auto& u : kUnits) {
    if (iequals(unit, u.name)) return u.factor;
  }
  return std::nullopt;
}

// "<integer>[ ]<unit>", e.g. "10", "-3k", " 2 Gi ". Overflow is a parse failure.
std::optional<std::int64_t> parse_quantity(std::string_view text) {
  text = trim(text);
  std::size_t split = 0;
  if (split < text.size() && text[split] == '-') ++split;
  while (split < text.size() && text[split] >= '0' && text[split] <= '9') ++split;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + split, value);
  if (split == 0 || ec != std::errc() || end != text.data() + split) return std::nullopt;
  auto factor = unit_multiplier(trim(text.substr(split)));
  if (!factor) return std::nullopt;
  if (value > std::numeric_limits<std::int64_t>::max() / *factor ||
      value < std::numeric_limits<std::int64_t>::min() / *factor) {
    return std::nullopt;
  }
  return value * *factor;
}

TermResult compare_numeric(std::string_view left, std::string_view right, bool or_equal) {
  auto l = parse_quantity(left);
  auto r = parse_quantity(right);
  if (!l || !r) return TermResult::kNoMatch;
  return from_bool(or_equal ? *l <= *r : *l < *r);
}

bool is_ordering(LabelOp op) {
  return op == LabelOp::kLt || op == LabelOp::kLte || op == LabelOp::kLtNumeric ||
         op == LabelOp::kLteNumeric;
}

TermResult evaluate(const LabelTerm& term, const resource::Labels& labels) {
  // EXISTS on a resource with no labels is plain false: the key lookup below covers it.
  auto it = labels.find(term.key);
  if (it == labels.end()) {
    // A missing key cannot be ordered against anything, so inverting it must not match.
    return is_ordering(term.op) ? TermResult::kNoMatch : TermResult::kFalse;
  }
  if (term.op == LabelOp::kExists) return TermResult::kTrue;
  if (term.values.empty()) return TermResult::kFalse;

  const std::string& value = it->second;
  const std::string& first = term.values.front();
  switch (term.op) {
    case LabelOp::kEqual:
      return from_bool(value == first);
    case LabelOp::kIn:
      return from_bool(std::find(term.values.begin(), term.values.end(), value) !=
                       term.values.end());
    case LabelOp::kLt:
      return from_bool(value < first);
    case LabelOp::kLte:
      return from_bool(value <= first);
    case LabelOp::kLtNumeric:
      return compare_numeric(value, first, false);
    case LabelOp::kLteNumeric:
      return compare_numeric(value, first, true);
    case LabelOp::kExists:
      break;
  }
  return TermResult::kNoMatch;
}

}  // namespace

bool LabelTerm::matches(const resource::Labels& labels) const {
  switch (evaluate(*this, labels)) {
    case TermResult::kTrue:
      return !invert;
    case TermResult::kFalse:
      return invert;
    case TermResult::kNoMatch:
      return false;
  }
  return false;
}

bool LabelQuery::matches(const resource::Labels& labels) const {
  return std::all_of(terms.begin(), terms.end(),
                     [&](const LabelTerm& t) { return t.matches(labels); });
}

IdQuery::IdQuery(const std::string& pattern) : pattern_(pattern) {
  if (pattern_.empty()) return;
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(pattern_, options);
  if (!re->ok()) {
    throw Error(ErrorCode::kInvalidArgument,
                "id query \"" + pattern_ + "\": invalid regular expression: " + re->error());
  }
  re_ = std::move(re);
}

bool IdQuery::matches(const std::string& id) const {
  return re_ == nullptr || RE2::PartialMatch(id, *re_);
}

bool ResourceFilter::matches(const resource::Metadata& md) const {
  bool labels_ok = label_queries.empty() ||
                   std::any_of(label_queries.begin(), label_queries.end(),
                               [&](const LabelQuery& q) { return q.matches(md.labels); });
  return labels_ok && id_query.matches(md.id);
}

}  // namespace runtime::state
