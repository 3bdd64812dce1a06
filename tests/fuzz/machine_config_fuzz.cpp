// libFuzzer target: the machine config file (multi-document YAML: v1alpha1, the discovery
// documents, HostConfig, KubeSpanEndpointsConfig) through parsing and validation, then what the
// controllers derive from an accepted config. The first byte picks the surface:
//   0-5: the config text (the rest of the input)
//   6: an endpoint URL (normalize_endpoint);  7: a MAC address
// An accepted config must be usable as accepted: its discovery endpoints normalize, its identity
// gives an AES key, its lists parse, and `nodectl gen config` with its values writes a config that
// parses back to them.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "config/generate.h"
#include "config/machine_config.h"
#include "tests/fuzz/fuzz_input.h"
#include "values/base64.h"
#include "values/net.h"

namespace {

using fuzz::check;
using fuzz::fail;

std::string mac_text(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) out += ':';
    const auto b = static_cast<unsigned char>(bytes[i]);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

void usable(const config::MachineConfig& cfg) {
  const auto services = config::discovery_services(cfg);
  const auto identity = config::discovery_identity(cfg);
  for (const auto& s : services) {
    try {
      const auto endpoint = config::normalize_endpoint(s.endpoint);
      check(!endpoint.host_port.empty(), "a normalized endpoint has a host and port");
    } catch (const std::invalid_argument& e) {
      fail("an accepted discovery endpoint normalizes", s.endpoint + ": " + e.what());
    }
  }
  if (!services.empty()) {
    check(identity.has_value() && !identity->cluster_id.empty(),
          "enabled discovery has a cluster ID");
    const auto key = values::base64_decode(identity->cluster_secret);
    check(key && (key->size() == 16 || key->size() == 24 || key->size() == 32),
          "enabled discovery has an AES key", identity->cluster_secret);
  }
  for (const auto& f : cfg.kubespan.endpoint_filters) {
    std::string_view cidr = f;
    if (cidr.starts_with('!')) cidr.remove_prefix(1);
    try {
      values::net::prefix(cidr);
    } catch (const std::invalid_argument&) {
      fail("an accepted endpoint filter parses", f);
    }
  }
  for (const auto& n : cfg.kubespan.exclude_advertised_networks) {
    try {
      values::net::prefix(n);
    } catch (const std::invalid_argument&) {
      fail("an accepted excluded network parses", n);
    }
  }
  for (const auto& e : cfg.kubespan.extra_announced_endpoints) {
    try {
      values::net::ip_port(e);
    } catch (const std::invalid_argument&) {
      fail("an accepted extra endpoint parses", e);
    }
  }
  if (cfg.addresses) {
    for (const auto& a : *cfg.addresses) {
      try {
        values::net::prefix(a);
      } catch (const std::invalid_argument&) {
        fail("an accepted host address parses", a);
      }
    }
  }
  if (!cfg.hardware_address.empty()) {
    check(cfg.hardware_address.size() == 6, "a hardware address is 6 bytes");
    check(config::parse_mac(mac_text(cfg.hardware_address)) == cfg.hardware_address,
          "a hardware address prints and parses back");
  }
  if (const auto registry = config::kubernetes_registry(cfg)) {
    check(registry->kubeconfig.empty() || registry->kubeconfig.front() == '/',
          "a kubeconfig path is absolute", registry->kubeconfig);
  }
}

// `nodectl gen config` with the values of an accepted config: what it writes parses back to them.
void regenerate(const config::MachineConfig& cfg) {
  const auto services = config::discovery_services(cfg);
  const auto identity = config::discovery_identity(cfg);
  if (services.empty() || !identity || cfg.cluster_name.empty()) return;
  const auto key = values::base64_decode(identity->cluster_secret);
  if (!key || key->size() != 32) return;  // generated identities are 32 bytes
  config::GenerateOptions opts;
  opts.cluster_name = cfg.cluster_name;
  opts.discovery_endpoint = services.front().endpoint;
  if (cfg.machine_type != values::MachineType{}) opts.machine_type = cfg.machine_type;
  opts.hostname = cfg.hostname;
  opts.nodename = cfg.nodename;
  if (cfg.addresses) opts.addresses = *cfg.addresses;
  if (!cfg.hardware_address.empty()) opts.hardware_address = mac_text(cfg.hardware_address);
  opts.kubespan = cfg.kubespan.enabled;
  opts.identity = identity;
  std::string text;
  try {
    text = config::generate(opts);
  } catch (const config::Error& e) {
    fail("generating from an accepted config's values succeeds", e.what());
  }
  config::MachineConfig back;
  try {
    back = config::parse(text, "generated");
  } catch (const config::Error& e) {
    fail("a generated config parses", std::string(e.what()) + "\n" + text);
  }
  check(back.cluster_name == cfg.cluster_name, "the cluster name survives", text);
  check(back.hostname == cfg.hostname, "the hostname survives", text);
  check(back.nodename == cfg.nodename, "the nodename survives", text);
  check(back.hardware_address == cfg.hardware_address, "the hardware address survives", text);
  check(back.kubespan.enabled == cfg.kubespan.enabled, "the KubeSpan switch survives", text);
  check(back.machine_type == opts.machine_type, "the machine type survives", text);
  if (cfg.addresses && !cfg.addresses->empty()) {
    check(back.addresses == cfg.addresses, "the host addresses survive", text);
  }
  const auto back_identity = config::discovery_identity(back);
  check(back_identity && back_identity->cluster_id == identity->cluster_id &&
            back_identity->cluster_secret == identity->cluster_secret,
        "the identity survives", text);
  const auto back_services = config::discovery_services(back);
  check(back_services.size() == 1 && back_services.front().endpoint == opts.discovery_endpoint,
        "the discovery endpoint survives", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t mode = in.u8() % 8;
  const std::string text = in.rest();
  if (mode == 6) {
    try {
      const auto e = config::normalize_endpoint(text);
      const auto again =
          config::normalize_endpoint((e.insecure ? "http://" : "https://") + e.host_port);
      check(again.host_port == e.host_port && again.insecure == e.insecure,
            "a normalized endpoint normalizes to itself", text);
    } catch (const std::invalid_argument&) {
    }
    return 0;
  }
  if (mode == 7) {
    if (const auto mac = config::parse_mac(text)) {
      check(mac->size() == 6, "a MAC address is 6 bytes", text);
      check(config::parse_mac(mac_text(*mac)) == mac, "a MAC address prints and parses back");
    }
    return 0;
  }
  config::MachineConfig cfg;
  try {
    cfg = config::parse(text, "fuzz.yaml");
  } catch (const config::Error& e) {
    check(!e.errors().empty(), "a refused config says why");
    return 0;
  }
  usable(cfg);
  regenerate(cfg);
  return 0;
}
