// A real etcd (Debian's etcd-server) on 127.0.0.1 for the etcd client tests: ephemeral ports, a
// temporary data dir, killed and reaped on destruction. It can be killed and started again on the
// same ports and data, to test what a client does while its server is gone. With certificates it
// serves clients over TLS and requires a client certificate signed by the given CA.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace tds::test {

// PEM files for a TLS etcd: its serving certificate (valid for 127.0.0.1) and the CA its
// clients' certificates must be signed by.
struct EtcdServerTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

class EtcdServer {
 public:
  // The binary: $TDS_ETCD_BIN, else /usr/bin/etcd.
  static std::string binary() {
    if (const char* v = std::getenv("TDS_ETCD_BIN"); v != nullptr && *v != '\0') return v;
    return "/usr/bin/etcd";
  }

  // Starts etcd and waits until it serves clients; ok() says whether it did, output() why not.
  explicit EtcdServer(std::optional<EtcdServerTls> tls = std::nullopt) : tls_(std::move(tls)) {
    char tmpl[] = "/tmp/tds-etcd-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    const auto ports = pick_free_ports(2);
    if (ports.size() != 2) return;
    client_port_ = ports[0];
    peer_port_ = ports[1];
    start();
  }

  ~EtcdServer() {
    process_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  bool ok() const { return ready_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  std::string output() const { return process_ ? process_->output() : std::string(); }

  // Kills etcd (SIGKILL: no goodbye to its clients) and reaps it.
  void kill() {
    process_.reset();
    ready_ = false;
  }

  // Starts etcd again on the same ports and data; true once it serves clients.
  bool start() {
    process_.reset();
    const std::string client = (tls_ ? "https://" : "http://") + endpoint();
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
#if defined(__aarch64__)
    // etcd 3.4 refuses to start on arm64 unless told the architecture is accepted.
    setenv("ETCD_UNSUPPORTED_ARCH", "arm64", 0);
#endif
    std::vector<std::string> args{binary(),
                                  "--name=default",
                                  "--data-dir=" + dir_ + "/data",
                                  "--listen-client-urls=" + client,
                                  "--advertise-client-urls=" + client,
                                  "--listen-peer-urls=" + peer,
                                  "--initial-advertise-peer-urls=" + peer,
                                  "--initial-cluster=default=" + peer,
                                  "--logger=zap",
                                  "--log-outputs=stderr"};
    if (tls_) {
      args.insert(args.end(), {"--cert-file=" + tls_->cert_file, "--key-file=" + tls_->key_file,
                               "--trusted-ca-file=" + tls_->ca_file, "--client-cert-auth"});
    }
    process_ = std::make_unique<ChildProcess>(std::move(args));
    ready_ =
        process_
            ->wait_for_output(std::regex("serving client traffic|ready to serve client requests"),
                              std::chrono::seconds(20))
            .has_value();
    return ready_;
  }

 private:
  // `n` distinct ports the kernel considers free on 127.0.0.1; empty on failure. Another process
  // could take one before etcd binds it, a race tests accept.
  static std::vector<int> pick_free_ports(std::size_t n) {
    std::vector<int> fds;
    std::vector<int> ports;
    for (std::size_t i = 0; i < n; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      fds.push_back(fd);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof addr;
      if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
          getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        break;
      }
      ports.push_back(ntohs(addr.sin_port));
    }
    for (const int fd : fds) close(fd);
    if (ports.size() != n) ports.clear();
    return ports;
  }

  std::optional<EtcdServerTls> tls_;
  std::string dir_;  // temporary: data dir lives in dir_/data
  int client_port_ = 0;
  int peer_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  bool ready_ = false;
};

}  // namespace tds::test
