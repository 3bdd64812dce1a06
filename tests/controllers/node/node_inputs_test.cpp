// Host input controllers over fake host facts.
#include "controllers/node/node_inputs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "controllers/node/host_facts.h"
#include "resources/config/config.h"
#include "resources/k8s/k8s.h"
#include "resources/network/network.h"
#include "tests/controllers/harness.h"
#include "values/net.h"

namespace controllers::node {
namespace {

namespace rn = resources::network;
namespace rk = resources::k8s;
namespace rcfg = resources::config;
using runtime::resource::Pointer;

// A host whose name and address a test can change, as DHCP or hostnamectl would.
class FakeHost final : public HostFacts {
 public:
  std::string hostname() const override {
    std::lock_guard lock(mu_);
    return hostname_;
  }
  std::vector<HostAddress> addresses() const override {
    std::lock_guard lock(mu_);
    return {{values::net::ip(address_).ip(), 24}};
  }
  void change(std::string hostname, std::string address) {
    std::lock_guard lock(mu_);
    hostname_ = std::move(hostname);
    address_ = std::move(address);
  }
  std::string operating_system() const override { return "Fake (1)"; }
  std::string first_mac() const override { return {}; }

 private:
  mutable std::mutex mu_;
  std::string hostname_ = "box.lan";
  std::string address_ = "192.168.1.7";
};

const Pointer kHostname{"network", std::string(rn::kHostnameStatusType), "hostname"};
const Pointer kNodename{"k8s", std::string(rk::kNodenameType), "nodename"};
const Pointer kRouted{"network", std::string(rn::kNodeAddressType), "routed-no-k8s"};
const Pointer kCurrent{"network", std::string(rn::kNodeAddressType), "current-no-k8s"};
const Pointer kType{"config", std::string(rcfg::kMachineTypeType), "machine-type"};

class NodeInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = std::make_shared<FakeHost>();
    h_.add(make_hostname_status_controller(host));
    h_.add(make_nodename_controller(host));
    h_.add(make_node_address_controller(host));
    h_.add(make_machine_type_controller());
    h_.start();
  }
  testing::Harness h_;
};

TEST_F(NodeInputs, HostFactsWithoutConfig) {
  auto hs = h_.wait_for<rn::HostnameStatusSpec>(kHostname);
  ASSERT_TRUE(hs);
  EXPECT_EQ(hs->hostname(), "box");
  EXPECT_EQ(hs->domainname(), "lan");
  auto nn = h_.wait_for<rk::NodenameSpec>(kNodename);
  ASSERT_TRUE(nn);
  EXPECT_EQ(nn->nodename(), "box");
  auto routed = h_.wait_for<rn::NodeAddressSpec>(kRouted);
  ASSERT_TRUE(routed);
  ASSERT_EQ(routed->addresses_size(), 1);
  EXPECT_EQ(values::net::text(routed->addresses(0)), "192.168.1.7/24");
  EXPECT_TRUE(h_.wait_for<rn::NodeAddressSpec>(kCurrent));
  EXPECT_EQ(h_.state().get(kType), nullptr);
}

TEST_F(NodeInputs, ConfigOverridesHost) {
  h_.put_config(
      "version: v1alpha1\nmachine:\n  type: controlplane\n  network:\n    hostname: node-1\n"
      "---\napiVersion: v1alpha1\nkind: HostConfig\nnodename: n1.example\n"
      "addresses: [10.0.0.1/8, fd00::1]\n");
  auto hs = h_.wait_for<rn::HostnameStatusSpec>(
      kHostname, [](const rn::HostnameStatusSpec& s) { return s.hostname() == "node-1"; });
  ASSERT_TRUE(hs);
  EXPECT_EQ(hs->domainname(), "");
  EXPECT_TRUE(h_.wait_for<rk::NodenameSpec>(
      kNodename, [](const rk::NodenameSpec& s) { return s.nodename() == "n1.example"; }));
  auto cur = h_.wait_for<rn::NodeAddressSpec>(
      kCurrent, [](const rn::NodeAddressSpec& s) { return s.addresses_size() == 2; });
  ASSERT_TRUE(cur);
  EXPECT_EQ(values::net::text(cur->addresses(1)), "fd00::1/128");
  auto mt = h_.wait_for<rcfg::MachineTypeSpec>(kType);
  ASSERT_TRUE(mt);
  EXPECT_EQ(mt->machine_type(), talos::resource::definitions::enums::TYPE_CONTROL_PLANE);
}

TEST(NodeInputsRefresh, HostChangesArePickedUpWithoutAConfigChange) {
  auto host = std::make_shared<FakeHost>();
  testing::Harness h;
  const std::chrono::milliseconds refresh{20};
  h.add(make_hostname_status_controller(host, refresh));
  h.add(make_nodename_controller(host, refresh));
  h.add(make_node_address_controller(host, refresh));
  h.start();
  ASSERT_TRUE(h.wait_for<rn::HostnameStatusSpec>(kHostname));
  ASSERT_TRUE(h.wait_for<rk::NodenameSpec>(kNodename));
  ASSERT_TRUE(h.wait_for<rn::NodeAddressSpec>(kRouted));
  const auto version = h.state().get(kRouted)->metadata.version;

  host->change("renamed.lan", "192.168.1.8");
  EXPECT_TRUE(h.wait_for<rn::HostnameStatusSpec>(
      kHostname, [](const rn::HostnameStatusSpec& s) { return s.hostname() == "renamed"; }));
  EXPECT_TRUE(h.wait_for<rk::NodenameSpec>(
      kNodename, [](const rk::NodenameSpec& s) { return s.nodename() == "renamed"; }));
  EXPECT_TRUE(h.wait_for<rn::NodeAddressSpec>(kRouted, [](const rn::NodeAddressSpec& s) {
    return values::net::text(s.addresses(0)) == "192.168.1.8/24";
  }));
  // Refreshes of an unchanged host are not writes.
  const auto changed = h.state().get(kRouted)->metadata.version;
  EXPECT_GT(changed, version);
  std::this_thread::sleep_for(refresh * 5);
  EXPECT_EQ(h.state().get(kRouted)->metadata.version, changed);
}

TEST(OsRelease, NameAndVersion) {
  EXPECT_EQ(os_release_text("NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"),
            "Debian GNU/Linux (12)");
  EXPECT_EQ(os_release_text("NAME=Arch Linux\n"), "Arch Linux");
  EXPECT_EQ(os_release_text(""), "Linux");
}

// A /sys/class/net layout in a temp dir: the lowest ifindex with a real MAC wins, whatever order
// the directory lists in; loopback, all-zero and non-Ethernet addresses do not count.
TEST(LinuxHostFacts, FirstMacByIfindex) {
  auto dir = std::filesystem::temp_directory_path() / ("tds-sysnet-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto link = [&](const std::string& name, int index, const std::string& type,
                  const std::string& address) {
    std::filesystem::create_directories(dir / name);
    std::ofstream(dir / name / "ifindex") << index << "\n";
    std::ofstream(dir / name / "type") << type << "\n";
    std::ofstream(dir / name / "address") << address << "\n";
  };
  EXPECT_EQ(first_mac(dir), "");  // no directory at all
  link("lo", 1, "772", "00:00:00:00:00:00");
  link("dummy0", 2, "1", "00:00:00:00:00:00");
  link("wg0", 3, "65534", "");
  link("ib0", 4, "32", "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:2b:3c");
  link("eth1", 6, "1", "ea:71:1b:b2:cc:ef");
  EXPECT_EQ(first_mac(dir), std::string("\xea\x71\x1b\xb2\xcc\xef", 6));
  link("eth0", 5, "1", "EA:71:1B:B2:CC:EE");
  EXPECT_EQ(first_mac(dir), std::string("\xea\x71\x1b\xb2\xcc\xee", 6));
  EXPECT_EQ(make_linux_host_facts("/etc/os-release", dir)->first_mac(),
            std::string("\xea\x71\x1b\xb2\xcc\xee", 6));
  std::filesystem::remove_all(dir);
}

TEST(LinuxHostFacts, SkipsLoopback) {
  auto host = make_linux_host_facts();
  EXPECT_FALSE(host->hostname().empty());
  for (const auto& a : host->addresses()) {
    EXPECT_NE(values::net::ip_text(a.ip), "127.0.0.1");
    EXPECT_NE(values::net::ip_text(a.ip), "::1");
  }
}

}  // namespace
}  // namespace controllers::node
