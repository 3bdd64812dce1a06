// Kubeconfig (yaml-cpp) and in-cluster loading. Everything is checked here, so a bad file fails at
// load with its name rather than later inside a TLS handshake.
#include "kubernetes/credentials.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "kubernetes/internal/api.h"
#include "kubernetes/internal/files.h"
#include "values/base64.h"

namespace kubernetes {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kNodeUserPrefix = "system:node:";

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};

// The subject CN of the first certificate in `pem`; nullopt when there is no certificate.
std::optional<std::string> certificate_cn(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return std::nullopt;
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return std::nullopt;
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return std::string();
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

bool holds_private_key(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return false;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  EVP_PKEY_free(key);
  return key != nullptr;
}

// Kubeconfig -data fields are base64 that Go decodes ignoring line breaks; our decoder is strict.
std::optional<std::string> decode_data(const std::string& text) {
  std::string compact;
  std::copy_if(text.begin(), text.end(), std::back_inserter(compact),
               [](char c) { return c != '\n' && c != '\r' && c != ' ' && c != '\t'; });
  return values::base64_decode(compact);
}

// One kubeconfig being read: every failure names the file, then where in it.
class Kubeconfig {
 public:
  explicit Kubeconfig(fs::path path) : path_(std::move(path)), dir_(path_.parent_path()) {}

  Credentials load(const std::string& wanted_context) {
    std::string error;
    const auto text = internal::read_file(path_, &error);
    if (!text) fail("cannot read: " + error);
    YAML::Node root;
    try {
      root = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      fail("not YAML: " + e.msg + " at line " + std::to_string(e.mark.line + 1));
    }
    if (!root.IsMap()) fail("not a kubeconfig (expected a mapping with clusters, contexts, users)");

    std::string context_name = wanted_context;
    if (context_name.empty()) {
      context_name = string_at(root, "current-context", "");
      if (context_name.empty()) fail("no current-context, and no context was given");
    }
    const YAML::Node context = named(root, "contexts", "context", context_name);
    const std::string where = "context " + quote(context_name);
    const std::string cluster_name = string_at(context, "cluster", where);
    if (cluster_name.empty()) fail(where + " names no cluster");
    const std::string user_name = string_at(context, "user", where);

    Credentials out;
    read_cluster(named(root, "clusters", "cluster", cluster_name), "cluster " + quote(cluster_name),
                 out);
    std::vector<std::string> methods;
    if (!user_name.empty()) {
      read_user(named(root, "users", "user", user_name), "user " + quote(user_name), out, methods);
    }
    if (methods.empty()) methods.emplace_back("anonymous");
    std::string joined;
    for (const auto& m : methods) joined += (joined.empty() ? "" : ", ") + m;
    out.description = "kubeconfig " + path_.string() + ", context " + context_name + ", user " +
                      (user_name.empty() ? "(none)" : user_name) + " (" + joined + ")";
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw CredentialsError("kubeconfig " + path_.string() + ": " + what);
  }

  static std::string quote(const std::string& name) { return '"' + name + '"'; }

  // A scalar field; "" when absent. `where` prefixes the error for a non-scalar.
  std::string string_at(const YAML::Node& map, const char* key, const std::string& where) const {
    const YAML::Node value = map[key];
    if (!value || value.IsNull()) return {};
    if (!value.IsScalar()) fail((where.empty() ? "" : where + ": ") + key + " is not a string");
    return value.Scalar();
  }

  bool bool_at(const YAML::Node& map, const char* key, const std::string& where) const {
    const YAML::Node value = map[key];
    if (!value || value.IsNull()) return false;
    bool out = false;
    if (!value.IsScalar() || !YAML::convert<bool>::decode(value, out)) {
      fail(where + ": " + key + " is not true or false");
    }
    return out;
  }

  // The `inner` mapping of the entry named `name` in the list `list` (kubeconfig's
  // `clusters: [{name: x, cluster: {...}}]` shape).
  YAML::Node named(const YAML::Node& root, const char* list, const char* inner,
                   const std::string& name) const {
    const YAML::Node entries = root[list];
    if (entries && !entries.IsNull() && !entries.IsSequence())
      fail(std::string(list) + " is not a list");
    std::string known;
    if (entries && entries.IsSequence()) {
      for (const auto& entry : entries) {
        if (!entry.IsMap()) fail(std::string(list) + " has an entry that is not a mapping");
        const std::string entry_name = string_at(entry, "name", list);
        if (entry_name != name) {
          known += (known.empty() ? "" : ", ") + entry_name;
          continue;
        }
        const YAML::Node body = entry[inner];
        if (!body || !body.IsMap()) {
          fail(std::string(inner) + " " + quote(name) + " has no " + inner + " mapping");
        }
        return body;
      }
    }
    fail(std::string(inner) + " " + quote(name) + " not found (" + list + ": " +
         (known.empty() ? "none" : known) + ")");
  }

  // PEM text from `key`-data (base64) or from the file `key` (relative to the kubeconfig).
  // nullopt when neither is set; `description` gets the source.
  std::optional<std::string> pem_at(const YAML::Node& map, const std::string& key,
                                    const std::string& where, std::string* source) const {
    const std::string data_key = key + "-data";
    const std::string data = string_at(map, data_key.c_str(), where);
    const std::string file = string_at(map, key.c_str(), where);
    if (!data.empty() && !file.empty()) {
      fail(where + ": both " + key + " and " + data_key + " are set; keep one");
    }
    if (!data.empty()) {
      auto decoded = decode_data(data);
      if (!decoded) fail(where + ": " + data_key + " is not valid base64");
      *source = data_key;
      return decoded;
    }
    if (!file.empty()) {
      const fs::path resolved = resolve(file);
      std::string error;
      auto text = internal::read_file(resolved, &error);
      if (!text) fail(where + ": " + key + " " + resolved.string() + ": cannot read: " + error);
      *source = key + " " + resolved.string();
      return text;
    }
    return std::nullopt;
  }

  fs::path resolve(const std::string& file) const {
    const fs::path p(file);
    return p.is_absolute() ? p : dir_ / p;
  }

  void read_cluster(const YAML::Node& cluster, const std::string& where, Credentials& out) const {
    for (const char* unsupported : {"proxy-url", "tls-server-name"}) {
      if (!string_at(cluster, unsupported, where).empty()) {
        fail(where + ": " + unsupported + " is not supported");
      }
    }
    out.server = std::string(internal::trim(string_at(cluster, "server", where)));
    if (out.server.empty()) fail(where + " has no server");
    if (out.server.find("://") == std::string::npos) out.server = "https://" + out.server;
    while (out.server.ends_with('/')) out.server.pop_back();
    std::string error;
    if (!internal::parse_server(out.server, &error)) fail(where + ": server " + error);

    std::string source;
    if (auto ca = pem_at(cluster, "certificate-authority", where, &source)) {
      if (!certificate_cn(*ca)) fail(where + ": " + source + " holds no PEM certificate");
      out.ca_pem = std::move(*ca);
    }
    out.insecure_skip_verify = bool_at(cluster, "insecure-skip-tls-verify", where);
    if (out.insecure_skip_verify && !out.ca_pem.empty()) {
      fail(where +
           ": insecure-skip-tls-verify is set together with a certificate authority; "
           "keep one");
    }
  }

  void read_user(const YAML::Node& user, const std::string& where, Credentials& out,
                 std::vector<std::string>& methods) const {
    if (user["exec"] && !user["exec"].IsNull()) {
      fail(where + " uses an exec credential plugin (command " +
           quote(user["exec"].IsMap() ? string_at(user["exec"], "command", where) : "") +
           "), which is not supported; use a client certificate or a token");
    }
    if (user["auth-provider"] && !user["auth-provider"].IsNull()) {
      const YAML::Node provider = user["auth-provider"];
      fail(where + " uses the auth-provider plugin " +
           quote(provider.IsMap() ? string_at(provider, "name", where) : "") +
           ", which is not supported; use a client certificate or a token");
    }
    if (!string_at(user, "username", where).empty() ||
        !string_at(user, "password", where).empty()) {
      fail(where +
           " uses basic authentication (username/password), which is not supported; use "
           "a client certificate or a token");
    }

    std::string cert_source;
    std::string key_source;
    auto cert = pem_at(user, "client-certificate", where, &cert_source);
    auto key = pem_at(user, "client-key", where, &key_source);
    if (cert && !key) fail(where + " has a client certificate but no client-key(-data)");
    if (key && !cert) fail(where + " has a client key but no client-certificate(-data)");
    if (cert) {
      const auto cn = certificate_cn(*cert);
      if (!cn) fail(where + ": " + cert_source + " holds no PEM certificate");
      if (!holds_private_key(*key)) fail(where + ": " + key_source + " holds no PEM private key");
      if (cn->starts_with(kNodeUserPrefix)) out.node_user = *cn;
      methods.push_back("client certificate CN=" + *cn);
      out.client_cert_pem = std::move(*cert);
      out.client_key_pem = std::move(*key);
    }

    const std::string token = string_at(user, "token", where);
    const std::string token_file = string_at(user, "tokenFile", where);
    if (!token.empty() && !token_file.empty())
      fail(where + ": both token and tokenFile are set; keep one");
    if (!token.empty()) {
      out.token = token;
      methods.emplace_back("token");
    }
    if (!token_file.empty()) {
      out.token_file = resolve(token_file);
      std::string error;
      const auto text = internal::read_file(out.token_file, &error);
      if (!text) fail(where + ": tokenFile " + out.token_file.string() + ": cannot read: " + error);
      out.token = std::string(internal::trim(*text));
      if (out.token.empty()) fail(where + ": tokenFile " + out.token_file.string() + " is empty");
      methods.push_back("token file " + out.token_file.string());
    }
  }

  const fs::path path_;
  const fs::path dir_;
};

}  // namespace

Credentials load_kubeconfig(const std::filesystem::path& path, const std::string& context) {
  return Kubeconfig(path).load(context);
}

Credentials load_in_cluster(const std::filesystem::path& dir) {
  auto fail = [](const std::string& what) -> CredentialsError {
    return CredentialsError("in-cluster credentials: " + what);
  };
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    throw fail(
        "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set (not in a pod?)");
  }
  const std::string_view h(host);
  Credentials out;
  out.server =
      "https://" +
      (h.find(':') != std::string_view::npos ? "[" + std::string(h) + "]" : std::string(h)) + ":" +
      port;
  std::string error;
  if (!internal::parse_server(out.server, &error)) throw fail("server " + error);

  std::string read_error;
  out.token_file = dir / "token";
  const auto token = internal::read_file(out.token_file, &read_error);
  if (!token) throw fail(out.token_file.string() + ": cannot read: " + read_error);
  out.token = std::string(internal::trim(*token));
  if (out.token.empty()) throw fail(out.token_file.string() + " is empty");

  const fs::path ca_file = dir / "ca.crt";
  auto ca = internal::read_file(ca_file, &read_error);
  if (!ca) throw fail(ca_file.string() + ": cannot read: " + read_error);
  if (!certificate_cn(*ca)) throw fail(ca_file.string() + " holds no PEM certificate");
  out.ca_pem = std::move(*ca);
  out.description = "in-cluster service account token " + out.token_file.string();
  return out;
}

}  // namespace kubernetes
