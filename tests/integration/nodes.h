// What the machined process tests share: running nodectl, and machine configs with an OS CA.
// NODECTL_BIN is defined by the test's CMake target.
#pragma once

#include <string>
#include <vector>

#include "pki/x509.h"
#include "tests/support/child_process.h"
#include "values/base64.h"

namespace tds::test {

inline RunResult nodectl(std::vector<std::string> args) {
  args.insert(args.begin(), NODECTL_BIN);
  return run_to_exit(std::move(args), std::chrono::seconds(30));
}

// A worker config with `ca` as its OS CA and nothing that reaches the network.
inline std::string config_with_ca(const pki::KeyPair& ca, const std::string& hostname = "") {
  std::string text = "version: v1alpha1\nmachine:\n  type: worker\n  ca:\n    crt: " +
                     values::base64_encode(ca.cert_pem) +
                     "\n    key: " + values::base64_encode(ca.key_pem) + "\n";
  if (!hostname.empty()) text += "  network:\n    hostname: " + hostname + "\n";
  return text + "cluster:\n  clusterName: nodes\n";
}

}  // namespace tds::test
