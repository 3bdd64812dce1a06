// What a generic Linux host tells the node input controllers; an interface so tests use fakes.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace controllers::node {

struct HostAddress {
  std::string ip;  // 4 or 16 bytes
  int prefix_length = 0;
};

class HostFacts {
 public:
  virtual ~HostFacts() = default;
  virtual std::string hostname() const = 0;
  // Interface addresses without loopback and link-local ones, in interface order.
  virtual std::vector<HostAddress> addresses() const = 0;
  // "<NAME> (<VERSION_ID>)" from os-release, e.g. "Debian GNU/Linux (12)".
  virtual std::string operating_system() const = 0;
  // The first hardware address (6 bytes; empty when there is none): the KubeSpan address is
  // derived from it, as Talos derives it from its first link's MAC.
  virtual std::string first_mac() const = 0;
};

// gethostname, getifaddrs, the given os-release file and sysfs network interfaces.
std::unique_ptr<HostFacts> make_linux_host_facts(
    std::string os_release = "/etc/os-release",
    std::filesystem::path sys_class_net = "/sys/class/net");

// The MAC of the interface with the lowest ifindex under `sys_class_net` (a /sys/class/net
// layout: <name>/address, <name>/ifindex), skipping loopback and all-zero addresses, so the choice
// is stable across reboots however the kernel lists the directory. Empty when there is none.
std::string first_mac(const std::filesystem::path& sys_class_net);

// The os-release text as operating_system() renders it; "Linux" when NAME is absent.
std::string os_release_text(const std::string& contents);

}  // namespace controllers::node
