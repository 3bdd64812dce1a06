// A small JSONPath parser and evaluator with client-go's printing rules.
#include "nodectl/jsonpath.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "nodectl/value.h"

namespace nodectl {
namespace {

using nlohmann::json;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::vector<JsonPath::Segment> template_segments() {
    std::vector<JsonPath::Segment> out;
    std::string literal;
    while (pos_ < text_.size()) {
      if (text_[pos_] != '{') {
        literal += text_[pos_++];
        continue;
      }
      if (!literal.empty()) out.emplace_back(std::exchange(literal, {}));
      ++pos_;
      out.emplace_back(expression());
      expect('}');
    }
    if (!literal.empty()) out.emplace_back(std::move(literal));
    return out;
  }

 private:
  JsonPath::Expression expression() {
    JsonPath::Expression steps;
    skip_spaces();
    if (peek('$') || peek('@')) ++pos_;
    for (;;) {
      if (peek('.')) {
        ++pos_;
        if (peek('.')) fail("recursive descent (..) is not supported");
        if (peek('*')) {
          ++pos_;
          steps.emplace_back(JsonPath::Wildcard{});
          continue;
        }
        const std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != '.' && text_[pos_] != '[' &&
               text_[pos_] != '}' && text_[pos_] != ' ') {
          ++pos_;
        }
        // "{.}" is the whole value.
        if (pos_ > start)
          steps.emplace_back(JsonPath::Field{std::string(text_.substr(start, pos_ - start))});
      } else if (peek('[')) {
        ++pos_;
        steps.push_back(bracket());
        expect(']');
      } else {
        break;
      }
    }
    skip_spaces();
    if (!peek('}')) fail("unsupported expression");
    return steps;
  }

  JsonPath::Step bracket() {
    if (peek('*')) {
      ++pos_;
      return JsonPath::Wildcard{};
    }
    if (peek('\'') || peek('"')) {
      const char quote = text_[pos_++];
      const std::size_t end = text_.find(quote, pos_);
      if (end == std::string_view::npos) fail("unterminated quote");
      std::string name(text_.substr(pos_, end - pos_));
      pos_ = end + 1;
      return JsonPath::Field{std::move(name)};
    }
    if (peek('?')) fail("filters are not supported");
    std::optional<long long> parts[3];
    int colons = 0;
    for (;;) {
      parts[colons] = number();
      if (!peek(':')) break;
      if (++colons > 2) fail("too many colons in a slice");
      ++pos_;
    }
    if (colons == 0) {
      if (!parts[0]) fail("expected an index");
      return JsonPath::Index{*parts[0]};
    }
    if (parts[2] && *parts[2] <= 0) fail("slice step must be positive");
    return JsonPath::Slice{parts[0], parts[1], parts[2]};
  }

  std::optional<long long> number() {
    const std::size_t start = pos_;
    if (peek('-')) ++pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (pos_ == start) return std::nullopt;
    long long v = 0;
    const auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, v);
    if (ec != std::errc() || end != text_.data() + pos_) fail("bad number");
    return v;
  }

  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  void skip_spaces() {
    while (peek(' ')) ++pos_;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument("jsonpath \"" + std::string(text_) + "\" at " +
                                std::to_string(pos_) + ": " + why);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// Go's %v for a float64: integral values without a fraction, others in the shortest form.
std::string go_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

long long clamp_index(long long i, long long size) {
  if (i < 0) i += size;
  return std::clamp(i, 0LL, size);
}

void apply(const JsonPath::Step& step, const json& v, std::vector<const json*>& out) {
  if (const auto* field = std::get_if<JsonPath::Field>(&step)) {
    if (v.is_object()) {
      if (auto it = v.find(field->name); it != v.end()) out.push_back(&*it);
    }
  } else if (std::holds_alternative<JsonPath::Wildcard>(step)) {
    if (v.is_object() || v.is_array()) {
      for (const auto& item : v) out.push_back(&item);
    }
  } else if (const auto* index = std::get_if<JsonPath::Index>(&step)) {
    if (!v.is_array()) return;
    const auto size = static_cast<long long>(v.size());
    const long long i = index->index < 0 ? index->index + size : index->index;
    if (i >= 0 && i < size) out.push_back(&v[static_cast<std::size_t>(i)]);
  } else if (const auto* slice = std::get_if<JsonPath::Slice>(&step)) {
    if (!v.is_array()) return;
    const auto size = static_cast<long long>(v.size());
    const long long start = clamp_index(slice->start.value_or(0), size);
    const long long end = slice->end ? clamp_index(*slice->end, size) : size;
    for (long long i = start; i < end; i += slice->step.value_or(1)) {
      out.push_back(&v[static_cast<std::size_t>(i)]);
    }
  }
}

}  // namespace

std::string result_text(const json& v, int indent) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
      return std::to_string(v.get<std::int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(v.get<std::uint64_t>());
    case json::value_t::number_float:
      return go_float(v.get<double>());
    case json::value_t::null:
      return "null";
    default:
      return go_json(v, indent);
  }
}

JsonPath JsonPath::parse(std::string_view text) {
  JsonPath path;
  path.segments_ = Parser(text).template_segments();
  return path;
}

std::vector<std::vector<json>> JsonPath::find_results(const json& data,
                                                      bool allow_missing_keys) const {
  std::vector<std::vector<json>> results;
  for (const auto& segment : segments_) {
    if (const auto* literal = std::get_if<std::string>(&segment)) {
      results.push_back({json(*literal)});
      continue;
    }
    std::vector<const json*> current{&data};
    for (const auto& step : std::get<Expression>(segment)) {
      std::vector<const json*> next;
      for (const json* v : current) apply(step, *v, next);
      const auto* field = std::get_if<Field>(&step);
      if (field != nullptr && !allow_missing_keys && next.empty() && !current.empty()) {
        throw std::runtime_error(field->name + " is not found");
      }
      current = std::move(next);
    }
    auto& group = results.emplace_back();
    for (const json* v : current) group.push_back(*v);
  }
  return results;
}

std::string JsonPath::execute(const json& data) const {
  std::string out;
  for (const auto& group : find_results(data, true)) {
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (i > 0) out += ' ';
      out += result_text(group[i]);
    }
  }
  return out;
}

}  // namespace nodectl
