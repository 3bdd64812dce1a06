// Config generation: a v1alpha1 document (machine type, OS CA, cluster name),
// DiscoveryServiceConfig "default", DiscoveryIdentityConfig, and a HostConfig when host facts are
// given.
#include "config/generate.h"

#include <openssl/rand.h>
#include <yaml-cpp/yaml.h>

#include <stdexcept>

#include "pki/x509.h"
#include "values/base64.h"

namespace config {
namespace {

std::string random_base64(std::size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("generate config: the random number generator failed");
  }
  return values::base64_encode(bytes);
}

std::string emit(const YAML::Node& doc) {
  YAML::Emitter out;
  out << doc;
  return std::string(out.c_str()) + "\n";
}

}  // namespace

DiscoveryIdentity generate_identity() { return {random_base64(32), random_base64(32)}; }

OsCa generate_os_ca() {
  auto ca = pki::generate_ca("talos");
  return {std::move(ca.cert_pem), std::move(ca.key_pem)};
}

std::string generate(const GenerateOptions& opts) {
  YAML::Node v1;
  v1["version"] = "v1alpha1";
  v1["machine"]["type"] = std::string(values::machine_type_text(opts.machine_type));
  const OsCa ca = opts.os_ca ? *opts.os_ca : generate_os_ca();
  v1["machine"]["ca"]["crt"] = values::base64_encode(ca.cert_pem);
  v1["machine"]["ca"]["key"] = values::base64_encode(ca.key_pem);
  if (!opts.hostname.empty()) v1["machine"]["network"]["hostname"] = opts.hostname;
  if (opts.kubespan) v1["machine"]["network"]["kubespan"]["enabled"] = true;
  v1["cluster"]["clusterName"] = opts.cluster_name;

  YAML::Node svc;
  svc["apiVersion"] = "v1alpha1";
  svc["kind"] = "DiscoveryServiceConfig";
  svc["name"] = "default";
  svc["endpoint"] = opts.discovery_endpoint;

  auto identity = opts.identity ? *opts.identity : generate_identity();
  YAML::Node id;
  id["apiVersion"] = "v1alpha1";
  id["kind"] = "DiscoveryIdentityConfig";
  id["clusterID"] = identity.cluster_id;
  id["clusterSecret"] = identity.cluster_secret;

  std::string text = emit(v1) + "---\n" + emit(svc) + "---\n" + emit(id);
  if (!opts.nodename.empty() || !opts.addresses.empty() || !opts.hardware_address.empty()) {
    YAML::Node host;
    host["apiVersion"] = "v1alpha1";
    host["kind"] = "HostConfig";
    if (!opts.nodename.empty()) host["nodename"] = opts.nodename;
    for (const auto& a : opts.addresses) host["addresses"].push_back(a);
    if (!opts.hardware_address.empty()) host["hardwareAddress"] = opts.hardware_address;
    text += "---\n" + emit(host);
  }
  parse(text, "generated config");  // refuses options that would not load
  return text;
}

}  // namespace config
