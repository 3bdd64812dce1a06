// Daemon wiring. Startup order: state dir and lock, store and registry, config, gRPC servers,
// event-loop threads, controllers. Shutdown runs it backwards, gRPC first.
#include "machined/daemon.h"

#include <fcntl.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "config/machine_config.h"
#include "controllers/node/host_facts.h"
#include "controllers/register.h"
#include "machined/api_authenticator.h"
#include "machined/api_proxy.h"
#include "machined/file_watch.h"
#include "machined/machine_service.h"
#include "machined/metrics.h"
#include "machined/tls.h"
#include "platform/grpc_listener.h"
#include "platform/log_value.h"
#include "resources/config/config.h"
#include "resources/machine/machine.h"
#include "resources/register.h"
#include "runtime/api/state_service.h"
#include "runtime/controller/engine.h"
#include "runtime/plugin/loader.h"
#include "runtime/registry/registry.h"
#include "runtime/resource/proto_spec.h"
#include "runtime/resource/typed.h"
#include "runtime/state/inmem_state.h"
#include "values/net.h"

namespace machined {
namespace {

namespace api = runtime::api;
using std::chrono::seconds;

// For calls in flight at shutdown; watch streams and idle connections hold the servers until it
// passes, so it is short: every call here is a local read or write.
constexpr auto kShutdownGrace = seconds(1);
// How long a graceful reset waits for the discovery services to acknowledge the delete; after
// that the node goes anyway and its records expire by TTL.
constexpr auto kLeaveTimeout = seconds(10);

void dedupe(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

std::runtime_error errno_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// The state dir is private to machined: created 0700, and flock()ed so that two daemons never
// share one (the second would steal the first's socket).
class StateDirLock {
 public:
  explicit StateDirLock(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error("state dir " + dir.string() + ": " + ec.message());
    // It holds the node's keys: whatever mode it was created with, only the owner gets in.
    const auto perms = std::filesystem::status(dir, ec).permissions();
    if (!ec && (perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) !=
                   std::filesystem::perms::none) {
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
      if (!ec) spdlog::warn("state_dir_permissions_tightened path={} mode=0700", dir.string());
    }
    if (ec) throw std::runtime_error("state dir " + dir.string() + ": " + ec.message());
    const auto path = dir / "machined.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw errno_error("state dir lock " + path.string());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw std::runtime_error("state dir " + dir.string() + " is in use by another machined (" +
                               path.string() + " is locked)");
    }
  }
  ~StateDirLock() { ::close(fd_); }
  StateDirLock(const StateDirLock&) = delete;
  StateDirLock& operator=(const StateDirLock&) = delete;

 private:
  int fd_ = -1;
};

// Talos machine configs are tens of KiB; parsing tens of MiB of YAML takes seconds and hundreds
// of MiB, so a file past this is refused before it is read.
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;

// Whether something accepts connections on the unix socket at path.
bool socket_answers(const std::filesystem::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool answered = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return answered;
}

std::string read_config(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) throw std::runtime_error("config " + path.string() + ": " + ec.message());
  if (!std::filesystem::is_regular_file(status)) {
    throw std::runtime_error("config " + path.string() + ": not a regular file");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxConfigBytes) {
    throw std::runtime_error("config " + path.string() + ": " + std::to_string(size) +
                             " bytes, more than the " + std::to_string(kMaxConfigBytes) +
                             " a machine config may have");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw errno_error("config " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw errno_error("config " + path.string());
  // An empty file is more likely a failed write than a wish to run without a config.
  if (text.str().empty())
    throw std::runtime_error("config " + path.string() + ": the file is empty");
  return text.str();
}

class DaemonImpl final : public Daemon {
 public:
  explicit DaemonImpl(const DaemonOptions& options)
      : options_(options),
        socket_path_(options.socket_path.empty() ? options.state_dir / "machined.sock"
                                                 : options.socket_path),
        lock_(options.state_dir),
        work_(boost::asio::make_work_guard(io_)) {
    if (socket_path_.string().size() >= sizeof(sockaddr_un{}.sun_path)) {
      throw std::runtime_error("socket path " + socket_path_.string() + " is longer than " +
                               std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    }
    registry_ = runtime::registry::make_state_registry(state_);
    resources::register_all(*registry_);
    if (!options_.config_path.empty()) reload_config();
    engine_ = std::make_unique<runtime::controller::Engine>(state_, io_.get_executor());
    controllers::Dependencies deps{options_.state_dir, controllers::node::make_linux_host_facts()};
    deps.discovery_service.on_left = [this] { finish_reset("left the cluster"); };
    controllers::register_controllers(*engine_, deps);
    if (!options_.plugin_dir.empty()) load_plugins();

    start_local_server();
    start_api_server();
    if (!options_.metrics_addr.empty()) {
      metrics_ = start_metrics_server(io_.get_executor(), options_.metrics_addr, [this] {
        return render_metrics(engine_->stats(), state_.stats(), kubernetes::client_stats(),
                              api_listener_->counts(), api_calls_->counts());
      });
    }
    if (!options_.config_path.empty()) {
      config_watch_ = watch_file(io_.get_executor(), options_.config_path, [this] {
        try {
          reload_config();
        } catch (const std::exception& e) {
          spdlog::error("config_reload_failed error=\"{}\"", platform::log_value(e.what()));
        }
      });
    }
    // Nothing below throws past here without stop(): threads must be joined.
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
    try {
      engine_->start();
    } catch (...) {
      stop();
      throw;
    }
  }

  ~DaemonImpl() override { stop(); }

  int api_port() const override { return api_listener_->port(); }
  int metrics_port() const override { return metrics_ ? metrics_->port() : 0; }
  const std::filesystem::path& socket_path() const override { return socket_path_; }

  void reload_config() override {
    if (options_.config_path.empty()) throw std::runtime_error("no --config to reload");
    // SIGHUP (main thread) and the file watch (event loop) may both get here.
    std::lock_guard lock(reload_mu_);
    const std::string text = read_config(options_.config_path);
    namespace rc = resources::config;
    const auto ptr = runtime::resource::pointer_to<rc::MachineConfig>(rc::kActiveId);
    const auto stored = state_.get(ptr);
    if (auto current = runtime::resource::Typed<rc::MachineConfig>(stored);
        current && current->text() == text) {
      spdlog::info("config_unchanged path={}", options_.config_path.string());
      return;
    }
    // Parsed and validated once, here: a bad edit is refused and the running config stays.
    runtime::resource::Resource next{
        runtime::resource::Metadata(ptr),
        rc::MachineConfigSpec::parse(text, options_.config_path.string())};
    if (!stored) {
      state_.create(std::move(next));
    } else {
      next.metadata.version = stored->metadata.version;
      state_.update(std::move(next));
    }
    spdlog::info("config_loaded path={} bytes={}", options_.config_path.string(), text.size());
  }

  void stop() override {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    const auto deadline = std::chrono::system_clock::now() + kShutdownGrace;
    if (api_listener_) api_listener_->stop();
    for (auto* server : {local_server_.get(), api_server_.get(), internal_server_.get()}) {
      if (server != nullptr) server->Shutdown(deadline);
    }
    config_watch_.reset();
    if (metrics_) metrics_->stop();
    if (engine_) engine_->stop();
    bool wipe = false;
    {
      std::lock_guard reset_lock(reset_mu_);
      if (leave_timer_) leave_timer_->cancel();
      wipe = reset_started_;
    }
    // No io_.stop(): finished gRPC streams free themselves with a task on the io_context, so
    // the threads run until that queue is empty.
    work_.reset();
    for (auto& t : threads_) t.join();
    threads_.clear();
    std::error_code ignored;
    std::filesystem::remove(socket_path_, ignored);
    if (wipe) wipe_state();
  }

 private:
  // Reset, step 1 (on a gRPC thread): signal it, which makes the discovery controller delete the
  // affiliate everywhere; step 2 is finish_reset, when that is acknowledged or the wait is over.
  std::string start_reset(const ResetRequest& request) {
    namespace rm = resources::machine;
    {
      std::lock_guard lock(reset_mu_);
      if (reset_started_) return "a reset is already in progress";
      try {
        state_.create(runtime::resource::make_resource(
            runtime::resource::Metadata(
                runtime::resource::pointer_to<rm::MachineResetSignal>(rm::kResetSignalId)),
            rm::MachineResetSignalSpec{}));
      } catch (const std::exception& e) {
        return std::string("cannot signal the reset: ") + e.what();
      }
      reset_started_ = true;
      spdlog::info("reset_started graceful={}", request.graceful);
      if (request.graceful) {
        leave_timer_.emplace(io_, kLeaveTimeout);
        leave_timer_->async_wait([this](const boost::system::error_code& ec) {
          if (!ec)
            finish_reset("timed out waiting for the discovery services; records expire by TTL");
        });
        return {};
      }
    }
    finish_reset("not graceful: the discovery records expire by TTL");
    return {};
  }

  // Also reached when something else created the reset signal through the State API: only a
  // reset started by Reset asks the owner to stop.
  void finish_reset(const char* how) {
    {
      std::lock_guard lock(reset_mu_);
      if (!reset_started_ || reset_finished_) return;
      reset_finished_ = true;
    }
    spdlog::info("reset_ready how=\"{}\"", how);
    if (options_.on_exit_request) options_.on_exit_request();
  }

  // Plugins register after the built-in types and controllers, so a conflict names the plugin.
  void load_plugins() {
    class EngineHost final : public runtime::plugin::Host {
     public:
      EngineHost(runtime::registry::Registry& registry, runtime::controller::Engine& engine)
          : registry_(registry), engine_(engine) {}
      runtime::registry::Registry& registry() override { return registry_; }
      void register_controller(std::unique_ptr<runtime::controller::Controller> c) override {
        engine_.register_controller(std::move(c));
      }

     private:
      runtime::registry::Registry& registry_;
      runtime::controller::Engine& engine_;
    } host(*registry_, *engine_);
    runtime::plugin::load_plugins(options_.plugin_dir, host, plugins_);
    for (const auto& p : plugins_) {
      spdlog::info("plugin_loaded name={} path={}", p->name(), p->path().string());
    }
  }

  // What makes this node this node, as its controllers (built-in and plugins) declare it; the
  // config is the operator's and stays.
  void wipe_state() {
    std::vector<std::filesystem::path> files = engine_->node_state();
    if (options_.tls_cert.empty()) {
      // Certificate first: a crash in between leaves the key alone, which the next start
      // completes with a new certificate.
      files.push_back(options_.state_dir / kApiCertFile);
      files.push_back(options_.state_dir / kApiKeyFile);
    }
    for (const auto& f : files) {
      std::error_code ec;
      std::filesystem::remove(f, ec);
      if (ec) spdlog::error("reset_wipe_failed file={} error=\"{}\"", f.string(), ec.message());
    }
    spdlog::info("reset_state_wiped state_dir={}", options_.state_dir.string());
  }

  // The full State API for local tools and out-of-process controllers; the socket is 0600.
  void start_local_server() {
    std::error_code ec;
    // A socket left in our state dir belongs to a daemon that died (we hold the lock); one given
    // with --socket may belong to a live daemon of another state dir, which must keep it.
    if (std::filesystem::is_socket(socket_path_, ec)) {
      if (socket_answers(socket_path_)) {
        throw std::runtime_error("socket " + socket_path_.string() +
                                 " is in use by another process");
      }
      std::filesystem::remove(socket_path_, ec);
    }
    local_state_ = api::make_state_service(state_, io_.get_executor(), {});
    local_machine_ = make_machine_service(build_version_info(), nullptr,
                                          [this](const ResetRequest& r) { return start_reset(r); });
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_path_.string(), grpc::InsecureServerCredentials());
    builder.RegisterService(local_state_.get());
    builder.RegisterService(local_machine_.get());
    // The socket is created by bind(): a strict umask closes the window before the chmod.
    const mode_t old_mask = ::umask(0177);
    local_server_ = builder.BuildAndStart();
    ::umask(old_mask);
    if (!local_server_)
      throw std::runtime_error("cannot listen on unix socket " + socket_path_.string());
    if (::chmod(socket_path_.c_str(), 0600) != 0)
      throw errno_error("chmod " + socket_path_.string());
    spdlog::info("listening surface=local socket={} access=read-write", socket_path_.string());
  }

  // The read-only State API and Version over TLS: mutual TLS with the OS CA, callers' roles
  // from their certificates, as Talos's API; or, asked for, the insecure mode talosctl --insecure
  // reads (no client certificate, everyone a reader).
  void start_api_server() {
    if (options_.tls_cert.empty() != options_.tls_key.empty()) {
      throw std::runtime_error("--tls-cert and --tls-key go together");
    }
    const std::optional<config::OsCa> ca = configured_os_ca();
    if (ca && options_.api_insecure) {
      throw std::runtime_error(
          "--api-insecure: the config has an OS CA (machine.ca), so the API requires client "
          "certificates from it; drop the flag, or the CA");
    }
    if (!ca && !options_.api_insecure) {
      throw std::runtime_error(
          "the API on --api-addr needs the cluster's OS CA (machine.ca in --config; `nodectl gen "
          "config` writes one), or --api-insecure to let anyone read non-sensitive resources "
          "without a client certificate");
    }
    const NodeNames names = node_names();
    pki::KeyPair pair;
    if (!options_.tls_cert.empty()) {
      pair = load_key_pair(options_.tls_cert, options_.tls_key);
    } else if (ca) {
      pair = issue_node_certificate(*ca, names);
    } else {
      pair = load_or_create_api_key_pair(options_.state_dir);
    }
    grpc::SslServerCredentialsOptions ssl(
        ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
           : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    if (ca) ssl.pem_root_certs = ca->cert_pem;
    ssl.pem_key_cert_pairs.push_back({pair.key_pem, pair.cert_pem});

    // The services, reached only through the proxy (in process), which passes the caller's roles.
    auto forwarded = make_forwarded_roles_authenticator();
    api_state_ =
        api::make_state_service(state_, io_.get_executor(), {api::Access::kReadOnly, forwarded});
    auto version = build_version_info();
    version.rbac = ca.has_value();
    api_machine_ = make_machine_service(std::move(version), forwarded);
    grpc::ServerBuilder internal;
    internal.RegisterService(api_state_.get());
    internal.RegisterService(api_machine_.get());
    internal_server_ = internal.BuildAndStart();
    if (!internal_server_) throw std::runtime_error("cannot start the API's internal gRPC server");
    grpc::ChannelArguments local_args;
    local_args.SetMaxReceiveMessageSize(32 << 20);

    grpc::ServerBuilder builder;
    api_listener_ =
        platform::add_grpc_listener(builder, options_.api_addr, grpc::SslServerCredentials(ssl),
                                    options_.api_connections, "api");
    ApiProxyOptions proxy{.authenticator = ca ? make_certificate_authenticator()
                                              : api::fixed_roles({api::Role::kReader}),
                          .local = internal_server_->InProcessChannel(local_args),
                          .self = {.hosts = {}, .port = api_listener_->port()},
                          .peers = std::nullopt,
                          .stats = api_calls_};
    proxy.self.hosts.insert(names.dns.begin(), names.dns.end());
    proxy.self.hosts.insert(names.ips.begin(), names.ips.end());
    if (ca) proxy.peers = PeerCredentials{ca->cert_pem, pair.cert_pem, pair.key_pem};
    api_proxy_ = make_api_proxy(std::move(proxy));
    // A connection that has not finished its TLS handshake in 10 s is closed (gRPC's default is
    // 120 s): raw TCP clients cannot hold descriptors for minutes.
    builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10000);
    // A connection with no call for 5 min is closed, so idle clients cannot hold the connection
    // caps' places for ever (a watch, such as `get -w`, is a call and keeps its connection).
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60 * 1000);
    builder.RegisterCallbackGenericService(api_proxy_.get());
    api_server_ = builder.BuildAndStart();
    if (!api_server_) throw std::runtime_error("cannot start the gRPC server of --api-addr");
    api_listener_->start();
    spdlog::info(
        "listening surface=api addr={} port={} tls={} roles={} access=read-only "
        "max_connections={} max_connections_per_address={}",
        options_.api_addr, api_listener_->port(),
        ca ? "mutual" : (options_.tls_cert.empty() ? "self-signed" : "server-only"),
        ca ? "client-certificate" : "os:reader-for-anyone", options_.api_connections.total,
        options_.api_connections.per_address);
    if (!ca) {
      spdlog::warn(
          "api_insecure addr={} port={} reason=\"--api-insecure: no client certificate is asked "
          "for; anyone who reaches the port reads non-sensitive resources, the cluster ID "
          "included\"",
          options_.api_addr, api_listener_->port());
    }
  }

  runtime::resource::Typed<resources::config::MachineConfig> configured() const {
    namespace rc = resources::config;
    return runtime::resource::Typed<rc::MachineConfig>(
        state_.get(runtime::resource::pointer_to<rc::MachineConfig>(rc::kActiveId)));
  }

  std::optional<config::OsCa> configured_os_ca() const {
    const auto stored = configured();
    if (!stored) return std::nullopt;
    return stored->config().os_ca;
  }

  // What this node is called: the names and addresses in its certificate, and what a request's
  // `node` key must name to be served here.
  struct NodeNames {
    std::string hostname;
    std::vector<std::string> dns;
    std::vector<std::string> ips;
  };
  NodeNames node_names() const {
    auto facts = controllers::node::make_linux_host_facts();
    NodeNames names{facts->hostname(), {"localhost", facts->hostname()}, {"127.0.0.1", "::1"}};
    for (const auto& a : facts->addresses()) names.ips.push_back(values::net::ip_text(a.ip));
    if (auto stored = configured()) {
      const auto& cfg = stored->config();
      if (!cfg.hostname.empty()) names.dns.push_back(cfg.hostname);
      if (!cfg.nodename.empty()) names.dns.push_back(cfg.nodename);
      for (const auto& a : cfg.addresses.value_or(std::vector<std::string>{})) {
        names.ips.push_back(a.substr(0, a.find('/')));
      }
    }
    dedupe(names.dns);
    dedupe(names.ips);
    return names;
  }

  // The node's own certificate from the OS CA: it serves the API, and (os:impersonator, as a
  // Talos node's apid has) lets the node forward requests to its peers.
  static pki::KeyPair issue_node_certificate(const config::OsCa& ca, const NodeNames& names) {
    return pki::issue({ca.cert_pem, ca.key_pem}, {.common_name = names.hostname,
                                                  .organizations = {"os:impersonator"},
                                                  .dns_names = names.dns,
                                                  .ip_addresses = names.ips,
                                                  .usage = pki::Usage::kServerAndClient,
                                                  .days = 365});
  }

  const DaemonOptions options_;
  const std::filesystem::path socket_path_;
  StateDirLock lock_;
  // Declared before everything that may hold plugin code (specs in the store, types in the
  // registry, controllers in the engine), so it is unloaded after all of them are gone.
  std::vector<std::unique_ptr<runtime::plugin::Plugin>> plugins_;

  // Outlives the event loop, whose abandoned handlers may still refer to it when destroyed.
  runtime::state::InMemoryState state_;
  // Outlives everything that posts to it.
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;

  std::unique_ptr<runtime::registry::Registry> registry_;
  std::unique_ptr<runtime::controller::Engine> engine_;

  std::unique_ptr<grpc::Service> local_state_;
  std::unique_ptr<grpc::Service> local_machine_;
  std::unique_ptr<grpc::Server> local_server_;
  std::unique_ptr<grpc::Service> api_state_;
  std::unique_ptr<grpc::Service> api_machine_;
  // Serves api_state_ and api_machine_ to api_proxy_ in process; stopped after api_server_.
  std::unique_ptr<grpc::Server> internal_server_;
  std::unique_ptr<grpc::CallbackGenericService> api_proxy_;
  const std::shared_ptr<ApiCallStats> api_calls_ = std::make_shared<ApiCallStats>();
  // Hands connections to api_server_; stopped before it.
  std::unique_ptr<platform::GrpcListener> api_listener_;
  std::unique_ptr<grpc::Server> api_server_;
  std::unique_ptr<platform::HttpServer> metrics_;
  std::unique_ptr<FileWatch> config_watch_;
  std::mutex reload_mu_;

  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_

  std::mutex reset_mu_;
  bool reset_started_ = false;                            // guarded by reset_mu_
  bool reset_finished_ = false;                           // guarded by reset_mu_
  std::optional<boost::asio::steady_timer> leave_timer_;  // guarded by reset_mu_
};

}  // namespace

std::unique_ptr<Daemon> start_daemon(const DaemonOptions& options) {
  return std::make_unique<DaemonImpl>(options);
}

}  // namespace machined
