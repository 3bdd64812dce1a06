// Namespace and ResourceDefinition builders; type-name validation and alias computation.
#include "runtime/resource/definition.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "runtime/resource/inflection.h"
#include "runtime/resource/proto_spec.h"

namespace runtime::resource {
namespace {

using RdSpec = cosi::resource::meta::ResourceDefinitionSpec;

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (is_upper(c)) c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// ^[A-Z][A-Za-z0-9-]+$
bool valid_name(std::string_view name) {
  return name.size() >= 2 && is_upper(name[0]) &&
         std::all_of(name.begin() + 1, name.end(), [](char c) {
           return is_upper(c) || is_lower(c) || is_digit(c) || c == '-';
         });
}

// One dotted part of the suffix: ^[a-z][a-z0-9-]+$
bool valid_suffix_part(std::string_view part) {
  return part.size() >= 2 && is_lower(part[0]) &&
         std::all_of(part.begin() + 1, part.end(),
                     [](char c) { return is_lower(c) || is_digit(c) || c == '-'; });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = s.find(sep, start)) != std::string_view::npos; start = dot + 1) {
    parts.push_back(s.substr(start, dot - start));
  }
  parts.push_back(s.substr(start));
  return parts;
}

[[noreturn]] void invalid(std::string_view type, const std::string& why) {
  throw std::invalid_argument("resource type \"" + std::string(type) + "\": " + why);
}

}  // namespace

RdSpec fill_resource_definition(const ResourceDefinitionInput& input) {
  const std::string_view type = input.type;
  const auto dot = type.find('.');
  if (dot == std::string_view::npos) invalid(type, "missing suffix (expected Name.suffix)");
  const std::string_view name = type.substr(0, dot);
  const std::string_view suffix = type.substr(dot + 1);
  if (name.empty()) invalid(type, "name is empty");
  if (suffix.empty()) invalid(type, "suffix is empty");
  if (lower(name) == name) invalid(type, "name should be in CamelCase");
  if (!valid_name(name)) invalid(type, "name doesn't match ^[A-Z][A-Za-z0-9-]+$");
  const auto suffix_parts = split(suffix, '.');
  if (!std::all_of(suffix_parts.begin(), suffix_parts.end(), valid_suffix_part)) {
    invalid(type, "suffix doesn't match ^[a-z][a-z0-9-]+(\\.[a-z][a-z0-9-]+)*$");
  }
  if (!inflection::is_plural(name)) invalid(type, "name should be plural");

  RdSpec spec;
  spec.set_resource_type(input.type);
  spec.set_display_type(inflection::singular(name));
  spec.set_default_namespace(input.default_namespace);
  for (const auto& alias : input.aliases) spec.add_aliases(alias);
  if (!input.skip_automatic_aliases) {
    const std::string plural_alias = lower(name);
    spec.add_aliases(lower(spec.display_type()));
    spec.add_all_aliases(plural_alias);
    // "members.cluster", "members.cluster.talos": every proper prefix of the suffix.
    std::string qualified = plural_alias;
    for (std::size_t i = 0; i + 1 < suffix_parts.size(); ++i) {
      qualified += ".";
      qualified += suffix_parts[i];
      spec.add_all_aliases(qualified);
    }
    std::string capitals;
    std::copy_if(name.begin(), name.end(), std::back_inserter(capitals), is_upper);
    if (capitals.size() > 1) {
      spec.add_aliases(lower(capitals));  // "KubeSpanPeerStatuses" -> ksps
      if (capitals.back() != 'S') spec.add_aliases(lower(capitals) + "s");
    }
  }
  for (const auto& alias : spec.aliases()) spec.add_all_aliases(alias);
  for (const auto& column : input.print_columns) {
    auto* c = spec.add_print_columns();
    c->set_name(column.name);
    c->set_json_path(column.json_path);
  }
  spec.set_sensitivity(input.sensitivity == Sensitivity::kSensitive ? RdSpec::SENSITIVE
                                                                     : RdSpec::NON_SENSITIVE);
  return spec;
}

std::string resource_definition_id(std::string_view type) { return lower(type); }

Resource make_resource_definition(const ResourceDefinitionInput& input) {
  auto spec = fill_resource_definition(input);
  Metadata md(Pointer{std::string(kMetaNamespace), std::string(kResourceDefinitionType),
                      resource_definition_id(input.type)});
  return make_resource(std::move(md), std::move(spec));
}

Resource make_namespace(std::string_view name, std::string_view description) {
  if (name.empty()) throw std::invalid_argument("namespace name is empty");
  cosi::resource::meta::NamespaceSpec spec;
  spec.set_description(std::string(description));
  Metadata md(Pointer{std::string(kMetaNamespace), std::string(kNamespaceType), std::string(name)});
  return make_resource(std::move(md), std::move(spec));
}

ResourceDefinitionInput namespace_definition() {
  ResourceDefinitionInput input;
  input.type = kNamespaceType;
  input.default_namespace = kMetaNamespace;
  input.aliases = {"ns"};
  return input;
}

ResourceDefinitionInput resource_definition_definition() {
  ResourceDefinitionInput input;
  input.type = kResourceDefinitionType;
  input.default_namespace = kMetaNamespace;
  input.aliases = {"api-resources"};
  input.print_columns = {{"Aliases", "{.aliases[:]}"}};
  return input;
}

}  // namespace runtime::resource
