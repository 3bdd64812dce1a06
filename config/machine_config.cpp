// Machine config parsing and validation, as Talos does it. Shape errors
// (wrong types) name the document and the key path; validation errors use Talos's messages.
#include "config/machine_config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "config/internal/url.h"
#include "pki/x509.h"
#include "values/base64.h"
#include "values/net.h"

namespace config {
namespace {

std::string report(const std::string& source, const std::vector<std::string>& errors) {
  std::string out = source + ": " + std::to_string(errors.size()) +
                    (errors.size() == 1 ? " error occurred:\n" : " errors occurred:\n");
  for (const auto& e : errors) out += "\t* " + e + "\n";
  return out;
}

// Where a config stops being YAML text: YAML streams are printable Unicode (UTF-8 here), and
// Talos's parser refuses anything else. yaml-cpp takes such bytes into scalars, and its emitter
// writes them back differently, so `gen config` would not reproduce a cluster ID that has them.
std::optional<std::string> unprintable(std::string_view text) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < text.size(); ++column) {
    const auto b = static_cast<unsigned char>(text[i]);
    // The sequence length from the lead byte (0: not a lead byte), and the lead's payload bits.
    std::size_t length = 0;
    std::uint32_t c = 0;
    if (b < 0x80) {
      length = 1, c = b;
    } else if ((b >> 5) == 0x6) {
      length = 2, c = b & 0x1f;
    } else if ((b >> 4) == 0xe) {
      length = 3, c = b & 0x0f;
    } else if ((b >> 3) == 0x1e) {
      length = 4, c = b & 0x07;
    }
    bool ok = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = (next & 0xc0) == 0x80;
      c = (c << 6) | (next & 0x3f);
    }
    // Shortest form only, no surrogates, nothing past U+10FFFF.
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && c >= kMin[length] && c <= 0x10ffff && (c < 0xd800 || c > 0xdfff);
    const std::string where = "line " + std::to_string(line) + ", column " + std::to_string(column);
    if (!ok) return where + ": invalid UTF-8";
    // YAML's printable set: tab, line breaks, and everything visible.
    const bool printable = c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0x7e) ||
                           c == 0x85 || (c >= 0xa0 && c <= 0xd7ff) ||
                           (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    if (!printable) return where + ": control characters are not allowed";
    if (c == '\n') {
      ++line;
      column = 0;
    }
    i += length;
  }
  return std::nullopt;
}

// Every document of a YAML stream. yaml-cpp 0.7's LoadAll never returns on some malformed streams
// (a lone ',' at the top level, yaml-cpp issue 1040): its parser yields an empty document without
// consuming the offending token, forever, allocating as it goes. A first pass over the events
// refuses a stream whose next document starts where the previous one did.
std::vector<YAML::Node> load_documents(const std::string& text) {
  class DocumentStarts final : public YAML::EventHandler {
   public:
    void OnDocumentStart(const YAML::Mark& mark) override {
      if (seen_ && mark.pos == last_.pos) {
        throw YAML::ParserException(mark, "unexpected character; the document cannot be parsed");
      }
      seen_ = true;
      last_ = mark;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}

   private:
    bool seen_ = false;
    YAML::Mark last_;
  };
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  while (parser.HandleNextDocument(starts)) {
  }
  return YAML::LoadAll(text);
}

// Reads typed values out of one document, collecting shape errors with their key paths.
class Reader {
 public:
  Reader(std::string where, std::vector<std::string>& errors)
      : where_(std::move(where)), errors_(errors) {}

  // The node at a dotted path below `root`; undefined when any step is absent or null.
  YAML::Node at(const YAML::Node& root, std::string_view path) { return walk(root, path, 0); }

  bool has(const YAML::Node& root, std::string_view path) { return at(root, path).IsDefined(); }

  void read(const YAML::Node& root, std::string_view path, std::string& out) {
    auto n = at(root, path);
    if (!n.IsDefined()) return;
    if (!n.IsScalar()) return fail(path, "expected a string");
    out = n.Scalar();
  }

  void read(const YAML::Node& root, std::string_view path, bool& out) {
    auto n = at(root, path);
    if (!n.IsDefined()) return;
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      return fail(path, "expected a bool");
    }
    out = v;
  }

  void read(const YAML::Node& root, std::string_view path, unsigned& out) {
    auto n = at(root, path);
    if (!n.IsDefined()) return;
    unsigned long long v = 0;
    if (!n.IsScalar() || !YAML::convert<unsigned long long>::decode(n, v) || v > 0xffffffffULL) {
      return fail(path, "expected an unsigned integer");
    }
    out = static_cast<unsigned>(v);
  }

  void read(const YAML::Node& root, std::string_view path, std::vector<std::string>& out) {
    auto n = at(root, path);
    if (!n.IsDefined()) return;
    if (!n.IsSequence()) return fail(path, "expected a list of strings");
    out.clear();
    for (const auto& item : n) {
      if (!item.IsScalar()) return fail(path, "expected a list of strings");
      out.push_back(item.Scalar());
    }
  }

  // Each broken node is reported once, however many keys below it were looked up.
  void fail(std::string_view path, std::string_view what) {
    auto msg = where_ + ": " + std::string(path) + ": " + std::string(what);
    if (std::find(errors_.begin(), errors_.end(), msg) == errors_.end()) errors_.push_back(msg);
  }
  void error(std::string what) { errors_.push_back(where_ + ": " + what); }

 private:
  // Recursion over const nodes: yaml-cpp nodes are references (assignment overwrites the
  // referred node) and non-const indexing inserts keys.
  YAML::Node walk(const YAML::Node& n, std::string_view path, std::size_t start) {
    if (!n.IsMap()) {
      fail(path.substr(0, start == 0 ? 0 : start - 1), "expected a mapping");
      return YAML::Node(YAML::NodeType::Undefined);
    }
    auto dot = path.find('.', start);
    std::string key(path.substr(start, dot == std::string_view::npos ? path.npos : dot - start));
    const YAML::Node child = n[key];
    if (!child.IsDefined() || child.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
    if (dot == std::string_view::npos) return child;
    return walk(child, path, dot + 1);
  }

  std::string where_;
  std::vector<std::string>& errors_;
};

// `.machine.ca.crt` and `.key`: base64 of PEM; the pair must parse and belong together.
void read_os_ca(const YAML::Node& doc, Reader& r, MachineConfig& cfg) {
  if (!r.has(doc, "machine.ca")) return;
  std::string crt;
  std::string key;
  r.read(doc, "machine.ca.crt", crt);
  r.read(doc, "machine.ca.key", key);
  auto crt_pem = values::base64_decode(crt);
  auto key_pem = values::base64_decode(key);
  if (crt.empty()) return r.fail("machine.ca.crt", "is required");
  if (key.empty()) {
    return r.fail("machine.ca.key",
                  "is required (machined issues its API certificate from the OS CA)");
  }
  if (!crt_pem) return r.fail("machine.ca.crt", "failed to decode from base64");
  if (!key_pem) return r.fail("machine.ca.key", "failed to decode from base64");
  try {
    auto pair = pki::check_key_pair({*crt_pem, *key_pem}, "machine.ca");
    cfg.os_ca = OsCa{std::move(pair.cert_pem), std::move(pair.key_pem)};
  } catch (const std::runtime_error& e) {
    r.error(e.what());
  }
}

void read_v1alpha1(const YAML::Node& doc, Reader& r, MachineConfig& cfg) {
  cfg.has_v1alpha1 = true;
  cfg.has_cluster = r.has(doc, "cluster");

  std::string type;
  r.read(doc, "machine.type", type);
  if (r.has(doc, "machine.type")) {
    auto parsed = values::parse_machine_type(type);
    if (!parsed || type == "unknown") {
      r.fail("machine.type", "unknown machine type \"" + type + "\"");
    } else {
      cfg.machine_type = *parsed;
    }
  }
  r.read(doc, "machine.network.hostname", cfg.hostname);
  read_os_ca(doc, r, cfg);
  r.read(doc, "cluster.clusterName", cfg.cluster_name);
  r.read(doc, "cluster.id", cfg.legacy_cluster_id);
  r.read(doc, "cluster.secret", cfg.legacy_cluster_secret);

  if (r.has(doc, "cluster.discovery")) {
    LegacyDiscovery d;
    r.read(doc, "cluster.discovery.enabled", d.enabled);
    d.kubernetes_written = r.has(doc, "cluster.discovery.registries.kubernetes");
    r.read(doc, "cluster.discovery.registries.kubernetes.disabled", d.kubernetes_disabled);
    r.read(doc, "cluster.discovery.registries.kubernetes.kubeconfig", d.kubernetes_kubeconfig);
    r.read(doc, "cluster.discovery.registries.kubernetes.inCluster", d.kubernetes_in_cluster);
    r.read(doc, "cluster.discovery.registries.service.disabled", d.service_disabled);
    r.read(doc, "cluster.discovery.registries.service.endpoint", d.service_endpoint);
    cfg.legacy_discovery = d;
  }

  auto& ks = cfg.kubespan;
  r.read(doc, "machine.network.kubespan.enabled", ks.enabled);
  r.read(doc, "machine.network.kubespan.advertiseKubernetesNetworks",
         ks.advertise_kubernetes_networks);
  r.read(doc, "machine.network.kubespan.harvestExtraEndpoints", ks.harvest_extra_endpoints);
  bool bypass = !ks.force_routing;
  r.read(doc, "machine.network.kubespan.allowDownPeerBypass", bypass);
  ks.force_routing = !bypass;
  r.read(doc, "machine.network.kubespan.mtu", ks.mtu);
  r.read(doc, "machine.network.kubespan.filters.endpoints", ks.endpoint_filters);
  r.read(doc, "machine.network.kubespan.filters.excludeAdvertisedNetworks",
         ks.exclude_advertised_networks);
}

void read_service(const YAML::Node& doc, Reader& r, MachineConfig& cfg,
                  std::set<std::string>& names) {
  DiscoveryService s;
  r.read(doc, "name", s.name);
  r.read(doc, "endpoint", s.endpoint);
  if (s.name.empty()) {
    r.error("name is required");
  } else if (!names.insert(s.name).second) {
    r.error("duplicate DiscoveryServiceConfig name \"" + s.name + "\"");
  }
  if (s.endpoint.empty()) {
    r.error("endpoint is required");
  } else if (auto err = internal::check_endpoint(s.endpoint)) {
    r.error(*err);
  }
  cfg.service_documents.push_back(std::move(s));
}

void read_identity(const YAML::Node& doc, Reader& r, MachineConfig& cfg) {
  DiscoveryIdentity id;
  r.read(doc, "clusterID", id.cluster_id);
  r.read(doc, "clusterSecret", id.cluster_secret);
  if (id.cluster_id.empty()) r.error("clusterID is required");
  if (id.cluster_secret.empty()) {
    r.error("clusterSecret is required");
  } else if (auto key = values::base64_decode(id.cluster_secret); !key) {
    r.error("invalid clusterSecret: failed to decode from base64: " + id.cluster_secret +
            "; illegal base64 data");
  } else if (key->size() != 32) {
    r.error("invalid clusterSecret: expected 32 bytes, got " + std::to_string(key->size()) + ": " +
            id.cluster_secret);
  }
  if (!cfg.identity_document) cfg.identity_document = std::move(id);
}

void read_host(const YAML::Node& doc, Reader& r, MachineConfig& cfg) {
  r.read(doc, "nodename", cfg.nodename);
  if (r.has(doc, "addresses")) {
    std::vector<std::string> addrs;
    r.read(doc, "addresses", addrs);
    for (const auto& a : addrs) {
      try {
        values::net::prefix(a);
      } catch (const std::invalid_argument&) {
        r.fail("addresses", "\"" + a + "\" is not an IP address or prefix");
      }
    }
    cfg.addresses = std::move(addrs);
  }
  std::string mac;
  r.read(doc, "hardwareAddress", mac);
  if (!mac.empty()) {
    auto bytes = parse_mac(mac);
    if (!bytes || *bytes == std::string(6, '\0')) {
      r.fail("hardwareAddress", "\"" + mac + "\" is not a MAC address (aa:bb:cc:dd:ee:ff)");
    } else {
      cfg.hardware_address = *bytes;
    }
  }
}

// KubeSpanEndpointsConfig: an unnamed document, so a second one would silently compete.
void read_kubespan_endpoints(const YAML::Node& doc, Reader& r, MachineConfig& cfg, bool& seen) {
  if (seen) return r.error("a second KubeSpanEndpointsConfig document");
  seen = true;
  r.read(doc, "extraAnnouncedEndpoints", cfg.kubespan.extra_announced_endpoints);
  for (const auto& e : cfg.kubespan.extra_announced_endpoints) {
    try {
      values::net::ip_port(e);
    } catch (const std::invalid_argument&) {
      r.fail("extraAnnouncedEndpoints", "\"" + e + "\" is not an IP:port");
    }
  }
}

// The KubeSpan lists are checked whether or not KubeSpan is enabled (Talos checks the filters
// only when it is): a bad entry would otherwise surface as a controller error later.
void validate_kubespan(const KubeSpan& ks, std::vector<std::string>& errors) {
  for (const auto& f : ks.endpoint_filters) {
    std::string_view cidr = f;
    if (cidr.starts_with('!')) cidr.remove_prefix(1);
    try {
      values::net::prefix(cidr);
    } catch (const std::invalid_argument&) {
      errors.push_back("KubeSpan endpoint filter is not valid: \"" + std::string(cidr) + "\"");
    }
  }
  for (const auto& n : ks.exclude_advertised_networks) {
    try {
      values::net::prefix(n);
    } catch (const std::invalid_argument&) {
      errors.push_back("KubeSpan excluded advertised network is not valid: \"" + n + "\"");
    }
  }
}

// Our extension's credential source for the Kubernetes registry: exactly one, when a written
// `registries.kubernetes` block turns the registry on.
void validate_kubernetes_registry(const LegacyDiscovery& d, std::vector<std::string>& errors) {
  const std::string where = ".cluster.discovery.registries.kubernetes";
  if (!d.kubernetes_kubeconfig.empty() && d.kubernetes_in_cluster) {
    errors.push_back(where + ": set either .kubeconfig or .inCluster, not both");
  }
  if (!d.kubernetes_kubeconfig.empty() && d.kubernetes_kubeconfig.front() != '/') {
    errors.push_back(where + ".kubeconfig must be an absolute path, got \"" +
                     d.kubernetes_kubeconfig + "\"");
  }
  if (d.enabled && d.kubernetes_written && !d.kubernetes_disabled &&
      d.kubernetes_kubeconfig.empty() && !d.kubernetes_in_cluster) {
    errors.push_back("the Kubernetes registry is enabled but has no credentials: set " + where +
                     ".kubeconfig (a kubeconfig file) or " + where +
                     ".inCluster: true (the pod's service account), or disable it with " + where +
                     ".disabled: true");
  }
}

// Cross-document and legacy checks, as Talos's config container validates: conflicts between the
// legacy discovery block and the discovery documents, and the container's own checks.
void validate(const MachineConfig& cfg, std::vector<std::string>& errors) {
  if (cfg.legacy_discovery) {
    const auto& d = *cfg.legacy_discovery;
    if (d.enabled && !d.service_disabled) {
      std::string endpoint =
          d.service_endpoint.empty() ? std::string(kDefaultDiscoveryEndpoint) : d.service_endpoint;
      if (auto err = internal::check_request_uri(endpoint)) {
        errors.push_back("cluster discovery service registry endpoint is invalid: " + *err);
      } else if (auto path = internal::url_path(endpoint); !path.empty() && path != "/") {
        errors.push_back("cluster discovery service path should be empty");
      }
      if (cfg.legacy_cluster_id.empty()) {
        errors.push_back("cluster discovery service requires .cluster.id");
      }
      if (cfg.legacy_cluster_secret.empty()) {
        errors.push_back("cluster discovery service requires .cluster.secret");
      }
    }
    validate_kubernetes_registry(d, errors);
  }
  // Stricter than Talos (docs/DIFFERENCES.md): a legacy secret that cannot be an AES key is
  // refused here instead of failing later in the discovery client.
  if (!cfg.legacy_cluster_secret.empty()) {
    auto key = values::base64_decode(cfg.legacy_cluster_secret);
    if (!key) {
      errors.push_back(
          "invalid .cluster.secret: failed to decode from base64: illegal base64 data");
    } else if (key->size() != 16 && key->size() != 24 && key->size() != 32) {
      errors.push_back("invalid .cluster.secret: expected 16, 24 or 32 bytes, got " +
                       std::to_string(key->size()));
    }
  }

  if (!cfg.service_documents.empty() && cfg.legacy_discovery) {
    errors.push_back(
        "discovery service is already configured in .cluster.discovery of the v1alpha1 config");
  }
  if (cfg.identity_document &&
      (!cfg.legacy_cluster_id.empty() || !cfg.legacy_cluster_secret.empty())) {
    errors.push_back(
        "cluster identity is already configured in .cluster.id/.cluster.secret of the v1alpha1 "
        "config");
  }

  auto services = discovery_services(cfg);
  auto identity = discovery_identity(cfg);
  if (!services.empty()) {
    if (!identity || identity->cluster_id.empty()) {
      errors.push_back(
          "cluster ID (.cluster.id or DiscoveryIdentityConfig) should be set when cluster "
          "discovery (DiscoveryServiceConfig) is enabled");
    }
    if (!identity || identity->cluster_secret.empty()) {
      errors.push_back(
          "cluster secret (.cluster.secret or DiscoveryIdentityConfig) should be set when cluster "
          "discovery (DiscoveryServiceConfig) is enabled");
    }
  }
  if (cfg.kubespan.enabled && services.empty()) {
    errors.push_back("KubeSpan requires cluster discovery to be enabled");
  }
  validate_kubespan(cfg.kubespan, errors);
}

}  // namespace

Error::Error(std::string source, std::vector<std::string> errors)
    : std::runtime_error(report(source, errors)), errors_(std::move(errors)) {}

MachineConfig parse(std::string_view yaml, std::string_view source) {
  const std::string src(source);
  if (auto error = unprintable(yaml)) throw Error(src, {*error});
  std::vector<YAML::Node> docs;
  try {
    docs = load_documents(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw Error(src, {"line " + std::to_string(e.mark.line + 1) + ", column " +
                      std::to_string(e.mark.column + 1) + ": " + e.msg});
  }

  MachineConfig cfg;
  std::vector<std::string> errors;
  std::set<std::string> service_names;
  bool kubespan_endpoints_seen = false;
  int index = 0;
  for (const auto& doc : docs) {
    ++index;
    if (doc.IsNull()) continue;
    const std::string where = "document " + std::to_string(index);
    if (!doc.IsMap()) {
      errors.push_back(where + ": expected a mapping");
      continue;
    }
    Reader probe(where, errors);
    std::string version, api_version, kind;
    probe.read(doc, "version", version);
    probe.read(doc, "apiVersion", api_version);
    probe.read(doc, "kind", kind);
    if (!version.empty() && kind.empty()) {
      if (version != "v1alpha1") {
        errors.push_back(where + ": unsupported config version \"" + version + "\"");
      } else if (cfg.has_v1alpha1) {
        errors.push_back(where + ": a second v1alpha1 document");
      } else {
        Reader r(where + " (v1alpha1)", errors);
        read_v1alpha1(doc, r, cfg);
      }
      continue;
    }
    if (kind.empty()) {
      errors.push_back(where + ": neither `version` nor `kind` is set");
      continue;
    }
    if (api_version != "v1alpha1") {
      errors.push_back(where + " (" + kind + "): unsupported apiVersion \"" + api_version + "\"");
      continue;
    }
    Reader r(where + " (" + kind + ")", errors);
    if (kind == "DiscoveryServiceConfig") {
      read_service(doc, r, cfg, service_names);
    } else if (kind == "DiscoveryIdentityConfig") {
      read_identity(doc, r, cfg);
    } else if (kind == "HostConfig") {
      read_host(doc, r, cfg);
    } else if (kind == "KubeSpanEndpointsConfig") {
      read_kubespan_endpoints(doc, r, cfg, kubespan_endpoints_seen);
    } else {
      cfg.ignored_kinds.push_back(kind);
    }
  }
  if (errors.empty()) validate(cfg, errors);
  if (!errors.empty()) throw Error(src, std::move(errors));
  return cfg;
}

MachineConfig load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, {"cannot read the file"});
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(path, {"cannot read the file"});
  return parse(text.str(), path);
}

std::vector<DiscoveryService> discovery_services(const MachineConfig& cfg) {
  if (cfg.has_v1alpha1 && cfg.has_cluster && cfg.legacy_discovery) {
    const auto& d = *cfg.legacy_discovery;
    if (d.enabled && !d.service_disabled) {
      return {DiscoveryService{"legacy", d.service_endpoint.empty()
                                             ? std::string(kDefaultDiscoveryEndpoint)
                                             : d.service_endpoint}};
    }
  }
  return cfg.service_documents;
}

std::optional<DiscoveryIdentity> discovery_identity(const MachineConfig& cfg) {
  if (!cfg.legacy_cluster_id.empty() || !cfg.legacy_cluster_secret.empty()) {
    return DiscoveryIdentity{cfg.legacy_cluster_id, cfg.legacy_cluster_secret};
  }
  return cfg.identity_document;
}

std::optional<KubernetesRegistry> kubernetes_registry(const MachineConfig& cfg) {
  if (!cfg.legacy_discovery) return std::nullopt;
  const auto& d = *cfg.legacy_discovery;
  if (!d.enabled || d.kubernetes_disabled) return std::nullopt;
  if (d.kubernetes_kubeconfig.empty() && !d.kubernetes_in_cluster) return std::nullopt;
  return KubernetesRegistry{d.kubernetes_kubeconfig};
}

bool kubernetes_registry_enabled(const MachineConfig& cfg) {
  return kubernetes_registry(cfg).has_value();
}

Endpoint normalize_endpoint(std::string_view url) { return internal::normalize(url); }

std::optional<std::string> parse_mac(std::string_view text) {
  // Six two-digit hex groups, one separator kind throughout: the forms `ip link` and Windows print.
  if (text.size() != 17) return std::nullopt;
  const char sep = text[2];
  if (sep != ':' && sep != '-') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t at = i * 3;
    if (i > 0 && text[at - 1] != sep) return std::nullopt;
    int hi = hex(text[at]), lo = hex(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace config
