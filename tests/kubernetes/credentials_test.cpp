// Kubeconfig and in-cluster loading: each credential kind, context selection, relative paths,
// and one clear line naming the file for each kind of bad file.
#include "kubernetes/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "tests/kubernetes/support.h"
#include "values/base64.h"

namespace kubernetes {
namespace {

using test::TempDir;
using ::testing::HasSubstr;

const test::TestPki& pki() {
  static const test::TestPki instance;
  return instance;
}

std::string b64(const std::string& text) { return values::base64_encode(text); }

// A kubeconfig with one cluster, context and user; `cluster` and `user` are the YAML bodies,
// indented by the caller to sit under `cluster:` and `user:`.
std::string kubeconfig(const std::string& cluster, const std::string& user,
                       const std::string& current = "admin@test") {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "current-context: " +
         current +
         "\n"
         "clusters:\n"
         "- name: test\n"
         "  cluster:\n" +
         cluster +
         "contexts:\n"
         "- name: admin@test\n"
         "  context:\n"
         "    cluster: test\n"
         "    user: admin\n"
         "users:\n"
         "- name: admin\n"
         "  user:\n" +
         user;
}

std::string server_with_ca() {
  return "    server: https://127.0.0.1:6443\n"
         "    certificate-authority-data: " +
         b64(pki().ca.cert) + "\n";
}

// The CredentialsError message of loading `text` as a kubeconfig, or "" when it loads.
std::string load_error(const TempDir& dir, const std::string& text,
                       const std::string& context = "") {
  const auto path = dir.write("config", text);
  try {
    load_kubeconfig(path, context);
  } catch (const CredentialsError& e) {
    return e.what();
  }
  return "";
}

TEST(Kubeconfig, Token) {
  TempDir dir;
  const auto path = dir.write("config", kubeconfig(server_with_ca(), "    token: abc.def\n"));
  const Credentials c = load_kubeconfig(path);
  EXPECT_EQ(c.server, "https://127.0.0.1:6443");
  EXPECT_EQ(c.ca_pem, pki().ca.cert);
  EXPECT_EQ(c.token, "abc.def");
  EXPECT_TRUE(c.token_file.empty());
  EXPECT_TRUE(c.client_cert_pem.empty());
  EXPECT_FALSE(c.insecure_skip_verify);
  EXPECT_EQ(c.description,
            "kubeconfig " + path.string() + ", context admin@test, user admin (token)");
  EXPECT_EQ(c.node_user, "");
}

TEST(Kubeconfig, TokenFileRelativeToTheKubeconfig) {
  TempDir dir;
  dir.write("kube/secrets/token", "  file-token\n");
  const auto path =
      dir.write("kube/config", kubeconfig(server_with_ca(), "    tokenFile: secrets/token\n"));
  const Credentials c = load_kubeconfig(path);
  EXPECT_EQ(c.token, "file-token");
  EXPECT_EQ(c.token_file, dir.path() / "kube/secrets/token");
  EXPECT_THAT(c.description,
              HasSubstr("(token file " + (dir.path() / "kube/secrets/token").string()));
}

TEST(Kubeconfig, ClientCertificateDataOfANode) {
  TempDir dir;
  const auto path = dir.write(
      "config", kubeconfig(server_with_ca(),
                           "    client-certificate-data: " + b64(pki().node_client.cert) + "\n" +
                               "    client-key-data: " + b64(pki().node_client.key) + "\n"));
  const Credentials c = load_kubeconfig(path);
  EXPECT_EQ(c.client_cert_pem, pki().node_client.cert);
  EXPECT_EQ(c.client_key_pem, pki().node_client.key);
  EXPECT_EQ(c.node_user, "system:node:node-1");
  EXPECT_EQ(c.description, "kubeconfig " + path.string() +
                               ", context admin@test, user admin (client certificate "
                               "CN=system:node:node-1)");
  EXPECT_TRUE(c.token.empty());
}

TEST(Kubeconfig, LineWrappedBase64IsAccepted) {
  TempDir dir;
  std::string wrapped = b64(pki().admin_client.cert);
  for (std::size_t i = 64; i < wrapped.size(); i += 65) wrapped.insert(i, "\n");
  const auto path = dir.write(
      "config",
      kubeconfig(
          server_with_ca(), "    client-certificate-data: |\n      " +
                                [&] {
                                  std::string out;
                                  for (char ch : wrapped) {
                                    out += ch;
                                    if (ch == '\n') out += "      ";
                                  }
                                  return out;
                                }() +
                                "\n    client-key-data: " + b64(pki().admin_client.key) + "\n"));
  const Credentials c = load_kubeconfig(path);
  EXPECT_EQ(c.client_cert_pem, pki().admin_client.cert);
  EXPECT_EQ(c.node_user, "");  // CN=admin is not a node
}

TEST(Kubeconfig, ClientCertificateAndCaFilesRelativeToTheKubeconfig) {
  TempDir dir;
  dir.write("kube/pki/ca.crt", pki().ca.cert);
  dir.write("kube/pki/admin.crt", pki().admin_client.cert);
  dir.write("kube/pki/admin.key", pki().admin_client.key);
  const auto path =
      dir.write("kube/config", kubeconfig("    server: https://127.0.0.1:6443\n"
                                          "    certificate-authority: pki/ca.crt\n",
                                          "    client-certificate: pki/admin.crt\n"
                                          "    client-key: " +
                                              (dir.path() / "kube/pki/admin.key").string() + "\n"));
  const Credentials c = load_kubeconfig(path);
  EXPECT_EQ(c.ca_pem, pki().ca.cert);
  EXPECT_EQ(c.client_cert_pem, pki().admin_client.cert);
  EXPECT_EQ(c.client_key_pem, pki().admin_client.key);
  EXPECT_THAT(c.description, HasSubstr("user admin (client certificate CN=admin)"));
}

TEST(Kubeconfig, InsecureWithoutCa) {
  TempDir dir;
  const auto path = dir.write("config", kubeconfig("    server: https://10.5.0.2:6443/\n"
                                                   "    insecure-skip-tls-verify: true\n",
                                                   "    token: t\n"));
  const Credentials c = load_kubeconfig(path);
  EXPECT_TRUE(c.insecure_skip_verify);
  EXPECT_TRUE(c.ca_pem.empty());
  EXPECT_EQ(c.server, "https://10.5.0.2:6443");  // no trailing slash
}

TEST(Kubeconfig, ServerWithoutSchemeIsHttps) {
  TempDir dir;
  const auto path =
      dir.write("config", kubeconfig("    server: 10.5.0.2:6443\n", "    token: t\n"));
  EXPECT_EQ(load_kubeconfig(path).server, "https://10.5.0.2:6443");
}

TEST(Kubeconfig, CurrentContextOrTheOneGiven) {
  TempDir dir;
  const auto path = dir.write("config",
                              "current-context: one\n"
                              "clusters:\n"
                              "- name: c1\n"
                              "  cluster: {server: 'https://one.example:6443'}\n"
                              "- name: c2\n"
                              "  cluster: {server: 'https://[fd00::2]:6443'}\n"
                              "contexts:\n"
                              "- name: one\n"
                              "  context: {cluster: c1, user: u1}\n"
                              "- name: two\n"
                              "  context: {cluster: c2, user: u2}\n"
                              "users:\n"
                              "- name: u1\n"
                              "  user: {token: t1}\n"
                              "- name: u2\n"
                              "  user: {token: t2}\n");
  const Credentials current = load_kubeconfig(path);
  EXPECT_EQ(current.server, "https://one.example:6443");
  EXPECT_EQ(current.token, "t1");
  const Credentials two = load_kubeconfig(path, "two");
  EXPECT_EQ(two.server, "https://[fd00::2]:6443");
  EXPECT_EQ(two.token, "t2");
  EXPECT_THAT(two.description, HasSubstr("context two, user u2"));
}

TEST(Kubeconfig, ContextWithoutUserIsAnonymous) {
  TempDir dir;
  const auto path = dir.write("config",
                              "current-context: c\n"
                              "clusters: [{name: c, cluster: {server: 'https://h:1'}}]\n"
                              "contexts: [{name: c, context: {cluster: c}}]\n");
  const Credentials c = load_kubeconfig(path);
  EXPECT_TRUE(c.token.empty());
  EXPECT_THAT(c.description, HasSubstr("user (none) (anonymous)"));
}

TEST(KubeconfigErrors, MissingFile) {
  TempDir dir;
  try {
    load_kubeconfig(dir.path() / "nope");
    FAIL() << "loaded a missing file";
  } catch (const CredentialsError& e) {
    EXPECT_EQ(std::string(e.what()), "kubeconfig " + (dir.path() / "nope").string() +
                                         ": cannot read: No such file or directory");
  }
}

TEST(KubeconfigErrors, EachBadFileSaysWhatIsWrong) {
  TempDir dir;
  const std::string path = (dir.path() / "config").string();
  const std::string ca = "    certificate-authority-data: " + b64(pki().ca.cert) + "\n";
  struct Case {
    std::string text;
    std::string context;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"clusters: [a\n", "", "not YAML"},
      {"just text", "", "not a kubeconfig"},
      {kubeconfig(server_with_ca(), "    token: t\n", "''"), "", "no current-context"},
      {kubeconfig(server_with_ca(), "    token: t\n"), "other",
       "context \"other\" not found (contexts: admin@test)"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: gone, user: u}}]\n", "",
       "cluster \"gone\" not found (clusters: none)"},
      {"current-context: c\nclusters: [{name: k, cluster: {server: 'https://h'}}]\n"
       "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
       "", "user \"u\" not found (users: none)"},
      {kubeconfig(ca, "    token: t\n"), "", "cluster \"test\" has no server"},
      {kubeconfig("    server: http://127.0.0.1:8080\n", "    token: t\n"), "",
       "cluster \"test\": server http://127.0.0.1:8080 uses plain http, which is refused"},
      {kubeconfig("    server: https://127.0.0.1:6443\n    certificate-authority-data: "
                  "not*base64\n",
                  "    token: t\n"),
       "", "cluster \"test\": certificate-authority-data is not valid base64"},
      {kubeconfig("    server: https://127.0.0.1:6443\n    certificate-authority-data: " +
                      b64("hello") + "\n",
                  "    token: t\n"),
       "", "cluster \"test\": certificate-authority-data holds no PEM certificate"},
      {kubeconfig("    server: https://127.0.0.1:6443\n    certificate-authority: ca.crt\n",
                  "    token: t\n"),
       "",
       "cluster \"test\": certificate-authority " + (dir.path() / "ca.crt").string() +
           ": cannot read: No such file or directory"},
      {kubeconfig(server_with_ca() + "    certificate-authority: /x/ca.crt\n", "    token: t\n"),
       "", "both certificate-authority and certificate-authority-data are set"},
      {kubeconfig(server_with_ca() + "    insecure-skip-tls-verify: true\n", "    token: t\n"), "",
       "insecure-skip-tls-verify is set together with a certificate authority"},
      {kubeconfig(server_with_ca() + "    insecure-skip-tls-verify: maybe\n", "    token: t\n"), "",
       "insecure-skip-tls-verify is not true or false"},
      {kubeconfig(server_with_ca(),
                  "    client-certificate-data: " + b64(pki().admin_client.cert) + "\n"),
       "", "user \"admin\" has a client certificate but no client-key(-data)"},
      {kubeconfig(server_with_ca(),
                  "    client-certificate-data: " + b64(pki().admin_client.cert) + "\n" +
                      "    client-key-data: " + b64(pki().admin_client.cert) + "\n"),
       "", "user \"admin\": client-key-data holds no PEM private key"},
      {kubeconfig(server_with_ca(), "    client-key-data: " + b64(pki().admin_client.key) + "\n"),
       "", "user \"admin\" has a client key but no client-certificate(-data)"},
      {kubeconfig(server_with_ca(), "    exec:\n      command: aws\n"), "",
       "user \"admin\" uses an exec credential plugin (command \"aws\"), which is not supported"},
      {kubeconfig(server_with_ca(), "    auth-provider:\n      name: oidc\n"), "",
       "user \"admin\" uses the auth-provider plugin \"oidc\", which is not supported"},
      {kubeconfig(server_with_ca(), "    username: u\n    password: p\n"), "",
       "user \"admin\" uses basic authentication (username/password), which is not supported"},
      {kubeconfig(server_with_ca(), "    token: a\n    tokenFile: /t\n"), "",
       "both token and tokenFile are set"},
      {kubeconfig(server_with_ca(), "    tokenFile: missing-token\n"), "",
       "tokenFile " + (dir.path() / "missing-token").string() + ": cannot read"},
      {kubeconfig(server_with_ca() + "    proxy-url: http://proxy:3128\n", "    token: t\n"), "",
       "proxy-url is not supported"},
      {"current-context: c\nclusters: {a: b}\ncontexts: [{name: c, context: {cluster: k}}]\n", "",
       "clusters is not a list"},
  };
  for (const auto& c : cases) {
    const std::string error = load_error(dir, c.text, c.context);
    EXPECT_THAT(error, HasSubstr(c.expected)) << c.text;
    EXPECT_TRUE(error.starts_with("kubeconfig " + path + ": ")) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

// Sets an environment variable for the test's duration (nullptr: unset).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(InCluster, ServiceAccountFilesAndEnvironment) {
  TempDir dir;
  dir.write("sa/token", "sa-token\n");
  dir.write("sa/ca.crt", pki().ca.cert);
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  const Credentials c = load_in_cluster(dir.path() / "sa");
  EXPECT_EQ(c.server, "https://10.96.0.1:443");
  EXPECT_EQ(c.token, "sa-token");
  EXPECT_EQ(c.token_file, dir.path() / "sa/token");
  EXPECT_EQ(c.ca_pem, pki().ca.cert);
  EXPECT_EQ(c.description,
            "in-cluster service account token " + (dir.path() / "sa/token").string());
  EXPECT_EQ(c.node_user, "");
}

TEST(InCluster, Ipv6HostIsBracketed) {
  TempDir dir;
  dir.write("token", "t");
  dir.write("ca.crt", pki().ca.cert);
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
  EXPECT_EQ(load_in_cluster(dir.path()).server, "https://[fd00:10:96::1]:6443");
}

TEST(InCluster, WhatIsMissing) {
  TempDir dir;
  auto error = [&] {
    try {
      load_in_cluster(dir.path());
    } catch (const CredentialsError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
    EXPECT_THAT(error(), HasSubstr("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT"));
  }
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  EXPECT_EQ(error(), "in-cluster credentials: " + (dir.path() / "token").string() +
                         ": cannot read: No such file or directory");
  dir.write("token", "\n");
  EXPECT_THAT(error(), HasSubstr("token is empty"));
  dir.write("token", "t");
  EXPECT_THAT(error(), HasSubstr((dir.path() / "ca.crt").string() + ": cannot read"));
  dir.write("ca.crt", "garbage");
  EXPECT_THAT(error(), HasSubstr("ca.crt holds no PEM certificate"));
}

}  // namespace
}  // namespace kubernetes
