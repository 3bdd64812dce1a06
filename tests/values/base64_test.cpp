// Base64 as Go's StdEncoding: padded, strict about the alphabet and padding.
#include "values/base64.h"

#include <gtest/gtest.h>

namespace values {
namespace {

TEST(Base64, KnownAnswersFromRfc4648) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(plain)) << encoded;
  }
}

TEST(Base64, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    auto part = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(part)), std::optional<std::string>(part));
  }
}

TEST(Base64, RefusesWhatGoRefuses) {
  for (const char* bad : {"Zg", "Zg=", "Zm9v\n", " Zm9v", "Zm=v", "Z===", "Zm9v!A==", "===="}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace values
