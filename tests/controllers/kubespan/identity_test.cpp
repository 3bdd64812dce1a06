// kubespan.IdentityController and its pieces: the KubeSpan address vector computed with Talos's code,
// WireGuard keys against RFC 7748, the key file's persistence and refusal of damaged files.
#include "controllers/kubespan/identity.h"
#include "controllers/kubespan/controllers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "controllers/node/host_facts.h"
#include "resources/kubespan/kubespan.h"
#include "tests/controllers/harness.h"
#include "tests/machined/temp_dir.h"
#include "values/base64.h"
#include "values/net.h"

namespace controllers::kubespan {
namespace {

namespace rks = resources::kubespan;
namespace net = values::net;
using ::testing::HasSubstr;

constexpr const char* kClusterId = "8XuV9TZHW08DOk3bVxQjH9ih_TBKjnh-j44tsCLSBzo=";
constexpr const char* kSecret = "kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=";
const std::string kMac("\x2e\x1a\xb6\x53\x81\x69", 6);  // 2e:1a:b6:53:81:69
const runtime::resource::Pointer kOut{"kubespan", std::string(rks::kIdentityType), "local"};

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(KubeSpanAddress, ReferenceVector) {
  auto a = kubespan_address(kClusterId, kMac);
  EXPECT_EQ(net::text(a.subnet), "fd7f:175a:b97c:5602::/64");
  EXPECT_EQ(net::text(a.address), "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169/128");
  // The local affiliate fixture's MAC (Talos's local_affiliate_test.go).
  EXPECT_EQ(net::text(kubespan_address(kClusterId, "\xea\x71\x1b\xb2\xcc\xee").address),
            "fd7f:175a:b97c:5602:e871:1bff:feb2:ccee/128");
  EXPECT_THROW(kubespan_address(kClusterId, "\x01\x02"), std::invalid_argument);
}

TEST(WireguardKey, Rfc7748PublicKeys) {
  using values::base64_encode;
  EXPECT_EQ(
      wireguard_public_key(
          base64_encode(unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))),
      base64_encode(unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")));
  EXPECT_EQ(
      wireguard_public_key(
          base64_encode(unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))),
      base64_encode(unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")));
  EXPECT_THROW(wireguard_public_key("AAAA"), std::invalid_argument);
  EXPECT_THROW(wireguard_public_key("not base64!"), std::invalid_argument);
}

TEST(WireguardKey, GeneratedKeysAreClampedAndDistinct) {
  auto a = generate_wireguard_key();
  auto b = generate_wireguard_key();
  EXPECT_NE(a.private_key, b.private_key);
  EXPECT_EQ(wireguard_public_key(a.private_key), a.public_key);
  auto raw = values::base64_decode(a.private_key);
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>((*raw)[0]) & 7, 0);
  EXPECT_EQ(static_cast<unsigned char>((*raw)[31]) & 0xc0, 0x40);
  EXPECT_EQ(a.public_key.size(), 44u);  // what `wg pubkey` prints
}

TEST(WireguardKeyFile, CreatedOnceWithMode0600AndReused) {
  tds::test::TempDir dir;
  auto first = load_or_create_wireguard_key(dir.path());
  const auto file = dir.path() / kIdentityFile;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(read(file),
            "privateKey: " + first.private_key + "\npublicKey: " + first.public_key + "\n");
  auto again = load_or_create_wireguard_key(dir.path());
  EXPECT_EQ(again.private_key, first.private_key);
  EXPECT_EQ(again.public_key, first.public_key);
}

// A file written by Talos (the whole IdentitySpec) loads; the address in it is not used.
TEST(WireguardKeyFile, ReadsTalosFiles) {
  tds::test::TempDir dir;
  auto key = generate_wireguard_key();
  std::ofstream(dir.path() / kIdentityFile)
      << "address: \"\"\nsubnet: \"\"\nprivateKey: " << key.private_key
      << "\npublicKey: " << key.public_key << "\n";
  auto loaded = load_or_create_wireguard_key(dir.path());
  EXPECT_EQ(loaded.private_key, key.private_key);
  EXPECT_EQ(loaded.public_key, key.public_key);
}

TEST(WireguardKeyFile, DamagedFilesAreErrorsAndStayAsTheyAre) {
  auto other = generate_wireguard_key();
  auto mine = generate_wireguard_key();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "the file is empty"},
      {"privateKey: [1, 2\n", "not valid YAML"},
      {"- a\n- b\n", "expected a mapping"},
      {"publicKey: " + mine.public_key + "\n", "privateKey is missing or empty"},
      {"privateKey: AAAA\n", "privateKey: expected base64 of 32 bytes"},
      {"privateKey: " + mine.private_key + "\npublicKey: " + other.public_key + "\n",
       "publicKey does not match privateKey"},
  };
  for (const auto& [text, error] : cases) {
    tds::test::TempDir dir;
    const auto file = dir.path() / kIdentityFile;
    std::ofstream(file) << text;
    try {
      load_or_create_wireguard_key(dir.path());
      ADD_FAILURE() << "accepted: " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(file.string() + ": " + error)) << text;
      EXPECT_THAT(e.what(), HasSubstr("remove the file")) << text;
    }
    EXPECT_EQ(read(file), text);
  }
}

class FakeHost final : public node::HostFacts {
 public:
  explicit FakeHost(std::string mac) : mac_(std::move(mac)) {}
  std::string hostname() const override { return "box"; }
  std::vector<node::HostAddress> addresses() const override { return {}; }
  std::string operating_system() const override { return "Fake (1)"; }
  std::string first_mac() const override { return mac_; }

 private:
  std::string mac_;
};

std::string config(bool enabled, const std::string& host_doc = "") {
  return std::string("version: v1alpha1\nmachine:\n  network:\n    kubespan:\n      enabled: ") +
         (enabled ? "true" : "false") +
         "\ncluster:\n  clusterName: c\n---\napiVersion: v1alpha1\nkind: DiscoveryServiceConfig\n"
         "name: default\nendpoint: http://127.0.0.1:1\n---\napiVersion: v1alpha1\n"
         "kind: DiscoveryIdentityConfig\nclusterID: " +
         kClusterId + "\nclusterSecret: " + kSecret + "\n" + host_doc;
}

// The controller runs on the KubeSpanConfig; the test plays the config controller, and the
// machine config only carries the HostConfig override.
class IdentityControllerTest : public ::testing::Test {
 protected:
  void start(std::string mac) {
    h_.add(make_identity_controller(dir_.path(), std::make_shared<FakeHost>(std::move(mac))));
    h_.start();
  }
  void put_kubespan(bool enabled) {
    rks::ConfigSpec c;
    c.set_enabled(enabled);
    c.set_cluster_id(kClusterId);
    h_.put(runtime::resource::Pointer{"config", std::string(rks::kConfigType), "kubespan"}, c);
  }
  tds::test::TempDir dir_;
  testing::Harness h_;
};

TEST_F(IdentityControllerTest, EnabledDisabledAndKeyKept) {
  start(kMac);
  put_kubespan(true);
  auto id = h_.wait_for<rks::IdentitySpec>(kOut);
  ASSERT_TRUE(id);
  EXPECT_EQ(net::text(id->address()), "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169/128");
  EXPECT_EQ(net::text(id->subnet()), "fd7f:175a:b97c:5602::/64");
  EXPECT_EQ(wireguard_public_key(id->private_key()), id->public_key());
  auto on_disk = load_or_create_wireguard_key(dir_.path());
  EXPECT_EQ(on_disk.public_key, id->public_key());

  put_kubespan(false);
  EXPECT_TRUE(h_.wait_gone(kOut));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / kIdentityFile));
  put_kubespan(true);
  auto back = h_.wait_for<rks::IdentitySpec>(kOut);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->public_key(), id->public_key());
}

TEST_F(IdentityControllerTest, HostConfigMacWins) {
  start(kMac);
  h_.put_config(config(true,
                       "---\napiVersion: v1alpha1\nkind: HostConfig\n"
                       "hardwareAddress: ea:71:1b:b2:cc:ee\n"));
  put_kubespan(true);
  auto id = h_.wait_for<rks::IdentitySpec>(kOut, [](const rks::IdentitySpec& s) {
    return net::text(s.address()) == "fd7f:175a:b97c:5602:e871:1bff:feb2:ccee/128";
  });
  EXPECT_TRUE(id);
}

// Without any MAC the controller keeps failing (and retrying); once the config names one, the
// identity appears.
TEST_F(IdentityControllerTest, NoMacUntilConfigured) {
  start("");
  put_kubespan(true);
  h_.put_config(config(true,
                       "---\napiVersion: v1alpha1\nkind: HostConfig\n"
                       "hardwareAddress: 2e:1a:b6:53:81:69\n"));
  auto id = h_.wait_for<rks::IdentitySpec>(kOut);
  ASSERT_TRUE(id);
  EXPECT_EQ(net::text(id->address()), "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169/128");
}

TEST_F(IdentityControllerTest, CorruptKeyFileIsNeverReplaced) {
  std::ofstream(dir_.path() / kIdentityFile) << "privateKey: AAAA\n";
  start(kMac);
  put_kubespan(true);
  // The controller fails on every retry; fixing the file lets it through.
  auto key = generate_wireguard_key();
  EXPECT_EQ(read(dir_.path() / kIdentityFile), "privateKey: AAAA\n");
  std::ofstream(dir_.path() / kIdentityFile) << "privateKey: " << key.private_key << "\n";
  auto id = h_.wait_for<rks::IdentitySpec>(kOut);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->public_key(), key.public_key);
}

}  // namespace
}  // namespace controllers::kubespan
