// X.509 certificates for the node API's mutual TLS, as Talos issues them: an OS certificate
// authority per cluster, node serving certificates and client certificates whose subject
// Organization names the holder's roles (os:admin, os:reader, ...). Everything is PEM text;
// keys are Ed25519 in PKCS#8, like Talos's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pki {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

enum class Usage : std::uint8_t { kServer, kClient, kServerAndClient };

struct CertificateRequest {
  std::string common_name{};
  std::vector<std::string> organizations{};  // Talos reads roles from these
  std::vector<std::string> dns_names{};      // subject alternative names
  std::vector<std::string> ip_addresses{};   // subject alternative names, IPv4 or IPv6 text
  Usage usage = Usage::kServer;
  int days = 365;
};

// A new self-signed CA (Ed25519), valid from an hour ago for `days`, with `organization` in its
// subject as Talos's OS CA has ("talos").
KeyPair generate_ca(const std::string& organization, int days = 3650);

// A new Ed25519 key and a certificate for it signed by `ca`. The certificate never outlives the
// CA. Throws std::runtime_error when the CA does not parse or the request is bad (an address
// that is not an IP).
KeyPair issue(const KeyPair& ca, const CertificateRequest& request);

// A self-signed serving certificate, for a listener that has no CA: for `key_pem` when given
// (a key kept from before), else for a new P-256 key.
KeyPair generate_self_signed(const CertificateRequest& request, std::string_view key_pem = {});

// Checks that both parse and that the key belongs to the certificate; `source` names them in
// the error. Keys labelled "ED25519 PRIVATE KEY" (Talos writes Ed25519 keys so) are accepted.
// Returns the pair with the key in standard PKCS#8 PEM, which OpenSSL and gRPC read. Throws
// std::runtime_error.
KeyPair check_key_pair(KeyPair pair, std::string_view source);

// The subject Organization values of the first certificate in `cert_pem`, in order; empty when it
// has none. Throws std::runtime_error when it does not parse.
std::vector<std::string> subject_organizations(std::string_view cert_pem);

}  // namespace pki
