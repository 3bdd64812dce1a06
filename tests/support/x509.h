// Certificates parsed with OpenSSL for tests that check what was issued.
#pragma once

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string_view>

namespace tds::test {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Null when `pem` holds no certificate.
inline X509Ptr parse_cert(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace tds::test
