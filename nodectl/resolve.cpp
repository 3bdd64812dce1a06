// Alias resolution over ResourceDefinition resources.
#include "nodectl/resolve.h"

#include <algorithm>
#include <cctype>

#include "cosi/v1alpha1/meta.pb.h"

namespace nodectl {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

ResolvedType resolve_type(const std::vector<runtime::resource::ResourcePtr>& definitions,
                          std::string_view name) {
  const std::string wanted = lower(name);
  std::vector<ResolvedType> matches;
  for (const auto& rd : definitions) {
    cosi::resource::meta::ResourceDefinitionSpec spec;
    if (!rd || !rd->spec || !spec.ParseFromString(rd->spec->proto_bytes())) {
      throw ResolveError("resource definition \"" + (rd ? rd->metadata.id : std::string()) +
                         "\" has a malformed spec");
    }
    bool match = lower(rd->metadata.id) == wanted;
    for (const auto& alias : spec.all_aliases()) match = match || lower(alias) == wanted;
    if (!match) continue;
    ResolvedType t{spec.resource_type(), spec.display_type(), spec.default_namespace(), {}};
    for (const auto& col : spec.print_columns()) {
      t.print_columns.push_back({col.name(), col.json_path()});
    }
    matches.push_back(std::move(t));
  }
  if (matches.empty())
    throw ResolveError("resource \"" + std::string(name) + "\" is not registered");
  if (matches.size() > 1) {
    std::string list;
    for (const auto& m : matches) list += (list.empty() ? "" : " ") + m.type;
    throw ResolveError("resource type \"" + std::string(name) + "\" is ambiguous: [" + list + "]");
  }
  return std::move(matches.front());
}

}  // namespace nodectl
