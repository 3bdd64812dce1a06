#include "nodectl/talosconfig.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "values/base64.h"

namespace nodectl {
namespace {

constexpr std::uintmax_t kMaxBytes = 1 << 20;

std::vector<std::string> string_list(const YAML::Node& node, const std::string& where) {
  std::vector<std::string> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) throw std::runtime_error(where + ": expected a list of strings");
  for (const auto& item : node) {
    if (!item.IsScalar()) throw std::runtime_error(where + ": expected a list of strings");
    out.push_back(item.Scalar());
  }
  return out;
}

std::string pem_field(const YAML::Node& node, const std::string& where) {
  if (!node.IsDefined() || node.IsNull()) return {};
  if (!node.IsScalar()) throw std::runtime_error(where + ": expected a string");
  auto pem = values::base64_decode(node.Scalar());
  if (!pem) throw std::runtime_error(where + ": failed to decode from base64");
  return *pem;
}

}  // namespace

TalosConfig parse_talosconfig(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(source + ": " + e.what());
  }
  if (!root.IsMap()) throw std::runtime_error(source + ": expected a mapping");
  TalosConfig cfg;
  if (const auto ctx = root["context"]; ctx.IsDefined() && !ctx.IsNull()) {
    if (!ctx.IsScalar()) throw std::runtime_error(source + ": context: expected a string");
    cfg.context = ctx.Scalar();
  }
  const auto contexts = root["contexts"];
  if (contexts.IsDefined() && !contexts.IsNull()) {
    if (!contexts.IsMap()) throw std::runtime_error(source + ": contexts: expected a mapping");
    for (const auto& entry : contexts) {
      const std::string name = entry.first.Scalar();
      const std::string where = source + ": contexts." + name;
      if (!entry.second.IsMap()) throw std::runtime_error(where + ": expected a mapping");
      TalosContext c;
      c.endpoints = string_list(entry.second["endpoints"], where + ".endpoints");
      c.nodes = string_list(entry.second["nodes"], where + ".nodes");
      c.ca_pem = pem_field(entry.second["ca"], where + ".ca");
      c.crt_pem = pem_field(entry.second["crt"], where + ".crt");
      c.key_pem = pem_field(entry.second["key"], where + ".key");
      cfg.contexts.emplace(name, std::move(c));
    }
  }
  return cfg;
}

TalosConfig load_talosconfig(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw std::runtime_error("talosconfig " + path.string() + ": " + ec.message());
  if (size > kMaxBytes) {
    throw std::runtime_error("talosconfig " + path.string() + ": larger than 1 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw std::runtime_error("talosconfig " + path.string() + ": cannot read");
  return parse_talosconfig(text.str(), path.string());
}

std::string render_talosconfig(const TalosConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "context" << YAML::Value << config.context;
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, c] : config.contexts) {
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "endpoints" << YAML::Value << c.endpoints;
    if (!c.nodes.empty()) out << YAML::Key << "nodes" << YAML::Value << c.nodes;
    out << YAML::Key << "ca" << YAML::Value << values::base64_encode(c.ca_pem);
    out << YAML::Key << "crt" << YAML::Value << values::base64_encode(c.crt_pem);
    out << YAML::Key << "key" << YAML::Value << values::base64_encode(c.key_pem);
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::filesystem::path default_talosconfig_path() {
  if (const char* env = std::getenv("TALOSCONFIG"); env != nullptr && *env != '\0') return env;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".talos" / "config";
  }
  return {};
}

}  // namespace nodectl
