// Machine configs for tests and benchmarks that run machined with an OS CA (mutual TLS on its API).
#pragma once

#include <string>

#include "pki/x509.h"
#include "values/base64.h"

namespace tds::test {

// A worker config with `ca` as its OS CA and nothing that reaches the network.
inline std::string config_with_ca(const pki::KeyPair& ca, const std::string& hostname = "") {
  std::string text = "version: v1alpha1\nmachine:\n  type: worker\n  ca:\n    crt: " +
                     values::base64_encode(ca.cert_pem) +
                     "\n    key: " + values::base64_encode(ca.key_pem) + "\n";
  if (!hostname.empty()) text += "  network:\n    hostname: " + hostname + "\n";
  return text + "cluster:\n  clusterName: nodes\n";
}

}  // namespace tds::test
