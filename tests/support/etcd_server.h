// A real etcd (Debian's etcd-server) on 127.0.0.1 for the etcd client tests: one member or a
// cluster of several, ephemeral ports, temporary data dirs, every process killed and reaped on
// destruction. A member can be killed and started again on the same ports and data, to test what a
// client does while its server is gone. With certificates, members serve clients over TLS and
// require a client certificate signed by the given CA.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/free_ports.h"
#include "tests/support/loopback_http.h"

namespace tds::test {

// PEM files for a TLS etcd: its serving certificate (valid for 127.0.0.1) and the CA its
// clients' certificates must be signed by.
struct EtcdServerTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

class EtcdCluster {
 public:
  // The binary: $TDS_ETCD_BIN, else /usr/bin/etcd.
  static std::string binary() {
    if (const char* v = std::getenv("TDS_ETCD_BIN"); v != nullptr && *v != '\0') return v;
    return "/usr/bin/etcd";
  }

  // Starts `members` members together and waits until each serves clients; ok() says whether
  // they all did, output() why not.
  explicit EtcdCluster(std::size_t members = 1, std::optional<EtcdServerTls> tls = std::nullopt)
      : tls_(std::move(tls)) {
    char tmpl[] = "/tmp/tds-etcd-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    const auto ports = pick_free_ports(2 * members);
    if (ports.size() != 2 * members) return;
    for (std::size_t i = 0; i < members; ++i) {
      members_.push_back(
          Member{"m" + std::to_string(i), ports[2 * i], ports[2 * i + 1], {}, false});
    }
    for (std::size_t i = 0; i < members; ++i) {
      if (!initial_cluster_.empty()) initial_cluster_ += ",";
      initial_cluster_ += members_[i].name + "=" + peer_url(i);
    }
    // All processes first: a member of a new cluster serves only once a quorum has met.
    for (std::size_t i = 0; i < members; ++i) spawn(i);
    for (std::size_t i = 0; i < members; ++i) wait_ready(i);
  }

  ~EtcdCluster() {
    members_.clear();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  std::size_t size() const { return members_.size(); }
  bool ok() const {
    if (members_.empty()) return false;
    for (const auto& m : members_) {
      if (!m.ready) return false;
    }
    return true;
  }
  std::string endpoint(std::size_t i = 0) const {
    return "127.0.0.1:" + std::to_string(members_.at(i).client_port);
  }
  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < members_.size(); ++i) out.push_back(endpoint(i));
    return out;
  }
  // Every member's output, each under a header line.
  std::string output() const {
    std::string out;
    for (const auto& m : members_) {
      out += "--- etcd member " + m.name + "\n";
      if (m.process) out += m.process->output();
    }
    return out;
  }

  // The index of the member that is the raft leader now, as the running members report it (etcd's
  // JSON gateway, POST /v3/maintenance/status); nullopt when none answers or no leader is known.
  // Plaintext members only.
  std::optional<std::size_t> leader() const {
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (!members_[i].ready || tls_) continue;
      const std::string body = post(members_[i].client_port, "/v3/maintenance/status", "{}");
      std::smatch member, leader;
      if (!std::regex_search(body, member, std::regex("\"member_id\":\"([0-9]+)\"")) ||
          !std::regex_search(body, leader, std::regex("\"leader\":\"([0-9]+)\""))) {
        continue;
      }
      if (member[1] == leader[1]) return i;
    }
    return std::nullopt;
  }

  // Kills member i (SIGKILL: no goodbye to its clients or peers) and reaps it.
  void kill(std::size_t i = 0) {
    members_.at(i).process.reset();
    members_.at(i).ready = false;
  }

  // Starts member i again on the same ports and data; true once it serves clients.
  bool start(std::size_t i = 0) {
    spawn(i);
    return wait_ready(i);
  }

  // Starts several members again together (a member serves only once a quorum is up, so
  // starting them one after the other could wait for ever); true once they all serve clients.
  bool start(const std::vector<std::size_t>& members) {
    for (const auto i : members) spawn(i);
    bool all = true;
    for (const auto i : members) all = wait_ready(i) && all;
    return all;
  }

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::unique_ptr<ChildProcess> process;
    bool ready = false;
  };

  std::string peer_url(std::size_t i) const {
    return "http://127.0.0.1:" + std::to_string(members_[i].peer_port);
  }

  void spawn(std::size_t i) {
    auto& m = members_.at(i);
    m.process.reset();
    m.ready = false;
    const std::string client = (tls_ ? "https://" : "http://") + endpoint(i);
#if defined(__aarch64__)
    // etcd 3.4 refuses to start on arm64 unless told the architecture is accepted.
    setenv("ETCD_UNSUPPORTED_ARCH", "arm64", 0);
#endif
    std::vector<std::string> args{binary(),
                                  "--name=" + m.name,
                                  "--data-dir=" + dir_ + "/" + m.name,
                                  "--listen-client-urls=" + client,
                                  "--advertise-client-urls=" + client,
                                  "--listen-peer-urls=" + peer_url(i),
                                  "--initial-advertise-peer-urls=" + peer_url(i),
                                  "--initial-cluster=" + initial_cluster_,
                                  "--initial-cluster-state=new",
                                  "--logger=zap",
                                  "--log-outputs=stderr"};
    if (tls_) {
      args.insert(args.end(), {"--cert-file=" + tls_->cert_file, "--key-file=" + tls_->key_file,
                               "--trusted-ca-file=" + tls_->ca_file, "--client-cert-auth"});
    }
    m.process = std::make_unique<ChildProcess>(std::move(args));
  }

  // The body of an HTTP/1.0 POST to 127.0.0.1:port, or empty on any failure.
  static std::string post(int port, const std::string& path, const std::string& body) {
    return http_body(http_exchange(port,
                                   "POST " + path +
                                       " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: "
                                       "application/json\r\nContent-Length: " +
                                       std::to_string(body.size()) + "\r\n\r\n" + body,
                                   std::chrono::seconds(5)));
  }

  bool wait_ready(std::size_t i) {
    auto& m = members_.at(i);
    if (!m.process) return false;
    m.ready =
        m.process->wait_for_output(std::regex("serving client traffic"), std::chrono::seconds(20))
            .has_value();
    return m.ready;
  }

  std::optional<EtcdServerTls> tls_;
  std::string dir_;              // temporary: member data dirs live in dir_/<name>
  std::string initial_cluster_;  // name=peer_url,... of every member
  std::vector<Member> members_;  // test thread only
};

}  // namespace tds::test
