// Reflection-based protobuf <-> YAML codec, the extension registries, and metadata/resource YAML.
#include "runtime/resource/yaml_codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/resource/internal/builtin_yaml_codecs.h"
#include "runtime/resource/yaml_registry.h"
#include "values/base64.h"

namespace runtime::resource {
namespace {

namespace pb = google::protobuf;

// Registrations happen at startup, lookups on every render from any thread: a shared lock keeps
// both safe without making readers wait on each other.
class Registry {
 public:
  static Registry& instance() {
    static Registry registry;
    return registry;
  }

  void add_codec(std::string name, MessageYamlCodec codec) {
    if (!codec.to_yaml || !codec.from_yaml) {
      std::unique_lock lock(mutex_);
      codecs_.erase(name);
      return;
    }
    auto shared = std::make_shared<const MessageYamlCodec>(std::move(codec));
    std::unique_lock lock(mutex_);
    codecs_[std::move(name)] = std::move(shared);
  }

  std::shared_ptr<const MessageYamlCodec> codec(const std::string& name) const {
    std::shared_lock lock(mutex_);
    auto it = codecs_.find(name);
    return it == codecs_.end() ? nullptr : it->second;
  }

  void add_enum(std::string name, std::vector<std::pair<int, std::string>> texts) {
    std::unordered_map<int, std::string> by_value(texts.begin(), texts.end());
    std::unique_lock lock(mutex_);
    enums_[std::move(name)] = std::move(by_value);
  }

  // The registered text of one enum value, or empty when there is none.
  std::string enum_text(const std::string& name, int value) const {
    std::shared_lock lock(mutex_);
    auto it = enums_.find(name);
    if (it == enums_.end()) return {};
    auto v = it->second.find(value);
    return v == it->second.end() ? std::string() : v->second;
  }

  void add_field(std::string name, YamlFieldOptions options) {
    std::unique_lock lock(mutex_);
    fields_[std::move(name)] = std::move(options);
  }

  YamlFieldOptions field(const std::string& name) const {
    std::shared_lock lock(mutex_);
    auto it = fields_.find(name);
    return it == fields_.end() ? YamlFieldOptions{} : it->second;
  }

 private:
  Registry() {
    for (auto& [name, codec] : builtin_yaml_codecs()) add_codec(name, std::move(codec));
  }

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const MessageYamlCodec>> codecs_;
  std::unordered_map<std::string, std::unordered_map<int, std::string>> enums_;
  std::unordered_map<std::string, YamlFieldOptions> fields_;
};

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string yaml_key(const pb::FieldDescriptor* f) {
  auto options = Registry::instance().field(f->full_name());
  return options.key.empty() ? f->json_name() : options.key;
}

std::string enum_text(const pb::EnumDescriptor* type, int value) {
  auto text = Registry::instance().enum_text(type->full_name(), value);
  if (!text.empty()) return text;
  const auto* v = type->FindValueByNumber(value);
  return v ? lowercase(v->name()) : std::to_string(value);  // open enums keep unknown numbers
}

// ---- rendering ----

bool is_number_text(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.remove_prefix(1);
  if (s.empty()) return false;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'X')) return true;
  double ignored = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ignored);
  return ec == std::errc() && end == s.data() + s.size();
}

// Plain scalars that a YAML 1.1 or 1.2 reader would not take as a string.
bool needs_quotes(std::string_view s) {
  static const char* const kReserved[] = {
      "~",    "null", "Null", "NULL", "true", "True",  "TRUE", "false", "False", "FALSE",
      "yes",  "Yes",  "YES",  "no",   "No",   "NO",    "on",   "On",    "ON",    "off",
      "Off",  "OFF",  "y",    "Y",    "n",    "N",     ".inf", "-.inf", "+.inf", ".Inf",
      "-.Inf", ".INF", ".nan", ".NaN", ".NAN"};
  if (s.empty()) return true;
  for (const char* r : kReserved) {
    if (s == r) return true;
  }
  return is_number_text(s);
}

YAML::Node number_node(std::string text) { return YAML::Node(std::move(text)); }

// Shortest text that reads back to the same value of the field's own width (a float 0.1 is
// "0.1", not the double expansion of it).
template <class Float>
std::string float_text(Float v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

YAML::Node message_to_node(const pb::Message& m);

YAML::Node value_to_node(const pb::Message& m, const pb::FieldDescriptor* f, int i) {
  const auto& r = *m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return number_node(std::to_string(rep ? r.GetRepeatedInt32(m, f, i) : r.GetInt32(m, f)));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return number_node(std::to_string(rep ? r.GetRepeatedInt64(m, f, i) : r.GetInt64(m, f)));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return number_node(std::to_string(rep ? r.GetRepeatedUInt32(m, f, i) : r.GetUInt32(m, f)));
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return number_node(std::to_string(rep ? r.GetRepeatedUInt64(m, f, i) : r.GetUInt64(m, f)));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return number_node(float_text(rep ? r.GetRepeatedDouble(m, f, i) : r.GetDouble(m, f)));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return number_node(float_text(rep ? r.GetRepeatedFloat(m, f, i) : r.GetFloat(m, f)));
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return number_node((rep ? r.GetRepeatedBool(m, f, i) : r.GetBool(m, f)) ? "true" : "false");
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return yaml_text(
          enum_text(f->enum_type(), rep ? r.GetRepeatedEnumValue(m, f, i) : r.GetEnumValue(m, f)));
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r.GetRepeatedStringReference(m, f, i, &scratch)
                                 : r.GetStringReference(m, f, &scratch);
      return yaml_text(f->type() == pb::FieldDescriptor::TYPE_BYTES ? values::base64_encode(s) : s);
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return message_to_node(rep ? r.GetRepeatedMessage(m, f, i) : r.GetMessage(m, f));
  }
  return YAML::Node();
}

YAML::Node byte_list_node(const std::string& bytes) {
  YAML::Node seq(YAML::NodeType::Sequence);
  for (const unsigned char b : bytes) seq.push_back(number_node(std::to_string(b)));
  return seq;
}

bool is_ascii_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_ascii_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// The order in which Go's yaml.v3 writes string map keys: runs of digits compare as numbers
// ("a2" before "a10"), and at the first difference a letter goes after a non-letter unless digits
// precede it. yaml.v3 compares runes with Unicode's letter and digit classes; this compares bytes
// with ASCII's, which orders the same for ASCII keys (Kubernetes label and annotation keys are
// ASCII) and keeps non-ASCII ones in a fixed order.
bool natural_less(std::string_view a, std::string_view b) {
  auto at = [](std::string_view s, std::size_t i) { return static_cast<unsigned char>(s[i]); };
  bool digits = false;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const unsigned char ca = at(a, i);
    const unsigned char cb = at(b, i);
    if (ca == cb) {
      digits = is_ascii_digit(ca);
      continue;
    }
    const bool al = is_ascii_letter(ca);
    const bool bl = is_ascii_letter(cb);
    if (al && bl) return ca < cb;
    if (al || bl) return digits ? al : bl;
    // The digit runs from here on compare by value. A zero that continues a number with a
    // non-zero digit before it counts as part of it ("100" after "11": 100 against 11, not 0
    // against 1).
    std::uint64_t an = 0;  // wraps past 20 digits where Go's int64 would overflow
    std::uint64_t bn = 0;
    if (ca == '0' || cb == '0') {
      for (std::size_t j = i; j-- > 0 && is_ascii_digit(at(a, j));) {
        if (at(a, j) != '0') {
          an = bn = 1;
          break;
        }
      }
    }
    std::size_t ai = i;
    std::size_t bi = i;
    for (; ai < a.size() && is_ascii_digit(at(a, ai)); ++ai) an = an * 10 + (at(a, ai) - '0');
    for (; bi < b.size() && is_ascii_digit(at(b, bi)); ++bi) bn = bn * 10 + (at(b, bi) - '0');
    if (an != bn) return an < bn;
    if (ai != bi) return ai < bi;
    return ca < cb;
  }
  return a.size() < b.size();
}

// yaml.v3 writes a map's keys sorted: numbers and bools by value, strings by natural_less.
bool map_key_less(const pb::Message& a, const pb::Message& b, const pb::FieldDescriptor* key) {
  const auto& ra = *a.GetReflection();
  const auto& rb = *b.GetReflection();
  switch (key->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return ra.GetInt32(a, key) < rb.GetInt32(b, key);
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return ra.GetInt64(a, key) < rb.GetInt64(b, key);
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return ra.GetUInt32(a, key) < rb.GetUInt32(b, key);
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return ra.GetUInt64(a, key) < rb.GetUInt64(b, key);
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return !ra.GetBool(a, key) && rb.GetBool(b, key);
    default: {
      std::string scratch_a;
      std::string scratch_b;
      return natural_less(ra.GetStringReference(a, key, &scratch_a),
                          rb.GetStringReference(b, key, &scratch_b));
    }
  }
}

// Entries in yaml.v3's key order, never in the order protobuf happens to keep a map in (which
// differs between two equal maps).
YAML::Node map_to_node(const pb::Message& m, const pb::FieldDescriptor* f) {
  const auto& r = *m.GetReflection();
  const auto* key_field = f->message_type()->map_key();
  const auto* value_field = f->message_type()->map_value();
  std::vector<const pb::Message*> entries;
  for (int i = 0; i < r.FieldSize(m, f); ++i) entries.push_back(&r.GetRepeatedMessage(m, f, i));
  // Insertion sort: natural_less is not proven a strict weak order, which std::sort relies on
  // to stay in bounds; maps in specs are small.
  for (std::size_t i = 1; i < entries.size(); ++i) {
    for (std::size_t j = i; j > 0 && map_key_less(*entries[j], *entries[j - 1], key_field); --j) {
      std::swap(entries[j], entries[j - 1]);
    }
  }
  YAML::Node node(YAML::NodeType::Map);
  for (const auto* entry : entries) {
    node[value_to_node(*entry, key_field, -1)] = value_to_node(*entry, value_field, -1);
  }
  return node;
}

YAML::Node message_to_node(const pb::Message& m) {
  const auto* d = m.GetDescriptor();
  if (auto codec = Registry::instance().codec(d->full_name())) return codec->to_yaml(m);

  const auto& r = *m.GetReflection();
  YAML::Node node(YAML::NodeType::Map);
  for (int k = 0; k < d->field_count(); ++k) {
    const auto* f = d->field(k);
    auto options = Registry::instance().field(f->full_name());
    const std::string key = options.key.empty() ? f->json_name() : options.key;
    if (f->is_map()) {
      if (r.FieldSize(m, f) > 0 || options.keep_empty) node[key] = map_to_node(m, f);
    } else if (f->is_repeated()) {
      if (r.FieldSize(m, f) == 0 && !options.keep_empty) continue;
      YAML::Node seq(YAML::NodeType::Sequence);
      for (int i = 0; i < r.FieldSize(m, f); ++i) seq.push_back(value_to_node(m, f, i));
      node[key] = seq;
    } else if (r.HasField(m, f) || options.keep_empty) {
      // Proto3 HasField is "differs from the default" for plain scalars and "set" for messages
      // and optional fields: exactly the omitempty rule.
      node[key] = options.byte_list ? byte_list_node(r.GetString(m, f)) : value_to_node(m, f, -1);
    }
  }
  return node;
}

// A block-style YAML writer. yaml-cpp's Emitter spends most of its time deciding whether a scalar
// may be plain (tests/bench/resource_bench.cpp); this one uses a conservative character rule and
// double-quotes everything else.
class Writer {
 public:
  std::string document(const YAML::Node& n) {
    if (is_block(n)) {
      block(n, 0);
    } else {
      inline_value(n);
      out_ += '\n';
    }
    return std::move(out_);
  }

 private:
  static bool is_block(const YAML::Node& n) {
    return (n.IsMap() || n.IsSequence()) && n.size() > 0;
  }

  // Plain only when no YAML reader could take it for structure, a comment or an escape.
  static bool plain_ok(std::string_view s) {
    if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
    if (std::string_view("?,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) {
      return false;
    }
    // "-4" and "::1" are plain scalars; "- x" and ": x" are structure.
    if ((s.front() == '-' || s.front() == ':') && (s.size() == 1 || s[1] == ' ')) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == 0x7f || c == ',' || c == '[' || c == ']' || c == '{' || c == '}') {
        return false;
      }
      if (c == ':' && i + 1 < s.size() && s[i + 1] == ' ') return false;
      if (c == '#' && s[i - 1] == ' ') return false;
    }
    return true;
  }

  void quoted(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_ += '"';
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      switch (ch) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\r':
          out_ += "\\r";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out_ += "\\x";
            out_ += kHex[c >> 4];
            out_ += kHex[c & 15];
          } else {
            out_ += ch;
          }
      }
    }
    out_ += '"';
  }

  void scalar(const YAML::Node& n) {
    const std::string& s = n.Scalar();
    // Tag "!" marks text (yaml_text, or a quoted scalar in parsed input).
    if (plain_ok(s) && !(n.Tag() == "!" && needs_quotes(s))) {
      out_ += s;
    } else {
      quoted(s);
    }
  }

  // Scalars, null and empty collections: the forms that fit on the current line.
  void inline_value(const YAML::Node& n) {
    if (n.IsMap()) {
      out_ += "{}";
    } else if (n.IsSequence()) {
      out_ += "[]";
    } else if (n.IsScalar()) {
      scalar(n);
    } else {
      out_ += "null";
    }
  }

  // Writes a non-empty collection; its first line continues the current one when first_inline.
  void block(const YAML::Node& n, int indent, bool first_inline = false) {
    bool first = true;
    auto start_line = [&] {
      if (!(first && first_inline)) out_.append(static_cast<std::size_t>(indent), ' ');
      first = false;
    };
    if (n.IsMap()) {
      for (const auto& kv : n) {
        start_line();
        inline_value(kv.first);
        out_ += ':';
        if (is_block(kv.second)) {
          out_ += '\n';
          block(kv.second, indent + 2);
        } else {
          out_ += ' ';
          inline_value(kv.second);
          out_ += '\n';
        }
      }
      return;
    }
    for (const auto& item : n) {
      start_line();
      out_ += "- ";
      if (is_block(item)) {
        block(item, indent + 2, true);
      } else {
        inline_value(item);
        out_ += '\n';
      }
    }
  }

  std::string out_;
};

std::string emit_document(const YAML::Node& node) { return Writer().document(node); }

// Aliases let a small document stand for an exponentially large tree ("billion laughs") or even a
// cycle (`a: &x {b: *x}`); every walk over parsed input first checks the expanded tree's size and
// depth against these limits (protobuf's own parser allows 100 levels).
constexpr std::size_t kMaxYamlValues = 1'000'000;
constexpr int kMaxYamlDepth = 100;

bool within_limits(const YAML::Node& n, int depth, std::size_t* budget) {
  if (*budget == 0 || depth > kMaxYamlDepth) return false;
  --*budget;
  if (n.IsMap()) {
    for (const auto& kv : n) {
      if (!within_limits(kv.first, depth + 1, budget) ||
          !within_limits(kv.second, depth + 1, budget)) {
        return false;
      }
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      if (!within_limits(item, depth + 1, budget)) return false;
    }
  }
  return true;
}

bool within_limits(const YAML::Node& n) {
  std::size_t budget = kMaxYamlValues;
  return within_limits(n, 0, &budget);
}

// ---- parsing ----

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::invalid_argument(path + ": " + what);
}

std::string_view node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "null";
  }
}

const std::string& scalar(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) fail(path, "expected a scalar, got " + std::string(node_kind(n)));
  return n.Scalar();
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// The parsers of a scalar field's value: each takes the field, the YAML text and the path for
// errors.
template <class T>
T parse_integer(const pb::FieldDescriptor* f, const std::string& text, const std::string& path) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec == std::errc::invalid_argument || end != s.data() + s.size()) {
    fail(path, quoted(text) + " is not an integer");
  }
  if (ec == std::errc::result_out_of_range) {
    fail(path, quoted(text) + " is out of range for " + f->cpp_type_name());
  }
  return v;
}

// Parsed as a double, then narrowed for a float field.
template <class T>
T parse_floating(const pb::FieldDescriptor*, const std::string& text, const std::string& path) {
  if (text == ".nan" || text == ".NaN" || text == ".NAN") return static_cast<T>(std::nan(""));
  if (text == ".inf" || text == "+.inf" || text == ".Inf") return static_cast<T>(HUGE_VAL);
  if (text == "-.inf" || text == "-.Inf") return static_cast<T>(-HUGE_VAL);
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    fail(path, quoted(text) + " is not a number");
  }
  return static_cast<T>(v);
}

bool parse_bool(const pb::FieldDescriptor*, const std::string& text, const std::string& path) {
  auto lower = lowercase(text);
  if (lower == "true") return true;
  if (lower == "false") return false;
  fail(path, quoted(text) + " is not a boolean (true or false)");
}

int parse_enum(const pb::FieldDescriptor* f, const std::string& text, const std::string& path) {
  const pb::EnumDescriptor* type = f->enum_type();
  std::string choices;
  for (int i = 0; i < type->value_count(); ++i) {
    const auto* v = type->value(i);
    const auto rendered = enum_text(type, v->number());
    if (text == rendered || text == v->name()) return v->number();
    if (!choices.empty()) choices += ", ";
    choices += rendered.empty() ? quoted("") : rendered;
  }
  fail(path, quoted(text) + " is not one of: " + choices);
}

// Bytes fields are base64 in YAML.
std::string parse_string(const pb::FieldDescriptor* f, const std::string& text,
                         const std::string& path) {
  if (f->type() != pb::FieldDescriptor::TYPE_BYTES) return text;
  auto decoded = values::base64_decode(text);
  if (!decoded) fail(path, quoted(text) + " is not valid base64");
  return std::move(*decoded);
}

template <class T>
using FieldParser = T (*)(const pb::FieldDescriptor*, const std::string&, const std::string&);
template <class T>
using FieldWriter = void (pb::Reflection::*)(pb::Message*, const pb::FieldDescriptor*, T) const;

// Sets scalar field f of *m from text: with Add when f is repeated, with Set otherwise.
template <class T, FieldParser<T> Parse, FieldWriter<T> Add, FieldWriter<T> Set>
void parse_scalar(const std::string& text, pb::Message* m, const pb::FieldDescriptor* f,
                  const std::string& path) {
  (m->GetReflection()->*(f->is_repeated() ? Add : Set))(m, f, Parse(f, text, path));
}

using R = pb::Reflection;
using ScalarParser = void (*)(const std::string& text, pb::Message* m, const pb::FieldDescriptor* f,
                              const std::string& path);

// Indexed by FieldDescriptor::CppType; messages (and the unused 0) have no scalar form.
constexpr std::array<ScalarParser, pb::FieldDescriptor::MAX_CPPTYPE + 1> kScalarParsers{
    nullptr,
    &parse_scalar<std::int32_t, &parse_integer<std::int32_t>, &R::AddInt32, &R::SetInt32>,
    &parse_scalar<std::int64_t, &parse_integer<std::int64_t>, &R::AddInt64, &R::SetInt64>,
    &parse_scalar<std::uint32_t, &parse_integer<std::uint32_t>, &R::AddUInt32, &R::SetUInt32>,
    &parse_scalar<std::uint64_t, &parse_integer<std::uint64_t>, &R::AddUInt64, &R::SetUInt64>,
    &parse_scalar<double, &parse_floating<double>, &R::AddDouble, &R::SetDouble>,
    &parse_scalar<float, &parse_floating<float>, &R::AddFloat, &R::SetFloat>,
    &parse_scalar<bool, &parse_bool, &R::AddBool, &R::SetBool>,
    &parse_scalar<int, &parse_enum, &R::AddEnumValue, &R::SetEnumValue>,
    &parse_scalar<std::string, &parse_string, &R::AddString, &R::SetString>,
    nullptr,
};

void parse_message(const YAML::Node& n, pb::Message* m, const std::string& path);

// Sets field f of *m (appends when repeated) from node n.
void parse_value(const YAML::Node& n, pb::Message* m, const pb::FieldDescriptor* f,
                 const std::string& path) {
  if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    const auto& r = *m->GetReflection();
    if (!f->is_repeated() && Registry::instance().codec(f->message_type()->full_name())) {
      // A custom codec renders an absent field and an empty message alike (an IP as ""); read
      // back, that is the absent field, so a spec survives its own rendering byte for byte.
      std::unique_ptr<pb::Message> value(r.GetMessage(*m, f).New());
      parse_message(n, value.get(), path);
      if (value->ByteSizeLong() > 0) r.MutableMessage(m, f)->CopyFrom(*value);
      return;
    }
    parse_message(n, f->is_repeated() ? r.AddMessage(m, f) : r.MutableMessage(m, f), path);
    return;
  }
  kScalarParsers[f->cpp_type()](scalar(n, path), m, f, path);
}

void parse_byte_list(const YAML::Node& n, pb::Message* m, const pb::FieldDescriptor* f,
                     const std::string& path) {
  if (!n.IsSequence()) {
    fail(path, "expected a sequence of byte values, got " + std::string(node_kind(n)));
  }
  std::string bytes;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    const std::string& text = scalar(n[i], item_path);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > 255) {
      fail(item_path, quoted(text) + " is not a byte value (0 to 255)");
    }
    bytes.push_back(static_cast<char>(value));
  }
  m->GetReflection()->SetString(m, f, std::move(bytes));
}

void parse_field(const YAML::Node& n, pb::Message* m, const pb::FieldDescriptor* f,
                 const std::string& path) {
  if (f->is_map()) {
    if (!n.IsMap()) fail(path, "expected a map, got " + std::string(node_kind(n)));
    const auto* entry_type = f->message_type();
    for (const auto& kv : n) {
      const std::string& key_text = scalar(kv.first, path);
      const std::string entry_path = path + "." + key_text;
      auto* entry = m->GetReflection()->AddMessage(m, f);
      parse_value(kv.first, entry, entry_type->map_key(), entry_path);
      if (!kv.second.IsNull()) parse_value(kv.second, entry, entry_type->map_value(), entry_path);
    }
  } else if (f->is_repeated()) {
    if (!n.IsSequence()) fail(path, "expected a sequence, got " + std::string(node_kind(n)));
    for (std::size_t i = 0; i < n.size(); ++i) {
      parse_value(n[i], m, f, path + "[" + std::to_string(i) + "]");
    }
  } else if (Registry::instance().field(f->full_name()).byte_list) {
    parse_byte_list(n, m, f, path);
  } else {
    parse_value(n, m, f, path);
  }
}

const pb::FieldDescriptor* find_field(const pb::Descriptor* d, const std::string& key) {
  for (int k = 0; k < d->field_count(); ++k) {
    const auto* f = d->field(k);
    if (key == yaml_key(f) || key == f->json_name() || key == f->name()) return f;
  }
  return nullptr;
}

void parse_message(const YAML::Node& n, pb::Message* m, const std::string& path) {
  const auto* d = m->GetDescriptor();
  if (auto codec = Registry::instance().codec(d->full_name())) {
    if (n.IsNull()) return;
    try {
      codec->from_yaml(n, m);
    } catch (const std::invalid_argument& e) {
      fail(path, e.what());
    }
    return;
  }
  if (n.IsNull()) return;
  if (!n.IsMap()) fail(path, "expected a map, got " + std::string(node_kind(n)));
  for (const auto& kv : n) {
    const std::string& key = scalar(kv.first, path);
    const std::string field_path = path + "." + key;
    const auto* f = find_field(d, key);
    if (f == nullptr) fail(field_path, "unknown field of " + d->full_name());
    if (kv.second.IsNull()) continue;
    parse_field(kv.second, m, f, field_path);
  }
}

// ---- metadata ----

std::string rfc3339(Timestamp t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

YAML::Node metadata_to_node(const Metadata& md) {
  YAML::Node node(YAML::NodeType::Map);
  node["namespace"] = yaml_text(md.ns);
  node["type"] = yaml_text(md.type);
  node["id"] = yaml_text(md.id);
  node["version"] = YAML::Node(version_to_string(md.version));
  node["owner"] = yaml_text(md.owner);
  node["phase"] = YAML::Node(std::string(to_string(md.phase)));
  node["created"] = YAML::Node(rfc3339(md.created));
  node["updated"] = YAML::Node(rfc3339(md.updated));
  if (!md.labels.empty()) {
    YAML::Node labels(YAML::NodeType::Map);
    for (const auto& [k, v] : md.labels) labels[yaml_text(k)] = yaml_text(v);
    node["labels"] = labels;
  }
  if (!md.annotations.empty()) {
    YAML::Node annotations(YAML::NodeType::Map);
    for (const auto& [k, v] : md.annotations) annotations[yaml_text(k)] = yaml_text(v);
    node["annotations"] = annotations;
  }
  if (!md.finalizers.empty()) {
    YAML::Node finalizers(YAML::NodeType::Sequence);
    for (const auto& f : md.finalizers.names()) finalizers.push_back(yaml_text(f));
    node["finalizers"] = finalizers;
  }
  return node;
}

// RFC3339: 2026-11-27T16:43:14Z, 2026-11-27T18:43:14.5+02:00. Null when it is not one, or (with
// *out_of_range set) when it is one that a Timestamp cannot hold.
std::optional<Timestamp> parse_rfc3339(const std::string& text, bool* out_of_range) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(text).substr(19);
  std::chrono::nanoseconds fraction{0};
  if (!rest.empty() && rest.front() == '.') {
    std::size_t digits = 1;
    std::int64_t scale = 100000000;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      fraction += std::chrono::nanoseconds((rest[digits] - '0') * scale);
      scale /= 10;
      ++digits;
    }
    if (digits == 1) return std::nullopt;
    rest.remove_prefix(digits);
  }
  std::chrono::seconds offset{0};
  if (rest == "Z" || rest == "z") {
    // UTC
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int h = 0;
    int m = 0;
    auto [hend, hec] = std::from_chars(rest.data() + 1, rest.data() + 3, h);
    auto [mend, mec] = std::from_chars(rest.data() + 4, rest.data() + 6, m);
    if (hec != std::errc() || mec != std::errc() || hend != rest.data() + 3 ||
        mend != rest.data() + 6 || h > 23 || m > 59) {
      return std::nullopt;
    }
    offset = std::chrono::hours(h) + std::chrono::minutes(m);
    if (rest[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t secs = timegm(&tm);
  // Timestamps count nanoseconds in 64 bits, which reach from 1677 to 2262; whole years inside
  // that keep the conversion below (offset and fraction included) from overflowing.
  constexpr std::int64_t kFirst = -9214560000;  // 1678-01-01T00:00:00Z
  constexpr std::int64_t kEnd = 9214646400;     // 2262-01-01T00:00:00Z
  static_assert(kEnd + 86400 <
                std::chrono::duration_cast<std::chrono::seconds>(Timestamp::duration::max()).count());
  if (secs < kFirst || secs >= kEnd) {
    *out_of_range = true;
    return std::nullopt;
  }
  return std::chrono::time_point_cast<Timestamp::duration>(
      std::chrono::system_clock::from_time_t(secs) - offset + fraction);
}

void read_string_map(const YAML::Node& n, const std::string& path,
                     std::map<std::string, std::string, std::less<>>* out) {
  if (!n.IsMap()) fail(path, "expected a map, got " + std::string(node_kind(n)));
  for (const auto& kv : n) {
    const std::string& key = scalar(kv.first, path);
    (*out)[key] = kv.second.IsNull() ? std::string() : scalar(kv.second, path + "." + key);
  }
}

Metadata metadata_from_node(const YAML::Node& n) {
  const std::string root = "metadata";
  if (!n.IsMap()) fail(root, "expected a map, got " + std::string(node_kind(n)));
  Metadata md;
  for (const auto& kv : n) {
    const std::string& key = scalar(kv.first, root);
    const std::string path = root + "." + key;
    const YAML::Node& v = kv.second;
    if (v.IsNull()) continue;
    if (key == "labels") {
      read_string_map(v, path, &md.labels);
    } else if (key == "annotations") {
      read_string_map(v, path, &md.annotations);
    } else if (key == "finalizers") {
      if (!v.IsSequence()) fail(path, "expected a sequence, got " + std::string(node_kind(v)));
      for (std::size_t i = 0; i < v.size(); ++i) {
        md.finalizers.add(scalar(v[i], path + "[" + std::to_string(i) + "]"));
      }
    } else {
      const std::string& text = scalar(v, path);
      if (key == "namespace") {
        md.ns = text;
      } else if (key == "type") {
        md.type = text;
      } else if (key == "id") {
        md.id = text;
      } else if (key == "owner") {
        md.owner = text;
      } else if (key == "version") {
        auto version = parse_version(text);
        if (!version) fail(path, quoted(text) + " is not a version (a number or \"undefined\")");
        md.version = *version;
      } else if (key == "phase") {
        auto phase = parse_phase(text);
        if (!phase) fail(path, quoted(text) + " is not a phase (running or tearingDown)");
        md.phase = *phase;
      } else if (key == "created" || key == "updated") {
        bool out_of_range = false;
        auto t = parse_rfc3339(text, &out_of_range);
        if (out_of_range) fail(path, quoted(text) + " is out of range (years 1678 to 2261)");
        if (!t) fail(path, quoted(text) + " is not an RFC3339 time");
        (key == "created" ? md.created : md.updated) = *t;
      } else {
        fail(path, "unknown metadata field");
      }
    }
  }
  return md;
}

}  // namespace

void register_yaml_codec(std::string full_message_name, MessageYamlCodec codec) {
  Registry::instance().add_codec(std::move(full_message_name), std::move(codec));
}

void register_yaml_enum(std::string full_enum_name,
                        std::vector<std::pair<int, std::string>> texts) {
  Registry::instance().add_enum(std::move(full_enum_name), std::move(texts));
}

void register_yaml_field(std::string full_field_name, YamlFieldOptions options) {
  Registry::instance().add_field(std::move(full_field_name), std::move(options));
}

YAML::Node yaml_text(std::string_view text) {
  YAML::Node node{std::string(text)};
  node.SetTag("!");
  return node;
}

std::string spec_to_yaml(const google::protobuf::Message& spec) {
  return emit_document(message_to_node(spec));
}

void spec_from_yaml(std::string_view yaml, google::protobuf::Message* spec) {
  std::unique_ptr<google::protobuf::Message> parsed(spec->New());
  try {
    const YAML::Node doc = YAML::Load(std::string(yaml));
    if (!within_limits(doc)) {
      throw std::invalid_argument("spec: document too large (over " +
                                  std::to_string(kMaxYamlValues) + " values or " +
                                  std::to_string(kMaxYamlDepth) +
                                  " levels once aliases are expanded)");
    }
    parse_message(doc, parsed.get(), "spec");
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("spec: invalid YAML: " + e.msg + " at line " +
                                std::to_string(e.mark.line + 1));
  }
  spec->CopyFrom(*parsed);
}

std::string metadata_to_yaml(const Metadata& metadata) {
  return emit_document(metadata_to_node(metadata));
}

Metadata metadata_from_yaml(std::string_view yaml) {
  try {
    return metadata_from_node(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("metadata: invalid YAML: " + e.msg + " at line " +
                                std::to_string(e.mark.line + 1));
  }
}

std::string resource_to_yaml(const Resource& resource) {
  YAML::Node node(YAML::NodeType::Map);
  node["metadata"] = metadata_to_node(resource.metadata);
  if (!resource.spec) {
    node["spec"] = YAML::Node(YAML::NodeType::Null);
  } else {
    const std::string text = resource.spec->yaml();
    // An opaque spec whose YAML is broken or expands too far is still shown, as text.
    try {
      YAML::Node spec = YAML::Load(text);
      node["spec"] = within_limits(spec) ? spec : yaml_text(text);
    } catch (const YAML::Exception&) {
      node["spec"] = yaml_text(text);
    }
  }
  return emit_document(node);
}

}  // namespace runtime::resource
