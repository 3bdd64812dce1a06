// Where a Kubernetes API client gets its server and identity: a kubeconfig file (as kubectl reads
// it) or the pod's in-cluster service-account files.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace kubernetes {

struct Credentials {
  std::string server;  // "https://host:port" (no trailing slash); http:// is refused
  std::string ca_pem;  // roots to trust; empty: the system's
  bool insecure_skip_verify = false;
  std::string client_cert_pem;  // client-certificate authentication (both or neither)
  std::string client_key_pem;
  std::string token;  // bearer token (kubeconfig `token`/`tokenFile`, service account)
  // When set, the token is read again from this file before each request, because the kubelet
  // rotates projected service-account tokens; a failed read keeps the last token.
  std::filesystem::path token_file;
  // One line naming the credential for errors, e.g.
  // "kubeconfig /etc/k.yaml, context admin@c, user admin (client certificate CN=admin)" or
  // "in-cluster service account token /var/run/secrets/kubernetes.io/serviceaccount/token".
  std::string description;
  // The credential is a kubelet's (client certificate CN or token user `system:node:<name>`),
  // so the Node authorizer limits it; empty otherwise.
  std::string node_user;
};

// A kubeconfig or service-account file that cannot be used: the message names the file and what
// is wrong with it, in one line.
class CredentialsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads a kubeconfig: `context` (empty: current-context) picks the cluster and user. Supports
// certificate-authority(-data), insecure-skip-tls-verify, client-certificate(-data) with
// client-key(-data), token and tokenFile; relative file paths are relative to the kubeconfig's
// directory. Exec and auth-provider plugins are refused by name. Throws CredentialsError.
Credentials load_kubeconfig(const std::filesystem::path& path, const std::string& context = {});

// The credentials a pod gets: KUBERNETES_SERVICE_HOST/PORT from the environment and token and
// ca.crt under `dir`. Throws CredentialsError naming what is missing.
inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";
Credentials load_in_cluster(const std::filesystem::path& dir = kServiceAccountDir);

}  // namespace kubernetes
