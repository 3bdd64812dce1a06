// Staging of the served TLS pair: each good pair goes to a new generation directory, published by
// renaming a symlink over `current`, so the watcher sees the old pair or the new one, never a mix.
#include "discovery/server/tls_stage.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "platform/log_value.h"

namespace discovery::server {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path, std::string_view what) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) throw std::runtime_error("cannot read " + std::string(what) + " " + path);
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

TlsPair read_tls_pair(const std::string& certificate_path, const std::string& key_path) {
  TlsPair pair{read_text(certificate_path, "certificate"), read_text(key_path, "key")};
  using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
  Bio cert_bio(
      BIO_new_mem_buf(pair.certificate_pem.data(), static_cast<int>(pair.certificate_pem.size())),
      BIO_free);
  Bio key_bio(BIO_new_mem_buf(pair.key_pem.data(), static_cast<int>(pair.key_pem.size())),
              BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (cert == nullptr) throw std::runtime_error("no PEM certificate in " + certificate_path);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (key == nullptr) throw std::runtime_error("no PEM private key in " + key_path);
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    throw std::runtime_error("the key in " + key_path + " does not match the certificate in " +
                             certificate_path);
  }
  return pair;
}

TlsStage::TlsStage(std::string certificate_path, std::string key_path)
    : certificate_path_(std::move(certificate_path)), key_path_(std::move(key_path)) {
  TlsPair pair = read_tls_pair(certificate_path_, key_path_);
  // mkdtemp makes it 0700: the staged key is readable by this user only.
  std::string pattern = (fs::temp_directory_path() / "tds-discovery-tls-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a directory for the TLS pair in " +
                             fs::temp_directory_path().string());
  }
  dir_ = pattern;
  try {
    stage(pair);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw;
  }
}

TlsStage::~TlsStage() {
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string TlsStage::certificate_path() const { return (dir_ / "current" / "tls.crt").string(); }
std::string TlsStage::key_path() const { return (dir_ / "current" / "tls.key").string(); }

void TlsStage::refresh() {
  TlsPair pair;
  try {
    pair = read_tls_pair(certificate_path_, key_path_);
  } catch (const std::exception& e) {
    // Logged once per distinct problem, not at every check while it lasts.
    if (e.what() != last_error_) {
      spdlog::warn("tls_reload_failed error=\"{}\" serving=previous",
                   platform::log_value(e.what()));
    }
    last_error_ = e.what();
    return;
  }
  last_error_.clear();
  if (pair.certificate_pem == staged_.certificate_pem && pair.key_pem == staged_.key_pem) return;
  try {
    stage(pair);
  } catch (const std::exception& e) {
    spdlog::warn("tls_reload_failed error=\"{}\" serving=previous", platform::log_value(e.what()));
    return;
  }
  spdlog::info("tls_reloaded certificate={}", platform::log_value(certificate_path_));
}

void TlsStage::stage(const TlsPair& pair) {
  const fs::path gen = dir_ / ("gen-" + std::to_string(++generation_));
  fs::create_directory(gen);
  write_text(gen / "tls.crt", pair.certificate_pem);
  write_text(gen / "tls.key", pair.key_pem);
  // gRPC rereads when a file's mtime (whole seconds) changed during its read; a new generation
  // must therefore differ from the previous one in the seconds, or a read straddling the swap
  // could pair the old key with the new certificate.
  auto mtime = std::max(fs::file_time_type::clock::now(), last_mtime_ + std::chrono::seconds(1));
  fs::last_write_time(gen / "tls.crt", mtime);
  fs::last_write_time(gen / "tls.key", mtime);
  last_mtime_ = mtime;
  const fs::path link = dir_ / "next";
  fs::remove(link);
  fs::create_directory_symlink(gen.filename(), link);
  fs::rename(link, dir_ / "current");  // atomic replacement of the old symlink
  // The generation before the previous one: the watcher may still be reading the previous one.
  if (generation_ > 2) {
    std::error_code ignored;
    fs::remove_all(dir_ / ("gen-" + std::to_string(generation_ - 2)), ignored);
  }
  staged_ = pair;
}

}  // namespace discovery::server
