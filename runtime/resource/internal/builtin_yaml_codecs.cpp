// The built-in YAML codec: the ResourceDefinition spec in COSI's YAML shape.
#include "runtime/resource/internal/builtin_yaml_codecs.h"

#include <stdexcept>

#include "cosi/v1alpha1/meta.pb.h"

namespace runtime::resource {
namespace {

using RdSpec = cosi::resource::meta::ResourceDefinitionSpec;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

const std::string& scalar_text(const YAML::Node& n) {
  if (!n.IsScalar()) throw std::invalid_argument("expected a scalar");
  return n.Scalar();
}

YAML::Node string_list(const google::protobuf::RepeatedPtrField<std::string>& items) {
  YAML::Node seq(YAML::NodeType::Sequence);
  for (const auto& s : items) seq.push_back(yaml_text(s));
  return seq;
}

void read_string_list(const YAML::Node& n, const char* key,
                      google::protobuf::RepeatedPtrField<std::string>* out) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) throw std::invalid_argument(std::string(key) + ": expected a sequence");
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      throw std::invalid_argument(std::string(key) + "[" + std::to_string(i) +
                                  "]: expected a scalar");
    }
    out->Add(std::string(n[i].Scalar()));
  }
}

// COSI's Go struct tags: every key is always present except sensitivity, which is omitted for
// non-sensitive types and `sensitive` otherwise.
MessageYamlCodec resource_definition_codec() {
  return {
      [](const google::protobuf::Message& m) {
        const auto& spec = static_cast<const RdSpec&>(m);
        YAML::Node node(YAML::NodeType::Map);
        node["type"] = yaml_text(spec.resource_type());
        node["displayType"] = yaml_text(spec.display_type());
        node["defaultNamespace"] = yaml_text(spec.default_namespace());
        node["aliases"] = string_list(spec.aliases());
        node["allAliases"] = string_list(spec.all_aliases());
        YAML::Node columns(YAML::NodeType::Sequence);
        for (const auto& c : spec.print_columns()) {
          YAML::Node column(YAML::NodeType::Map);
          column["name"] = yaml_text(c.name());
          column["jsonPath"] = yaml_text(c.json_path());
          columns.push_back(column);
        }
        node["printColumns"] = columns;
        if (spec.sensitivity() == RdSpec::SENSITIVE) node["sensitivity"] = yaml_text("sensitive");
        return node;
      },
      [](const YAML::Node& n, google::protobuf::Message* m) {
        if (!n.IsMap()) throw std::invalid_argument("expected a map");
        auto* spec = static_cast<RdSpec*>(m);
        for (const auto& kv : n) {
          const auto& key = scalar_text(kv.first);
          const auto& v = kv.second;
          auto text = [&]() -> std::string {
            if (v.IsNull()) return {};
            if (!v.IsScalar()) throw std::invalid_argument(key + ": expected a scalar");
            return v.Scalar();
          };
          if (key == "type") {
            spec->set_resource_type(text());
          } else if (key == "displayType") {
            spec->set_display_type(text());
          } else if (key == "defaultNamespace") {
            spec->set_default_namespace(text());
          } else if (key == "aliases") {
            read_string_list(v, "aliases", spec->mutable_aliases());
          } else if (key == "allAliases") {
            read_string_list(v, "allAliases", spec->mutable_all_aliases());
          } else if (key == "printColumns") {
            if (v.IsNull()) continue;
            if (!v.IsSequence()) throw std::invalid_argument("printColumns: expected a sequence");
            for (std::size_t i = 0; i < v.size(); ++i) {
              const auto& c = v[i];
              const auto where = "printColumns[" + std::to_string(i) + "]";
              if (!c.IsMap() || !c["name"].IsScalar() || !c["jsonPath"].IsScalar()) {
                throw std::invalid_argument(where + ": expected {name, jsonPath}");
              }
              auto* column = spec->add_print_columns();
              column->set_name(c["name"].Scalar());
              column->set_json_path(c["jsonPath"].Scalar());
            }
          } else if (key == "sensitivity") {
            const auto s = text();
            if (s == "sensitive") {
              spec->set_sensitivity(RdSpec::SENSITIVE);
            } else if (!s.empty()) {
              throw std::invalid_argument("sensitivity: " + quoted(s) +
                                          " is not \"\" or \"sensitive\"");
            }
          } else if (key != "skipAutomaticAliases") {  // Go-only field, not on the wire
            throw std::invalid_argument(key + ": unknown field of " +
                                        RdSpec::descriptor()->full_name());
          }
        }
      },
  };
}

}  // namespace

std::vector<std::pair<std::string, MessageYamlCodec>> builtin_yaml_codecs() {
  std::vector<std::pair<std::string, MessageYamlCodec>> codecs;
  codecs.emplace_back(RdSpec::descriptor()->full_name(), resource_definition_codec());
  return codecs;
}

}  // namespace runtime::resource
