// Host facts from the Linux host.
#include "controllers/node/host_facts.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <map>
#include <sstream>

#include "config/machine_config.h"

namespace controllers::node {
namespace {

int prefix_bits(const sockaddr* mask, std::size_t len) {
  if (mask == nullptr) return static_cast<int>(len * 8);
  const auto* b = mask->sa_family == AF_INET
                      ? reinterpret_cast<const unsigned char*>(
                            &reinterpret_cast<const sockaddr_in*>(mask)->sin_addr)
                      : reinterpret_cast<const unsigned char*>(
                            &reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) bits += __builtin_popcount(b[i]);
  return bits;
}

bool skipped(const std::string& ip) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(ip[i]); };
  if (ip.size() == 4) return b(0) == 127 || (b(0) == 169 && b(1) == 254);
  bool loopback = ip == std::string(15, '\0') + '\1';
  return loopback || (b(0) == 0xfe && (b(1) & 0xc0) == 0x80);
}

class LinuxHostFacts final : public HostFacts {
 public:
  LinuxHostFacts(std::string os_release, std::filesystem::path sys_class_net)
      : os_release_(std::move(os_release)), sys_class_net_(std::move(sys_class_net)) {}

  std::string hostname() const override {
    char buf[HOST_NAME_MAX + 1] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0) return {};
    return buf;
  }

  std::vector<HostAddress> addresses() const override {
    std::vector<HostAddress> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> guard(list, ::freeifaddrs);
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr) continue;
      std::string ip;
      if (i->ifa_addr->sa_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr;
        ip.assign(reinterpret_cast<const char*>(&a), 4);
      } else if (i->ifa_addr->sa_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr;
        ip.assign(reinterpret_cast<const char*>(&a), 16);
      } else {
        continue;
      }
      if (skipped(ip)) continue;
      out.push_back({ip, prefix_bits(i->ifa_netmask, ip.size())});
    }
    return out;
  }

  std::string operating_system() const override {
    std::ifstream in(os_release_);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    return os_release_text(text.str());
  }

  std::string first_mac() const override { return node::first_mac(sys_class_net_); }

 private:
  const std::string os_release_;
  const std::filesystem::path sys_class_net_;
};

std::string read_line(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string unquote(std::string v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    return v.substr(1, v.size() - 2);
  }
  return v;
}

}  // namespace

std::string os_release_text(const std::string& contents) {
  std::map<std::string, std::string> vars;
  std::istringstream in(contents);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos || line.front() == '#') continue;
    vars[line.substr(0, eq)] = unquote(line.substr(eq + 1));
  }
  std::string name = vars.count("NAME") ? vars["NAME"] : "Linux";
  auto version = vars.count("VERSION_ID") ? vars["VERSION_ID"] : "";
  return version.empty() ? name : name + " (" + version + ")";
}

std::unique_ptr<HostFacts> make_linux_host_facts(std::string os_release,
                                                 std::filesystem::path sys_class_net) {
  return std::make_unique<LinuxHostFacts>(std::move(os_release), std::move(sys_class_net));
}

std::string first_mac(const std::filesystem::path& sys_class_net) {
  constexpr int kLoopbackType = 772;  // ARPHRD_LOOPBACK
  std::string best;
  long best_index = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(sys_class_net, ec)) {
    const auto dir = entry.path();
    if (read_line(dir / "type") == std::to_string(kLoopbackType)) continue;
    // Other link types print longer addresses or none; they do not count.
    auto mac = config::parse_mac(read_line(dir / "address"));
    if (!mac || *mac == std::string(6, '\0')) continue;
    long index = 0;
    try {
      index = std::stol(read_line(dir / "ifindex"));
    } catch (const std::exception&) {
      continue;
    }
    if (best.empty() || index < best_index) {
      best = std::move(*mac);
      best_index = index;
    }
  }
  return best;
}

}  // namespace controllers::node
