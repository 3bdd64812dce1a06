// The TLS pair the discovery-service serves, copied from the operator's files only once it checks
// out. gRPC 1.51's FileWatcherCertificateProvider installs whatever pair it reads (a key that does
// not match, garbage) and drops the pair when a file is missing, so it watches this copy instead.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace discovery::server {

// The certificate chain and key as PEM text, checked to parse and to belong together. Throws
// std::runtime_error naming the file ("no PEM certificate in /etc/tls.crt").
struct TlsPair {
  std::string certificate_pem;
  std::string key_pem;
};
TlsPair read_tls_pair(const std::string& certificate_path, const std::string& key_path);

class TlsStage {
 public:
  // Reads and checks the pair (throws like read_tls_pair) and stages it in a private temporary
  // directory, removed again by the destructor.
  TlsStage(std::string certificate_path, std::string key_path);
  ~TlsStage();
  TlsStage(const TlsStage&) = delete;
  TlsStage& operator=(const TlsStage&) = delete;

  // Where the staged pair is, for the file watcher: fixed paths through a symlink.
  std::string certificate_path() const;
  std::string key_path() const;

  // Re-reads the operator's files: a changed good pair is staged, a bad one is logged and the
  // staged pair kept. Called from one thread at a time.
  void refresh();

 private:
  void stage(const TlsPair& pair);

  const std::string certificate_path_;
  const std::string key_path_;
  std::filesystem::path dir_;
  TlsPair staged_;
  unsigned generation_ = 0;
  std::filesystem::file_time_type last_mtime_{};
  std::string last_error_;  // of the last refresh; empty when it succeeded
};

}  // namespace discovery::server
