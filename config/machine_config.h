// The machine config file: a multi-document YAML with Talos's legacy v1alpha1 document, the
// DiscoveryServiceConfig / DiscoveryIdentityConfig documents and our HostConfig extension,
// parsed into a typed value and validated as Talos validates it.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "values/machine_type.h"

namespace config {

// Talos's built-in discovery endpoint, the legacy block's default.
inline constexpr std::string_view kDefaultDiscoveryEndpoint = "https://discovery.talos.dev/";

// A config that does not parse or validate. what() is the whole report (file name, then every
// error); errors() holds the single messages.
class Error : public std::runtime_error {
 public:
  Error(std::string source, std::vector<std::string> errors);
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

struct DiscoveryService {
  std::string name;      // "legacy" for the v1alpha1 block
  std::string endpoint;  // URL as written
};

struct DiscoveryIdentity {
  std::string cluster_id;      // opaque, sent verbatim
  std::string cluster_secret;  // base64 (standard encoding)
};

// `.cluster.discovery` of the v1alpha1 document; its mere presence matters (conflicts).
struct LegacyDiscovery {
  bool enabled = false;
  bool kubernetes_disabled = false;
  bool kubernetes_written = false;  // `registries.kubernetes` is in the file
  // Where the Kubernetes registry finds its credentials (our extension: Talos always uses the
  // kubelet's kubeconfig): a kubeconfig file, or the pod's service account.
  std::string kubernetes_kubeconfig;
  bool kubernetes_in_cluster = false;
  bool service_disabled = false;
  std::string service_endpoint;  // empty: kDefaultDiscoveryEndpoint
};

// `.machine.network.kubespan`.
struct KubeSpan {
  bool enabled = false;
  bool advertise_kubernetes_networks = false;
  bool harvest_extra_endpoints = false;
  bool force_routing = true;  // Talos's default: allowDownPeerBypass false
  unsigned mtu = 1420;
  std::vector<std::string> endpoint_filters;             // CIDRs or IPs, "!" negates
  std::vector<std::string> exclude_advertised_networks;  // CIDRs or IPs
  // KubeSpanEndpointsConfig document: "ip:port" endpoints announced besides the found ones.
  std::vector<std::string> extra_announced_endpoints;
};

// `.machine.ca`: the cluster's OS certificate authority, PEM (base64 in the file, as Talos writes
// it). machined's TCP API requires client certificates it signed and serves with a certificate
// it issues from it, so the key is required (a Talos worker gets its certificate from trustd
// instead; machined has no trustd).
struct OsCa {
  std::string cert_pem;
  std::string key_pem;

  bool operator==(const OsCa&) const = default;
};

struct MachineConfig {
  bool has_v1alpha1 = false;  // a `version: v1alpha1` document exists
  bool has_cluster = false;   // ... and it has a `cluster:` section

  values::MachineType machine_type{};  // .machine.type; unknown when absent
  std::string hostname;                // .machine.network.hostname
  std::optional<OsCa> os_ca;           // .machine.ca; checked: both parse and match
  std::string cluster_name;            // .cluster.clusterName
  std::string legacy_cluster_id;       // .cluster.id
  std::string legacy_cluster_secret;   // .cluster.secret
  std::optional<LegacyDiscovery> legacy_discovery;
  KubeSpan kubespan;

  std::vector<DiscoveryService> service_documents;     // DiscoveryServiceConfig, in order
  std::optional<DiscoveryIdentity> identity_document;  // the first DiscoveryIdentityConfig

  // HostConfig extension (docs/CONFIGURATION.md): facts a generic Linux host cannot learn the
  // way Talos does.
  std::string nodename;                               // empty: the hostname
  std::optional<std::vector<std::string>> addresses;  // IPs or prefixes; null: the host's
  std::string hardware_address;  // 6 bytes, the KubeSpan address's MAC; empty: the host's first

  std::vector<std::string> ignored_kinds;  // documents of kinds this program does not use
};

// A MAC address as "aa:bb:cc:dd:ee:ff" (or with '-'): 6 bytes; null otherwise.
std::optional<std::string> parse_mac(std::string_view text);

// Parses and validates. `source` names the input in errors (the file name). Throws Error.
MachineConfig parse(std::string_view yaml, std::string_view source);

// Reads and parses a file. Throws Error (unreadable files included).
MachineConfig load_file(const std::string& path);

// Resolution as Talos's config container does it: the discovery documents win over the legacy
// block, and the identity document over the legacy cluster ID and secret.
std::vector<DiscoveryService> discovery_services(const MachineConfig& cfg);
std::optional<DiscoveryIdentity> discovery_identity(const MachineConfig& cfg);

// The Kubernetes registry's credentials, when it runs: Talos's switch (on with the legacy block
// enabled unless `registries.kubernetes.disabled`) and a credential source configured. Without
// one the registry is off (validation refuses a `registries.kubernetes` block that enables it
// without one; Talos would wait for a kubelet that a generic host does not have).
struct KubernetesRegistry {
  std::string kubeconfig;  // absolute path; empty: in-cluster

  bool operator==(const KubernetesRegistry&) const = default;
};
std::optional<KubernetesRegistry> kubernetes_registry(const MachineConfig& cfg);
bool kubernetes_registry_enabled(const MachineConfig& cfg);

struct Endpoint {
  std::string host_port;  // "host:port", IPv6 bracketed
  bool insecure = false;  // http://
};

// Talos's NormalizeEndpoint: port 80 for http, 443 otherwise; path and query dropped. Throws
// std::invalid_argument with Talos's message.
Endpoint normalize_endpoint(std::string_view url);

}  // namespace config
