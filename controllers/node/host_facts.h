// What a generic Linux host tells the node input controllers; an interface so tests use fakes.
#pragma once

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
};

// gethostname, getifaddrs and the given os-release file.
std::unique_ptr<HostFacts> make_linux_host_facts(std::string os_release = "/etc/os-release");

// The os-release text as operating_system() renders it; "Linux" when NAME is absent.
std::string os_release_text(const std::string& contents);

}  // namespace controllers::node
