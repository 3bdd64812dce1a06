// Built-in YAML codecs: IP address types as text (like Go's netip) and the ResourceDefinition spec
// in COSI's YAML shape.
#include "runtime/resource/internal/builtin_yaml_codecs.h"

#include <arpa/inet.h>

#include <charconv>
#include <optional>
#include <stdexcept>

#include "common/common.pb.h"
#include "cosi/v1alpha1/meta.pb.h"

namespace runtime::resource {
namespace {

using RdSpec = cosi::resource::meta::ResourceDefinitionSpec;

// Zero-length bytes are the zero address and render empty, as Go's netip.Addr{} does.
std::string ip_to_text(const std::string& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip.empty()) return {};
  if (ip.size() == 4 && inet_ntop(AF_INET, ip.data(), buf, sizeof(buf))) return buf;
  if (ip.size() == 16 && inet_ntop(AF_INET6, ip.data(), buf, sizeof(buf))) return buf;
  return "<invalid address of " + std::to_string(ip.size()) + " bytes>";
}

std::optional<std::string> parse_ip(const std::string& text) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return std::string(buf, buf + 4);
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return std::string(buf, buf + 16);
  return std::nullopt;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

const std::string& scalar_text(const YAML::Node& n) {
  if (!n.IsScalar()) throw std::invalid_argument("expected a scalar");
  return n.Scalar();
}

std::string parse_ip_or_throw(const std::string& text, const std::string& whole) {
  auto ip = parse_ip(text);
  if (!ip) throw std::invalid_argument(quoted(whole) + " is not an IP address");
  return *ip;
}

int parse_number_in(std::string_view text, int max, const std::string& whole, const char* what) {
  int v = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0 || v > max) {
    throw std::invalid_argument(quoted(whole) + " has an invalid " + what);
  }
  return v;
}

MessageYamlCodec net_ip_codec() {
  return {
      [](const google::protobuf::Message& m) {
        return yaml_text(ip_to_text(static_cast<const common::NetIP&>(m).ip()));
      },
      [](const YAML::Node& n, google::protobuf::Message* m) {
        const auto& text = scalar_text(n);
        if (text.empty()) return;
        static_cast<common::NetIP*>(m)->set_ip(parse_ip_or_throw(text, text));
      },
  };
}

MessageYamlCodec net_ip_prefix_codec() {
  return {
      [](const google::protobuf::Message& m) {
        const auto& p = static_cast<const common::NetIPPrefix&>(m);
        if (p.ip().empty()) return yaml_text("");
        return yaml_text(ip_to_text(p.ip()) + "/" + std::to_string(p.prefix_length()));
      },
      [](const YAML::Node& n, google::protobuf::Message* m) {
        const auto& text = scalar_text(n);
        if (text.empty()) return;
        const auto slash = text.find('/');
        if (slash == std::string::npos) {
          throw std::invalid_argument(quoted(text) + " is not an IP prefix (address/length)");
        }
        auto ip = parse_ip_or_throw(text.substr(0, slash), text);
        const int bits = parse_number_in(std::string_view(text).substr(slash + 1),
                                         ip.size() == 4 ? 32 : 128, text, "prefix length");
        auto* p = static_cast<common::NetIPPrefix*>(m);
        p->set_ip(std::move(ip));
        p->set_prefix_length(bits);
      },
  };
}

MessageYamlCodec net_ip_port_codec() {
  return {
      [](const google::protobuf::Message& m) {
        const auto& p = static_cast<const common::NetIPPort&>(m);
        if (p.ip().empty()) return yaml_text("");
        const auto ip = ip_to_text(p.ip());
        const auto host = p.ip().size() == 16 ? "[" + ip + "]" : ip;
        return yaml_text(host + ":" + std::to_string(p.port()));
      },
      [](const YAML::Node& n, google::protobuf::Message* m) {
        const auto& text = scalar_text(n);
        if (text.empty()) return;
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) {
          throw std::invalid_argument(quoted(text) + " is not an address:port");
        }
        std::string host = text.substr(0, colon);
        const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
        if (bracketed) host = host.substr(1, host.size() - 2);
        auto ip = parse_ip_or_throw(host, text);
        // IPv6 needs brackets (as in Go's netip.ParseAddrPort), IPv4 must not have them.
        if ((ip.size() == 16) != bracketed) {
          throw std::invalid_argument(quoted(text) + " is not an address:port");
        }
        const int port =
            parse_number_in(std::string_view(text).substr(colon + 1), 65535, text, "port");
        auto* p = static_cast<common::NetIPPort*>(m);
        p->set_ip(std::move(ip));
        p->set_port(port);
      },
  };
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
  codecs.emplace_back(common::NetIP::descriptor()->full_name(), net_ip_codec());
  codecs.emplace_back(common::NetIPPrefix::descriptor()->full_name(), net_ip_prefix_codec());
  codecs.emplace_back(common::NetIPPort::descriptor()->full_name(), net_ip_port_codec());
  codecs.emplace_back(RdSpec::descriptor()->full_name(), resource_definition_codec());
  return codecs;
}

}  // namespace runtime::resource
