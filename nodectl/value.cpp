// YAML to untyped values and Go-style JSON text.
#include "nodectl/value.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <regex>
#include <stdexcept>

namespace nodectl {
namespace {

using nlohmann::json;

// YAML 1.2 core schema, as yaml.v3 resolves plain scalars for an interface{} target.
json resolve_plain(const std::string& s) {
  static const std::regex kInt(R"([-+]?[0-9]+)");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (std::regex_match(s, kInt)) {
    const char* begin = s.data() + (s.front() == '+' ? 1 : 0);
    std::int64_t v = 0;
    if (auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v); ec == std::errc()) {
      return v;
    }
    // Out of int64's range: yaml.v3 falls back to a float.
  }
  if (std::regex_match(s, kFloat)) return std::stod(s);
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  return s;
}

json convert(const YAML::Node& node, int depth) {
  // The same bound the resource codec puts on parsed input.
  if (depth > 100) throw std::invalid_argument("YAML nests deeper than 100 levels");
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = convert(kv.second, depth + 1);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(convert(item, depth + 1));
      return out;
    }
    case YAML::NodeType::Scalar:
      // Tag "!" is a quoted scalar: always text.
      return node.Tag() == "!" ? json(node.Scalar()) : resolve_plain(node.Scalar());
    default:
      return nullptr;
  }
}

}  // namespace

json yaml_to_value(std::string_view yaml) {
  try {
    return convert(YAML::Load(std::string(yaml)), 0);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(std::string("malformed YAML: ") + e.what());
  }
}

std::string go_json(const json& value, int indent) {
  const std::string text = value.dump(indent, ' ', false, json::error_handler_t::replace);
  // The three characters only occur inside strings, so escaping them everywhere is exact.
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace nodectl
