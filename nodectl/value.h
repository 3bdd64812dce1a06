// Specs and metadata as untyped values, the way talosctl sees them: YAML decoded with Go
// yaml.v3's rules for untyped targets, and JSON encoded like Go's encoding/json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace nodectl {

// Plain scalars become null, booleans, integers or floats where YAML 1.2's core schema says so;
// quoted scalars, timestamps and everything else stay strings. Throws std::invalid_argument
// when the text is not YAML.
nlohmann::json yaml_to_value(std::string_view yaml);

// Compact (indent < 0) or indented JSON with keys sorted and <, >, & escaped, as Go prints it.
std::string go_json(const nlohmann::json& value, int indent = -1);

}  // namespace nodectl
