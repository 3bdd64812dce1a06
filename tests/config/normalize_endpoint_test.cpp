// NormalizeEndpoint, with the table of Talos's TestNormalizeEndpoint.
#include <gtest/gtest.h>

#include "config/machine_config.h"

namespace config {
namespace {

struct Case {
  const char* url;
  const char* host_port;  // null: an error
  bool insecure;
};

// Names each case by its URL (test names and ctest entries), not by the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << '"' << c.url << '"'; }

class NormalizeEndpoint : public ::testing::TestWithParam<Case> {};

TEST_P(NormalizeEndpoint, Table) {
  const auto& c = GetParam();
  if (c.host_port == nullptr) {
    EXPECT_THROW(normalize_endpoint(c.url), std::invalid_argument) << c.url;
    return;
  }
  auto e = normalize_endpoint(c.url);
  EXPECT_EQ(e.host_port, c.host_port);
  EXPECT_EQ(e.insecure, c.insecure);
}

INSTANTIATE_TEST_SUITE_P(
    Talos, NormalizeEndpoint,
    ::testing::Values(
        Case{"https://discovery.example.com:6443", "discovery.example.com:6443", false},
        Case{"https://discovery.example.com", "discovery.example.com:443", false},
        Case{"http://discovery.example.com:8080", "discovery.example.com:8080", true},
        Case{"http://discovery.example.com", "discovery.example.com:80", true},
        Case{"https://192.168.1.1:6443", "192.168.1.1:6443", false},
        Case{"http://192.168.1.1", "192.168.1.1:80", true},
        Case{"https://[::1]:6443", "[::1]:6443", false}, Case{"http://[::1]", "[::1]:80", true},
        Case{"https://discovery.example.com/api/v1", "discovery.example.com:443", false},
        Case{"https://discovery.example.com?key=value", "discovery.example.com:443", false},
        Case{"grpc://discovery.example.com", "discovery.example.com:443", false},
        Case{"not a valid url://[", nullptr, false}, Case{"", nullptr, false},
        Case{"discovery.example.com", nullptr, false},
        Case{"ftp://discovery.example.com", nullptr, false}));

TEST(NormalizeEndpointMessages, AreTalos) {
  auto message = [](const char* url) {
    try {
      normalize_endpoint(url);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("discovery.example.com"), "endpoint scheme is required");
  EXPECT_EQ(message("ftp://x"), "endpoint scheme must be http://, https:// or grpc://");
  EXPECT_EQ(message("https://"), "endpoint host is required");
}

}  // namespace
}  // namespace config
