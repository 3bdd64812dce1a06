// A real etcd and kube-apiserver on 127.0.0.1 for the Kubernetes registry tests: certificates,
// static tokens and kubeconfigs from tests/kubernetes/apiserver/prepare.sh, readiness and test
// objects through curl, so the fixture does not depend on the C++ client it is used to test.
// Startup takes seconds: one per test binary (KubeApiServerEnvironment), not one per test.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/free_ports.h"
#include "tests/support/eventually.h"

namespace tds::test {

// Where the programs come from: the environment variables of these names win (to try another
// build by hand), else the compile definitions CMake gives the tests that use this fixture
// (tds_kube_apiserver_test in tests/kubernetes/CMakeLists.txt).
struct KubeApiServerBinaries {
  std::string apiserver;  // kube-apiserver, from tests/kubernetes/apiserver/build.sh
  std::string etcd;       // etcd 3.4 (Debian's etcd-server)
  std::string scripts;    // tests/kubernetes/apiserver: prepare.sh, etcd.sh, kube-apiserver.sh

  static KubeApiServerBinaries from_build() {
    KubeApiServerBinaries b;
#ifdef TDS_KUBE_APISERVER_BIN
    b.apiserver = TDS_KUBE_APISERVER_BIN;
#endif
#ifdef TDS_ETCD_BIN
    b.etcd = TDS_ETCD_BIN;
#endif
#ifdef TDS_KUBE_SCRIPTS_DIR
    b.scripts = TDS_KUBE_SCRIPTS_DIR;
#endif
    const auto from_env = [](const char* name, std::string& value) {
      if (const char* v = std::getenv(name); v != nullptr && *v != '\0') value = v;
    };
    from_env("TDS_KUBE_APISERVER_BIN", b.apiserver);
    from_env("TDS_ETCD_BIN", b.etcd);
    from_env("TDS_KUBE_SCRIPTS_DIR", b.scripts);
    return b;
  }
};

// One HTTP exchange through curl. status is 0 when there was no HTTP response; error then holds
// curl's message.
struct HttpResponse {
  int status = 0;
  std::string body;
  std::string error;
};

namespace kube_apiserver_detail {

inline constexpr char kCurl[] = "/usr/bin/curl";


inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The last `lines` lines of a process's output: enough for a failure message to show why.
inline std::string tail(const std::string& text, std::size_t lines = 40) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (std::size_t i = 0; i < lines; ++i) {
    if (pos == 0) return text;
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

// "exited with code N" or "was killed by signal N", from a wait status.
inline std::string describe_exit(std::optional<int> status) {
  if (!status) return "exited";
  if (WIFEXITED(*status)) return "exited with code " + std::to_string(WEXITSTATUS(*status));
  if (WIFSIGNALED(*status)) return "was killed by signal " + std::to_string(WTERMSIG(*status));
  return "exited (wait status " + std::to_string(*status) + ")";
}

// A JSON string literal for `s` (names, labels and addresses in test objects).
inline std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace kube_apiserver_detail

class KubeApiServer {
 public:
  using Clock = ChildProcess::Clock;

  // `dir` receives the certificates, kubeconfigs and etcd's data; empty: a fresh directory under
  // the system temp dir, removed again by the destructor.
  explicit KubeApiServer(std::filesystem::path dir = {},
                         KubeApiServerBinaries binaries = KubeApiServerBinaries::from_build())
      : dir_(std::move(dir)), binaries_(std::move(binaries)) {}

  // Children go first (the API server before its etcd); a temp dir of our own after them.
  ~KubeApiServer() {
    apiserver_.reset();
    etcd_.reset();
    if (owns_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  KubeApiServer(const KubeApiServer&) = delete;
  KubeApiServer& operator=(const KubeApiServer&) = delete;

  // Picks the ports, writes the credentials, starts etcd and then the API server, and waits until
  // /readyz answers 200. Call once.
  ::testing::AssertionResult start() {
    namespace detail = kube_apiserver_detail;
    const auto begin = Clock::now();
    if (etcd_) return ::testing::AssertionFailure() << "KubeApiServer::start called twice";
    for (const auto& [name, path] : {std::pair{"TDS_KUBE_APISERVER_BIN", binaries_.apiserver},
                                     std::pair{"TDS_ETCD_BIN", binaries_.etcd},
                                     std::pair{"TDS_KUBE_SCRIPTS_DIR", binaries_.scripts}}) {
      if (path.empty() || !std::filesystem::exists(path)) {
        return ::testing::AssertionFailure()
               << name << " is '" << path << "': not found (see tests/kubernetes/CMakeLists.txt)";
      }
    }
    if (dir_.empty()) {
      std::string tmpl =
          (std::filesystem::temp_directory_path() / "kube-apiserver-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) {
        return ::testing::AssertionFailure() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
      }
      dir_ = tmpl;
      owns_dir_ = true;
    }
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);

    const auto ports = pick_free_ports(3);
    if (ports.empty()) return ::testing::AssertionFailure() << "no free ports on 127.0.0.1";
    etcd_client_port_ = ports[0];
    etcd_peer_port_ = ports[1];
    port_ = ports[2];

    const auto prepared =
        run_to_exit({"/bin/bash", script("prepare.sh"), dir_.string(), std::to_string(port_)},
                    std::chrono::seconds(60));
    if (prepared.exit_code != 0) {
      return ::testing::AssertionFailure() << script("prepare.sh") << " failed (exit "
                                           << prepared.exit_code << "): " << prepared.output;
    }
    admin_token_ = detail::read_file(dir_ / "admin.token");
    while (!admin_token_.empty() && (admin_token_.back() == '\n' || admin_token_.back() == '\r')) {
      admin_token_.pop_back();
    }

    if (auto started = start_etcd(); !started) return started;
    auto started = start_apiserver();
    start_duration_ = Clock::now() - begin;
    return started;
  }

  // SIGTERM and wait: the API server shuts down gracefully and etcd keeps the data. Tests use the
  // gap to check that clients heal. Nothing holds the port meanwhile, so start_apiserver can take
  // it again (as could, in principle, another process).
  ::testing::AssertionResult stop_apiserver() {
    if (!apiserver_ || !apiserver_->alive()) {
      return ::testing::AssertionFailure() << "kube-apiserver is not running";
    }
    apiserver_->signal(SIGTERM);
    if (!apiserver_->wait_exit(std::chrono::seconds(60))) {
      apiserver_->signal(SIGKILL);
      apiserver_->wait_exit(std::chrono::seconds(10));
      return ::testing::AssertionFailure()
             << "kube-apiserver did not exit within 60 s of SIGTERM (killed); output:\n"
             << kube_apiserver_detail::tail(apiserver_->output());
    }
    return ::testing::AssertionSuccess();
  }

  // (Re)starts the API server on the same port and waits for /readyz. Output of earlier runs is
  // kept for apiserver_output().
  ::testing::AssertionResult start_apiserver() {
    namespace detail = kube_apiserver_detail;
    if (!etcd_) return ::testing::AssertionFailure() << "start() first";
    if (apiserver_ && apiserver_->alive()) {
      return ::testing::AssertionFailure() << "kube-apiserver is already running";
    }
    if (apiserver_) {
      earlier_apiserver_output_ += apiserver_->output() + "\n=== kube-apiserver restarted ===\n";
    }
    const auto begin = Clock::now();
    // The script execs the server: the child's pid is kube-apiserver's, for SIGTERM.
    apiserver_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/bin/bash", script("kube-apiserver.sh"), dir_.string(), std::to_string(port_),
        std::to_string(etcd_client_port_), binaries_.apiserver});
    const bool ready = eventually(
        [&] { return !apiserver_->alive() || admin_request("GET", "/readyz").status == 200; },
        std::chrono::seconds(120), std::chrono::milliseconds(100));
    if (!apiserver_->alive()) {
      return ::testing::AssertionFailure()
             << "kube-apiserver " << detail::describe_exit(apiserver_->exit_status())
             << " during startup; output:\n"
             << detail::tail(apiserver_->output());
    }
    if (!ready) {
      const auto verbose = admin_request("GET", "/readyz?verbose");
      return ::testing::AssertionFailure()
             << "kube-apiserver not ready after 120 s; /readyz?verbose: " << verbose.status << " "
             << verbose.error << verbose.body << "\noutput:\n"
             << detail::tail(apiserver_->output());
    }
    apiserver_start_duration_ = Clock::now() - begin;
    return ::testing::AssertionSuccess();
  }

  bool apiserver_running() { return apiserver_ && apiserver_->alive(); }

  std::string server() const { return "https://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::string etcd_endpoint() const {
    return "http://127.0.0.1:" + std::to_string(etcd_client_port_);
  }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ca_file() const { return dir_ / "ca.crt"; }
  // Bearer token of `admin` (group system:masters).
  std::filesystem::path admin_kubeconfig() const { return dir_ / "admin.kubeconfig"; }
  // Client certificate CN=admin, O=system:masters.
  std::filesystem::path cert_kubeconfig() const { return dir_ / "cert.kubeconfig"; }
  // Bearer token of system:node:<name> (group system:nodes); `name` is node-1 .. node-9.
  std::filesystem::path node_kubeconfig(const std::string& name) const {
    return dir_ / (name + ".kubeconfig");
  }
  // Bearer token of `nobody`: authenticated, no RBAC rights.
  std::filesystem::path nobody_kubeconfig() const { return dir_ / "nobody.kubeconfig"; }
  const std::string& admin_token() const { return admin_token_; }

  // Everything each process wrote (the API server's across restarts), for failure messages.
  std::string apiserver_output() const {
    return earlier_apiserver_output_ + (apiserver_ ? apiserver_->output() : std::string());
  }
  std::string etcd_output() const { return etcd_ ? etcd_->output() : std::string(); }

  // How long the last start() took (ports, credentials, etcd, API server ready), and the last
  // start_apiserver() alone.
  Clock::duration start_duration() const { return start_duration_; }
  Clock::duration apiserver_start_duration() const { return apiserver_start_duration_; }

  // One request as the identity of a kubeconfig this fixture wrote: its bearer token, or the
  // admin client certificate for cert_kubeconfig(). `path` starts with '/' and may carry a query.
  HttpResponse request(const std::filesystem::path& kubeconfig, const std::string& method,
                       const std::string& path, const std::string& body = {},
                       const std::string& content_type = "application/json") const {
    const std::string text = kube_apiserver_detail::read_file(kubeconfig);
    std::smatch token;
    if (std::regex_search(text, token, std::regex("\\n\\s*token: (\\S+)"))) {
      return curl({"-H", "Authorization: Bearer " + token[1].str()}, method, path, body,
                  content_type);
    }
    if (kubeconfig == cert_kubeconfig()) {
      return curl({"--cert", (dir_ / "admin-client.crt").string(), "--key",
                   (dir_ / "admin-client.key").string()},
                  method, path, body, content_type);
    }
    return {
        0, {}, kubeconfig.string() + ": no token, and not the fixture's client-cert kubeconfig"};
  }

  HttpResponse admin_request(const std::string& method, const std::string& path,
                             const std::string& body = {},
                             const std::string& content_type = "application/json") const {
    return curl({"-H", "Authorization: Bearer " + admin_token_}, method, path, body, content_type);
  }

  // A Node as a kubelet registers it: the object, then its status (the API ignores status on
  // create), with a Hostname address and the OS image.
  ::testing::AssertionResult create_node(const std::string& name,
                                         const std::map<std::string, std::string>& labels = {},
                                         const std::string& hostname_address = {},
                                         const std::string& os_image = {}) const {
    namespace detail = kube_apiserver_detail;
    std::string label_json;
    for (const auto& [key, value] : labels) {
      if (!label_json.empty()) label_json += ",";
      label_json += detail::json_quote(key) + ":" + detail::json_quote(value);
    }
    const auto created =
        admin_request("POST", "/api/v1/nodes",
                      R"({"apiVersion":"v1","kind":"Node","metadata":{"name":)" +
                          detail::json_quote(name) + R"(,"labels":{)" + label_json + "}}}");
    if (created.status != 201) return failed("create node " + name, created);
    const std::string addresses =
        hostname_address.empty()
            ? "[]"
            : R"([{"type":"Hostname","address":)" + detail::json_quote(hostname_address) + "}]";
    const auto patched =
        admin_request("PATCH", "/api/v1/nodes/" + name + "/status",
                      R"({"status":{"addresses":)" + addresses + R"(,"nodeInfo":{"osImage":)" +
                          detail::json_quote(os_image) + "}}}",
                      "application/strategic-merge-patch+json");
    if (patched.status != 200) return failed("patch status of node " + name, patched);
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult delete_node(const std::string& name) const {
    const auto deleted = admin_request("DELETE", "/api/v1/nodes/" + name);
    if (deleted.status != 200) return failed("delete node " + name, deleted);
    return ::testing::AssertionSuccess();
  }

  // The Node as JSON, or nothing when the GET does not answer 200 (404: no such Node).
  std::optional<std::string> node_json(const std::string& name) const {
    auto got = admin_request("GET", "/api/v1/nodes/" + name);
    if (got.status != 200) return std::nullopt;
    return std::move(got.body);
  }

 private:
  std::string script(const char* name) const {
    return (std::filesystem::path(binaries_.scripts) / name).string();
  }

  ::testing::AssertionResult start_etcd() {
    const std::string client = etcd_endpoint();
    etcd_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/bin/bash", script("etcd.sh"), dir_.string(), std::to_string(etcd_client_port_),
        std::to_string(etcd_peer_port_), binaries_.etcd});
    const bool healthy = eventually(
        [&] {
          if (!etcd_->alive()) return true;
          const auto health = curl({}, "GET", "", {}, {}, client + "/health");
          return health.status == 200 && health.body.find("true") != std::string::npos;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(50));
    if (!etcd_->alive() || !healthy) {
      return ::testing::AssertionFailure()
             << "etcd "
             << (etcd_->alive() ? "not healthy after 30 s"
                                : kube_apiserver_detail::describe_exit(etcd_->exit_status()))
             << "; output:\n"
             << kube_apiserver_detail::tail(etcd_->output());
    }
    return ::testing::AssertionSuccess();
  }

  // curl with the CA, the status code appended after the body; `url` overrides server() + path.
  HttpResponse curl(std::vector<std::string> auth, const std::string& method,
                    const std::string& path, const std::string& body,
                    const std::string& content_type, const std::string& url = {}) const {
    std::vector<std::string> args = {
        kube_apiserver_detail::kCurl, "-sS", "--max-time", "20", "--cacert",
        ca_file().string(),           "-X",  method,       "-w", "\n%{http_code}"};
    args.insert(args.end(), auth.begin(), auth.end());
    if (!body.empty()) {
      args.insert(args.end(), {"-H", "Content-Type: " + content_type, "--data-binary", body});
    }
    args.push_back(url.empty() ? server() + path : url);
    auto result = run_to_exit(std::move(args), std::chrono::seconds(30));
    HttpResponse response;
    const auto nl = result.output.rfind('\n');
    if (result.exit_code != 0 || nl == std::string::npos) {
      response.error = "curl " + method + " " + path + ": exit " +
                       std::to_string(result.exit_code) + ": " + result.output;
      return response;
    }
    response.status = std::atoi(result.output.c_str() + nl + 1);
    response.body = result.output.substr(0, nl);
    return response;
  }

  static ::testing::AssertionResult failed(const std::string& what, const HttpResponse& r) {
    return ::testing::AssertionFailure()
           << what << ": HTTP " << r.status << " " << r.error << r.body;
  }

  std::filesystem::path dir_;
  bool owns_dir_ = false;
  KubeApiServerBinaries binaries_;
  int etcd_client_port_ = 0;
  int etcd_peer_port_ = 0;
  int port_ = 0;
  std::string admin_token_;
  // The test thread owns the fixture; ChildProcess guards its own output.
  std::unique_ptr<ChildProcess> etcd_;
  std::unique_ptr<ChildProcess> apiserver_;
  std::string earlier_apiserver_output_;
  Clock::duration start_duration_{};
  Clock::duration apiserver_start_duration_{};
};

// One API server for a whole test binary. Register it before RUN_ALL_TESTS, e.g. at namespace
// scope in the test file (gtest owns the environment):
//   auto* const kube = static_cast<tds::test::KubeApiServerEnvironment*>(
//       ::testing::AddGlobalTestEnvironment(new tds::test::KubeApiServerEnvironment));
// and use kube->server() in the tests. When it cannot start, gtest runs none of the tests and
// prints why. Register the binary as one ctest entry (not gtest_discover_tests, which would run
// each test in its own process, each with its own API server).
class KubeApiServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    server_ = std::make_unique<KubeApiServer>();
    const auto started = server_->start();
    ASSERT_TRUE(started) << "\netcd output:\n"
                         << kube_apiserver_detail::tail(server_->etcd_output());
  }
  void TearDown() override { server_.reset(); }

  KubeApiServer& server() { return *server_; }

 private:
  std::unique_ptr<KubeApiServer> server_;
};

}  // namespace tds::test
