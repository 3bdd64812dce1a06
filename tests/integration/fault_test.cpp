// Faults against real processes: descriptor exhaustion on every TCP listener, kill -9 of the
// discovery-service under load, a full disk under its snapshot and under machined's state dir,
// damaged snapshot headers, and kill -9 of machined during a config reload, a reset and a first
// start. Each test is bounded; what it measured is printed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "discovery/server.grpc.pb.h"
#include "machine/machine.grpc.pb.h"
#include "tests/integration/cluster_harness.h"
#include "tests/machined/channels.h"
#include "tests/support/stop_and_join.h"

namespace {

using namespace tds::test::cluster;
using namespace std::chrono_literals;
using tds::test::TempDir;
using SystemClock = std::chrono::system_clock;

// ---------------------------------------------------------------------------------------------
// Shared helpers.

// Where `name` is on PATH, or empty.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const auto candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Written whole and renamed over `path`, as config management does.
void replace_file(const std::filesystem::path& path, const std::string& text) {
  const auto tmp = path.string() + ".new";
  write_file(tmp, text);
  std::filesystem::rename(tmp, path);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The wall-clock time of a log line's `ts=2026-01-02T03:04:05.678` (local time, as spdlog writes
// it).
std::optional<SystemClock::time_point> parse_log_time(const std::string& ts) {
  std::tm tm{};
  int millis = 0;
  if (std::sscanf(ts.c_str(), "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) != 7) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  const std::time_t seconds = std::mktime(&tm);
  if (seconds == -1) return std::nullopt;
  return SystemClock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

// `text` as a regex that matches it literally.
std::string regex_quote(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

long long ms_between(SystemClock::time_point from, SystemClock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// ---------------------------------------------------------------------------------------------
// Descriptor exhaustion.

// Low enough that a few hundred connections exhaust it; the daemons raise their soft limit to
// the hard one at start, so both are set.
constexpr int kOpenFilesLimit = 256;
constexpr int kFloodConnections = 300;
// A real request must succeed this soon after the flood is closed.
constexpr auto kRecoveryTimeout = 10s;

// `args` run with RLIMIT_NOFILE soft and hard at `limit` (the shell's ulimit sets both, and exec
// keeps the process ID).
std::vector<std::string> with_open_files_limit(int limit, std::vector<std::string> args) {
  args.insert(args.begin(),
              {"/bin/sh", "-c", "ulimit -n " + std::to_string(limit) + " && exec \"$0\" \"$@\""});
  return args;
}

// Descriptors the process has open, or -1 when /proc cannot tell.
int open_descriptors(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

// Connections waiting in the accept queue of the listener on `port` (a listening socket's
// rx_queue in /proc/net/tcp or tcp6: gRPC may listen on an IPv6 socket); nullopt when there is no
// such listener.
std::optional<int> accept_queue(int port) {
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, ":%04X", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the column names
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local_address, remote, state, queues;
      fields >> slot >> local_address >> remote >> state >> queues;
      if (!local_address.ends_with(suffix) || state != "0A") continue;
      const auto colon = queues.find(':');
      if (colon == std::string::npos) return std::nullopt;
      return std::stoi(queues.substr(colon + 1), nullptr, 16);
    }
  }
  return std::nullopt;
}

// Plain TCP connections to one port, each from one of several loopback addresses (16 from each),
// so that a cap per client address does not keep the flood from reaching the process's limit.
class Flood {
 public:
  ~Flood() { close_all(); }

  // Opens up to `count` connections; a connection the kernel does not complete within 200 ms
  // (a full backlog) is given up.
  void open(int port, int count) {
    for (int i = 0; i < count; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) break;
      sockaddr_in source{};
      source.sin_family = AF_INET;
      source.sin_addr.s_addr =
          htonl((127u << 24) | (77u << 16) | static_cast<uint32_t>(1 + i / 16));
      sockaddr_in target{};
      target.sin_family = AF_INET;
      target.sin_port = htons(static_cast<uint16_t>(port));
      target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bool connected = ::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) == 0;
      if (connected && ::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
        pollfd pfd{fd, POLLOUT, 0};
        int error = 0;
        socklen_t size = sizeof error;
        connected = errno == EINPROGRESS && ::poll(&pfd, 1, 200) == 1 &&
                    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0;
      }
      if (!connected) {
        ::close(fd);
        ++failed_;
        continue;
      }
      fds_.push_back(fd);
    }
  }

  // Connections the server has closed or reset (refused at accept or past a cap).
  int closed_by_server() const {
    int closed = 0;
    for (int fd : fds_) {
      char byte;
      const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) ++closed;
    }
    return closed;
  }

  void close_all() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }

  int opened() const { return static_cast<int>(fds_.size()); }
  int failed() const { return failed_; }

 private:
  std::vector<int> fds_;
  int failed_ = 0;
};

// The test opens a few hundred sockets itself.
void raise_own_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

struct Listener {
  std::string name;
  ChildProcess* process;
  int port;
  std::function<bool()> serves;  // one real request, answered
  bool http = false;             // our HTTP server: it logs failing and recovered accepts
};

// Floods the listener until the process is out of descriptors, closes the flood, and expects a
// real request to be served again within kRecoveryTimeout.
void exhaust_and_recover(const Listener& l) {
  raise_own_open_files_limit();
  const pid_t pid = l.process->pid();
  ASSERT_TRUE(l.serves()) << l.name << " does not serve before the flood:\n"
                          << tail(l.process->output());
  const int before = open_descriptors(pid);
  Flood flood;
  flood.open(l.port, kFloodConnections);
  int peak = 0;
  // Out of descriptors once the process holds the limit; a process that caps connections
  // closes the excess instead.
  const bool exhausted = tds::test::eventually(
      [&] {
        peak = std::max(peak, open_descriptors(pid));
        return peak >= kOpenFilesLimit - 1;
      },
      5s, 20ms);
  const int closed = flood.closed_by_server();
  std::cout << "[ fault    ] " << l.name << ": " << flood.opened() << " connections ("
            << flood.failed() << " not completed), descriptors " << before << " -> peak " << peak
            << " of " << kOpenFilesLimit << ", closed by the server " << closed << std::endl;
  EXPECT_TRUE(exhausted || closed > 0)
      << "the flood neither exhausted descriptors nor was refused\n"
      << tail(l.process->output());
  ASSERT_TRUE(l.process->alive()) << "died under the flood:\n" << tail(l.process->output());
  flood.close_all();

  const auto closed_at = Clock::now();
  const bool recovered = tds::test::eventually(l.serves, kRecoveryTimeout, 200ms);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - closed_at);
  if (recovered) {
    std::cout << "[ fault    ] " << l.name << ": served again " << took.count()
              << " ms after the flood closed" << std::endl;
  } else {
    // Whether the port still takes connections: a few fresh ones left in the accept queue mean
    // nobody accepts them.
    Flood probe;
    probe.open(l.port, 3);
    std::this_thread::sleep_for(500ms);
    const auto queued = accept_queue(l.port);
    ADD_FAILURE() << l.name << " serves no request " << took.count()
                  << " ms after the flood closed; descriptors now " << open_descriptors(pid)
                  << "; accept queue of the port: "
                  << (queued ? std::to_string(*queued) : std::string("no listener")) << " (3 fresh"
                  << " connections made"
                  << (queued && *queued >= 3 ? ", none accepted: the port"
                                               " stopped accepting)"
                                             : ")")
                  << "; 'Too many open files' in the log: "
                  << (l.process->output().find("Too many open files") != std::string::npos ? "yes"
                                                                                           : "no")
                  << "\n"
                  << tail(l.process->output());
  }
  if (l.http && exhausted) {
    EXPECT_NE(l.process->output().find("event=http accept failing port=" + std::to_string(l.port)),
              std::string::npos)
        << tail(l.process->output());
    if (recovered) {
      EXPECT_NE(
          l.process->output().find("event=http accept recovered port=" + std::to_string(l.port)),
          std::string::npos)
          << tail(l.process->output());
    }
  }
  EXPECT_TRUE(l.process->alive()) << tail(l.process->output());
}

// A discovery-service with both HTTP listeners, under the low descriptor limit.
class DiscoveryServiceDescriptors : public ::testing::Test {
 protected:
  void SetUp() override {
    proc_ = std::make_unique<ChildProcess>(with_open_files_limit(
        kOpenFilesLimit,
        {DISCOVERY_SERVICE_BIN, "--addr", "127.0.0.1:0", "--landing-addr", "127.0.0.1:0",
         "--metrics-addr", "127.0.0.1:0", "--snapshots-enabled=false", "--rate-limit", "0"}));
    const std::regex listening(
        "event=listening .*? port=([0-9]+) .*landing_port=([0-9]+) metrics_port=([0-9]+)");
    ASSERT_TRUE(proc_->wait_for_output(listening, kTimeout)) << proc_->output();
    const std::string out = proc_->output();
    std::smatch match;
    std::regex_search(out, match, listening);
    grpc_port_ = std::stoi(match[1]);
    landing_port_ = std::stoi(match[2]);
    metrics_port_ = std::stoi(match[3]);
    ASSERT_NE(out.find("event=open_files_limit soft=" + std::to_string(kOpenFilesLimit)),
              std::string::npos)
        << out;
  }

  // Hello on a connection of its own: a pooled one would hide a listener that stopped accepting.
  bool hello() const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto stub = pb::Cluster::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(grpc_port_), grpc::InsecureChannelCredentials(), args));
    grpc::ClientContext ctx;
    ctx.set_deadline(SystemClock::now() + 2s);
    pb::HelloRequest request;
    request.set_cluster_id("fault");
    pb::HelloResponse response;
    return stub->Hello(&ctx, request, &response).ok();
  }

  std::unique_ptr<ChildProcess> proc_;
  int grpc_port_ = 0;
  int landing_port_ = 0;
  int metrics_port_ = 0;
};

TEST_F(DiscoveryServiceDescriptors, GrpcListenerRecovers) {
  exhaust_and_recover(
      {"discovery-service --addr (gRPC)", proc_.get(), grpc_port_, [this] { return hello(); }});
}

TEST_F(DiscoveryServiceDescriptors, LandingListenerRecovers) {
  exhaust_and_recover({"discovery-service --landing-addr (/healthz)", proc_.get(), landing_port_,
                       [this] { return http_status(landing_port_, "/healthz") == 200; }, true});
}

TEST_F(DiscoveryServiceDescriptors, MetricsListenerRecovers) {
  exhaust_and_recover({"discovery-service --metrics-addr (/metrics)", proc_.get(), metrics_port_,
                       [this] { return http_status(metrics_port_, "/metrics") == 200; }, true});
}

// A machined with its metrics listener, under the low descriptor limit.
class MachinedDescriptors : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path() / "config.yaml") << "version: v1alpha1\nmachine:\n  type: worker\n";
    proc_ = std::make_unique<ChildProcess>(with_open_files_limit(
        kOpenFilesLimit, {MACHINED_BIN, "--state-dir", (dir_.path() / "state").string(), "--config",
                          (dir_.path() / "config.yaml").string(), "--api-addr", "127.0.0.1:0",
                          "--api-insecure", "--metrics-addr", "127.0.0.1:0"}));
    const std::regex started("event=started .*api_port=([0-9]+) metrics_port=([0-9]+)");
    ASSERT_TRUE(proc_->wait_for_output(started, kTimeout)) << proc_->output();
    const std::string out = proc_->output();
    std::smatch match;
    std::regex_search(out, match, started);
    api_port_ = std::stoi(match[1]);
    metrics_port_ = std::stoi(match[2]);
  }

  void TearDown() override {
    if (proc_) proc_->signal(SIGKILL);
  }

  // Version over TLS on a connection of its own.
  bool version() const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    grpc::experimental::TlsChannelCredentialsOptions tls;
    tls.set_verify_server_certs(false);
    tls.set_check_call_host(false);
    tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    auto stub = ::machine::MachineService::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(api_port_), grpc::experimental::TlsCredentials(tls), args));
    grpc::ClientContext ctx;
    ctx.set_deadline(SystemClock::now() + 2s);
    ::machine::VersionResponse response;
    return stub->Version(&ctx, google::protobuf::Empty(), &response).ok();
  }

  TempDir dir_;
  std::unique_ptr<ChildProcess> proc_;
  int api_port_ = 0;
  int metrics_port_ = 0;
};

TEST_F(MachinedDescriptors, ApiListenerRecovers) {
  exhaust_and_recover(
      {"machined --api-addr (TLS gRPC)", proc_.get(), api_port_, [this] { return version(); }});
}

TEST_F(MachinedDescriptors, MetricsListenerRecovers) {
  exhaust_and_recover({"machined --metrics-addr (/metrics)", proc_.get(), metrics_port_,
                       [this] { return http_status(metrics_port_, "/metrics") == 200; }, true});
}

// ---------------------------------------------------------------------------------------------
// kill -9 of the discovery-service under load.

constexpr auto kSnapshotInterval = 1s;

// The seed for this run's random choices: TDS_FAULT_SEED when set, otherwise a fresh one. Printed,
// so a failure can be replayed.
std::uint64_t seed_for(const std::string& test) {
  std::uint64_t seed = std::random_device{}();
  if (const char* fixed = std::getenv("TDS_FAULT_SEED")) seed = std::stoull(fixed);
  std::cout << "[ fault    ] " << test << ": seed " << seed << " (TDS_FAULT_SEED=" << seed
            << " replays it)" << std::endl;
  return seed;
}

// One acknowledged AffiliateUpdate: the affiliate's data is "<id>#<seq>".
struct Ack {
  std::string cluster;
  std::string id;
  int seq;
  SystemClock::time_point at;  // when the response arrived
};

// A completed periodic save, from its log line.
struct Save {
  SystemClock::time_point started;  // the log time minus the duration it reports
  long long duration_ms;
  int affiliates;
};

std::vector<Save> saves_in(const std::string& log) {
  std::vector<Save> out;
  const std::regex line(
      "ts=(\\S+) level=info event=state saved .*? affiliates=([0-9]+) .*?duration_ms=([0-9]+)");
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) {
    const auto at = parse_log_time((*it)[1]);
    if (!at) continue;
    const long long duration = std::stoll((*it)[3]);
    out.push_back({*at - std::chrono::milliseconds(duration), duration, std::stoi((*it)[2])});
  }
  return out;
}

class DiscoveryServiceKill : public ::testing::Test {
 protected:
  void TearDown() override {
    if (service_ && service_->process() != nullptr) service_->kill();
  }

  TempDir dir_;
  std::unique_ptr<DiscoveryService> service_;
};

TEST_F(DiscoveryServiceKill, KillNineUnderLoadLosesOnlyTheLastSaveWindow) {
  std::mt19937_64 rng(seed_for("KillNineUnderLoad"));
  const DiscoveryService::Options options{
      .snapshots = true,
      .rate_limit = false,
      .extra_args = {"--snapshot-interval", "1s", "--gc-interval", "1m"}};
  service_ = std::make_unique<DiscoveryService>(dir_.path() / "discovery", options);
  ASSERT_TRUE(service_->start());

  // Two writers, each the only one writing its affiliates (so an affiliate's sequence numbers
  // are acknowledged in order), spread over three clusters.
  constexpr int kWriters = 2;
  constexpr int kAffiliatesPerWriter = 150;
  std::atomic<bool> stop = false;
  std::mutex mu;
  std::vector<Ack> acks;                 // guarded by mu
  std::map<std::string, int> last_sent;  // guarded by mu: the highest seq sent, acknowledged or not
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto stub = service_->stub();
      std::vector<int> seq(kAffiliatesPerWriter, 0);
      for (int n = 0; !stop; n = (n + 1) % kAffiliatesPerWriter) {
        const std::string cluster = "kill9-" + std::to_string(n % 3);
        const std::string id = "w" + std::to_string(w) + "-" + std::to_string(n);
        const int s = ++seq[n];
        pb::AffiliateUpdateRequest request;
        request.set_cluster_id(cluster);
        request.set_affiliate_id(id);
        request.set_affiliate_data(id + "#" + std::to_string(s));
        request.mutable_ttl()->set_seconds(600);
        {
          std::lock_guard lock(mu);
          last_sent[id] = s;
        }
        grpc::ClientContext ctx;
        ctx.set_deadline(SystemClock::now() + 5s);
        pb::AffiliateUpdateResponse response;
        if (!stub->AffiliateUpdate(&ctx, request, &response).ok()) {
          if (stop) break;
          continue;
        }
        const auto at = SystemClock::now();
        std::lock_guard lock(mu);
        acks.push_back({cluster, id, s, at});
      }
    });
  }
  const tds::test::StopAndJoin joiner{stop, writers};

  // Killed a random while after the first save, so saves and updates overlap at the kill.
  ASSERT_TRUE(service_->process()->wait_for_output(std::regex("event=state saved"), kTimeout))
      << tail(service_->output());
  std::this_thread::sleep_for(
      std::chrono::milliseconds(std::uniform_int_distribution<int>(1500, 3500)(rng)));
  const auto killed_at = SystemClock::now();
  service_->kill();
  stop = true;
  for (auto& t : writers) t.join();
  writers.clear();
  const std::string before_kill = service_->last_output();

  ASSERT_TRUE(service_->start(options)) << tail(service_->output());
  const std::string restarted = service_->output();
  EXPECT_EQ(restarted.find("snapshot_damaged"), std::string::npos) << restarted;
  EXPECT_NE(restarted.find("event=state loaded"), std::string::npos) << restarted;

  // What came back: the sequence number of each affiliate's data.
  std::map<std::string, int> restored;
  for (int c = 0; c < 3; ++c) {
    grpc::ClientContext ctx;
    ctx.set_deadline(SystemClock::now() + 10s);
    pb::ListRequest request;
    request.set_cluster_id("kill9-" + std::to_string(c));
    pb::ListResponse response;
    ASSERT_TRUE(service_->stub()->List(&ctx, request, &response).ok());
    for (const auto& a : response.affiliates()) {
      const auto hash = a.data().find('#');
      ASSERT_NE(hash, std::string::npos) << a.data();
      ASSERT_EQ(a.data().substr(0, hash), a.id()) << "data of another affiliate";
      restored[a.id()] = std::stoi(a.data().substr(hash + 1));
    }
  }
  for (const auto& [id, s] : restored) {
    ASSERT_TRUE(last_sent.contains(id)) << id << " was never sent";
    EXPECT_LE(s, last_sent[id]) << id << " came back with data never sent";
  }

  const auto saves = saves_in(before_kill);
  ASSERT_FALSE(saves.empty()) << tail(before_kill);
  long long longest_save_ms = 0;
  for (const auto& s : saves) longest_save_ms = std::max(longest_save_ms, s.duration_ms);
  // The promise: a change is saved within one interval, plus the save under way when it was made
  // and the one that takes it (each as long as the longest seen), plus half a second for a busy
  // machine.
  const auto promised =
      killed_at - kSnapshotInterval - 500ms - std::chrono::milliseconds(2 * longest_save_ms);
  // Nearly exactly: a save takes in everything acknowledged before it started. Its start is read
  // back from the log (milliseconds, stamped just after the duration was taken); 100 ms cover the
  // rounding and a thread descheduled in between.
  const auto last_save_start = saves.back().started - 100ms;

  std::size_t missing = 0;
  std::optional<SystemClock::time_point> first_missing;
  std::set<std::string> behind;  // affiliates that came back older than acknowledged
  std::size_t outside_promise = 0;
  std::size_t before_last_save = 0;
  std::string example;
  for (const auto& ack : acks) {
    const auto it = restored.find(ack.id);
    if (it != restored.end() && it->second >= ack.seq) continue;
    ++missing;
    behind.insert(ack.id);
    if (!first_missing || ack.at < *first_missing) first_missing = ack.at;
    const bool broken = ack.at < promised;
    outside_promise += broken ? 1 : 0;
    before_last_save += ack.at < last_save_start ? 1 : 0;
    if ((broken || ack.at < last_save_start) && example.empty()) {
      example = ack.id + "#" + std::to_string(ack.seq) + " acknowledged " +
                std::to_string(ms_between(ack.at, killed_at)) + " ms before the kill and " +
                std::to_string(ms_between(ack.at, saves.back().started)) +
                " ms before the last save started, came back as " +
                (it == restored.end() ? std::string("nothing") : "#" + std::to_string(it->second));
    }
  }
  std::cout << "[ fault    ] kill -9 under load: " << acks.size() << " changes acknowledged, "
            << saves.size() << " saves (longest " << longest_save_ms << " ms), last save started "
            << ms_between(saves.back().started, killed_at) << " ms before the kill; " << missing
            << " acknowledged changes missing after the restart (" << behind.size() << " of "
            << last_sent.size() << " affiliates behind)";
  if (first_missing) {
    std::cout << ", the oldest acknowledged " << ms_between(*first_missing, killed_at)
              << " ms before the kill";
  }
  std::cout << std::endl;
  EXPECT_EQ(outside_promise, 0u) << "changes acknowledged more than one interval (and margins) "
                                    "before the kill are missing, e.g. "
                                 << example;
  EXPECT_EQ(before_last_save, 0u)
      << "changes acknowledged before the last save started are missing, e.g. " << example;
  EXPECT_GT(acks.size(), 300u) << "too little load to mean anything";
}

// ---------------------------------------------------------------------------------------------
// Full disk: a small tmpfs in a mount namespace of the test's own.

// A process holding a private mount namespace in which `dir` is a tmpfs of `size`; other
// processes join it through nsenter, and the test reaches its files through
// /proc/<pid>/root. Unprivileged, a user namespace comes along (unshare -r).
class TmpfsNamespace {
 public:
  // Empty when no namespace could be made here; skip() then says why.
  static std::unique_ptr<TmpfsNamespace> make(const std::filesystem::path& dir,
                                              const std::string& size) {
    auto out = std::unique_ptr<TmpfsNamespace>(new TmpfsNamespace());
    out->unshare_ = find_program("unshare");
    out->nsenter_ = find_program("nsenter");
    if (out->unshare_.empty() || out->nsenter_.empty()) {
      skip_reason_ = "unshare or nsenter is not installed";
      return nullptr;
    }
    std::vector<std::vector<std::string>> tries;
    if (::geteuid() == 0) tries.push_back({"-m"});
    tries.push_back({"-r", "-m"});
    skip_reason_.clear();
    for (const auto& flags : tries) {
      std::vector<std::string> args = {out->unshare_};
      args.insert(args.end(), flags.begin(), flags.end());
      args.insert(args.end(), {"/bin/sh", "-c",
                               "mount -t tmpfs -o size=\"$1\",mode=0700 tmpfs \"$0\" && echo "
                               "mounted && exec sleep 100000",
                               dir.string(), size});
      out->holder_ = std::make_unique<ChildProcess>(args);
      if (out->holder_->wait_for_output(std::regex("mounted\n"), kTimeout)) {
        out->user_namespace_ = flags.size() == 2;
        out->dir_ = dir;
        return out;
      }
      out->holder_->wait_exit(kTimeout);
      skip_reason_ += "unshare " + flags[0] + (flags.size() == 2 ? " " + flags[1] : "") + ": " +
                      out->holder_->output();
    }
    return nullptr;
  }
  static const std::string& skip_reason() { return skip_reason_; }

  // `path` (inside the tmpfs) as the test sees it.
  std::filesystem::path outside(const std::filesystem::path& path) const {
    return "/proc/" + std::to_string(holder_->pid()) + "/root" + path.string();
  }
  // `args` run inside the namespace (nsenter execs them: the process ID stays).
  std::vector<std::string> inside(std::vector<std::string> args) const {
    std::vector<std::string> prefix = {nsenter_, "-t", std::to_string(holder_->pid()), "-m"};
    if (user_namespace_) prefix.insert(prefix.end(), {"-U", "--preserve-credentials"});
    prefix.push_back("--");
    args.insert(args.begin(), prefix.begin(), prefix.end());
    return args;
  }

  // Fills the tmpfs with one file until it is full; returns its name.
  std::filesystem::path fill() const {
    const auto filler = outside(dir_ / "filler");
    std::FILE* f = std::fopen(filler.c_str(), "wb");
    if (f == nullptr) return filler;
    const std::string block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size()) {
    }
    std::fclose(f);
    // A last partial page may still fit.
    f = std::fopen(filler.c_str(), "ab");
    if (f != nullptr) {
      while (std::fputc('x', f) != EOF && std::fflush(f) == 0) {
      }
      std::fclose(f);
    }
    return filler;
  }

 private:
  TmpfsNamespace() = default;
  static inline std::string skip_reason_;
  std::string unshare_;
  std::string nsenter_;
  bool user_namespace_ = false;
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> holder_;
};

// An affiliate of `bytes` data.
grpc::Status put_affiliate(pb::Cluster::Stub& stub, const std::string& cluster,
                           const std::string& id, std::size_t bytes) {
  grpc::ClientContext ctx;
  ctx.set_deadline(SystemClock::now() + 10s);
  pb::AffiliateUpdateRequest request;
  request.set_cluster_id(cluster);
  request.set_affiliate_id(id);
  std::string data = id + ":";
  data.resize(bytes, 'd');
  request.set_affiliate_data(data);
  request.mutable_ttl()->set_seconds(600);
  pb::AffiliateUpdateResponse response;
  return stub.AffiliateUpdate(&ctx, request, &response);
}

std::optional<int> affiliate_count(pb::Cluster::Stub& stub, const std::string& cluster) {
  grpc::ClientContext ctx;
  ctx.set_deadline(SystemClock::now() + 10s);
  pb::ListRequest request;
  request.set_cluster_id(cluster);
  pb::ListResponse response;
  if (!stub.List(&ctx, request, &response).ok()) return std::nullopt;
  return response.affiliates_size();
}

// A counter from /metrics with its labels written out, e.g. `x_total{a="b"}`.
std::optional<double> metric_value(int port, const std::string& sample) {
  const std::string text = http_get(port, "/metrics");
  const auto at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stod(text.substr(at + sample.size() + 2));
}

// Runs a discovery-service on a snapshot file (outside any namespace) and returns the number of
// affiliates it loads into `cluster`.
std::optional<int> affiliates_loaded_from(const std::filesystem::path& snapshot,
                                          const std::string& cluster) {
  ChildProcess proc({DISCOVERY_SERVICE_BIN, "--addr", "127.0.0.1:0",
                     "--landing-addr=", "--metrics-addr=", "--snapshot-path", snapshot.string()});
  const auto port = proc.wait_for_listening_port(kTimeout);
  if (!port) {
    ADD_FAILURE() << proc.output();
    return std::nullopt;
  }
  EXPECT_EQ(proc.output().find("snapshot_damaged"), std::string::npos) << proc.output();
  auto stub = pb::Cluster::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(*port),
                                                       grpc::InsecureChannelCredentials()));
  return affiliate_count(*stub, cluster);
}

TEST(FullDisk, DiscoveryServiceKeepsThePreviousSnapshotAndSavesOnceThereIsRoom) {
  TempDir dir;
  const auto mnt = dir.path() / "mnt";
  std::filesystem::create_directories(mnt);
  auto ns = TmpfsNamespace::make(mnt, "256k");
  if (!ns) GTEST_SKIP() << "cannot mount a tmpfs here: " << TmpfsNamespace::skip_reason();
  const auto snapshot = mnt / "state.binpb";
  ChildProcess proc(
      ns->inside({DISCOVERY_SERVICE_BIN, "--addr", "127.0.0.1:0",
                  "--landing-addr=", "--metrics-addr", "127.0.0.1:0", "--snapshot-path",
                  snapshot.string(), "--snapshot-interval", "1s", "--rate-limit", "0"}));
  const std::regex listening("event=listening .*? port=([0-9]+) .*metrics_port=([0-9]+)");
  ASSERT_TRUE(proc.wait_for_output(listening, kTimeout)) << proc.output();
  std::smatch match;
  const std::string started = proc.output();
  std::regex_search(started, match, listening);
  auto stub = pb::Cluster::NewStub(grpc::CreateChannel("127.0.0.1:" + std::string(match[1]),
                                                       grpc::InsecureChannelCredentials()));
  const int metrics_port = std::stoi(match[2]);
  const std::string cluster = "full-disk";

  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(put_affiliate(*stub, cluster, "a" + std::to_string(i), 1000).ok());
  }
  ASSERT_TRUE(proc.wait_for_output(std::regex("event=state saved .*affiliates=20 "), kTimeout))
      << proc.output();

  // Full: once a save has failed, the file is the last one that fit (each save writes a new file
  // ID, so it is read only then).
  const auto filler = ns->fill();
  const auto failed_saves = [&] { return count_of(proc.output(), "event=snapshot_save_failed"); };
  ASSERT_TRUE(eventually([&] { return failed_saves() > 0; })) << proc.output();
  const std::string previous = read_file(ns->outside(snapshot));
  ASSERT_FALSE(previous.empty());
  const std::size_t failures_before = failed_saves();
  for (int i = 20; i < 40; ++i) {
    ASSERT_TRUE(put_affiliate(*stub, cluster, "a" + std::to_string(i), 1000).ok());
  }
  ASSERT_TRUE(eventually([&] { return failed_saves() > failures_before; })) << proc.output();
  const std::string out = proc.output();
  EXPECT_NE(out.find("event=snapshot_save_failed path=" + snapshot.string() + " error=\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
  // The previous file, whole; no temp file left behind; the error counted; still serving.
  EXPECT_EQ(read_file(ns->outside(snapshot)), previous);
  EXPECT_FALSE(std::filesystem::exists(ns->outside(snapshot.string() + ".tmp")));
  EXPECT_GE(metric_value(metrics_port,
                         "discovery_storage_operations_total{operation=\"save\",status=\"error\"}")
                .value_or(0),
            1);
  EXPECT_EQ(affiliate_count(*stub, cluster), 40);
  EXPECT_TRUE(put_affiliate(*stub, cluster, "a40", 1000).ok());
  ASSERT_TRUE(proc.alive()) << proc.output();

  // The kept file still loads (a copy, read by a service outside the namespace).
  const auto copy = dir.path() / "kept.binpb";
  write_file(copy, previous);
  EXPECT_EQ(affiliates_loaded_from(copy, cluster), 20);

  // Room again: the next save takes everything.
  const std::size_t saves_before = count_of(proc.output(), "event=state saved");
  std::filesystem::remove(filler);
  ASSERT_TRUE(eventually([&] {
    const std::string now = proc.output();
    return count_of(now, "event=state saved") > saves_before &&
           now.rfind("affiliates=41 ") != std::string::npos;
  })) << proc.output();
  write_file(copy, read_file(ns->outside(snapshot)));
  EXPECT_EQ(affiliates_loaded_from(copy, cluster), 41);
  proc.signal(SIGTERM);
  const auto status = proc.wait_exit(kTimeout);
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << proc.output();
}

TEST(FullDisk, MachinedRefusesToStartWithoutRoomAndRetriesItsIdentity) {
  TempDir dir;
  const auto mnt = dir.path() / "mnt";
  std::filesystem::create_directories(mnt);
  auto ns = TmpfsNamespace::make(mnt, "64k");
  if (!ns) GTEST_SKIP() << "cannot mount a tmpfs here: " << TmpfsNamespace::skip_reason();
  const auto config = dir.path() / "config.yaml";
  write_file(config, "version: v1alpha1\nmachine:\n  type: worker\n");
  const auto state = mnt / "state";
  const std::vector<std::string> machined = {MACHINED_BIN,  "--state-dir",    state.string(),
                                             "--config",    config.string(),  "--api-addr",
                                             "127.0.0.1:0", "--api-insecure", "--metrics-addr="};
  const auto files = [&] {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(ns->outside(state), ec)) {
      names.insert(e.path().filename().string());
    }
    return names;
  };

  // No room for the API key pair: a clear error, exit 1, nothing half-written.
  auto filler = ns->fill();
  {
    ChildProcess proc(ns->inside(machined));
    const auto status = proc.wait_exit(kTimeout);
    ASSERT_TRUE(status) << proc.output();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << proc.output();
    EXPECT_TRUE(std::regex_search(proc.output(),
                                  std::regex("event=fatal error=\"" + regex_quote(state.string()) +
                                             "/api\\.\\S+: No space left on device")))
        << proc.output();
    EXPECT_EQ(files(), (std::set<std::string>{"machined.lock"})) << proc.output();
  }

  // Room for the key pair, none for the node identity: machined runs, its identity controller
  // fails and retries, and gets there once there is room.
  std::filesystem::remove(filler);
  {
    ChildProcess proc(ns->inside(machined));
    ASSERT_TRUE(proc.wait_for_output(std::regex("node identity established"), kTimeout))
        << proc.output();
    proc.signal(SIGTERM);
    ASSERT_TRUE(proc.wait_exit(kTimeout)) << proc.output();
  }
  std::filesystem::remove(ns->outside(state / "node-identity.yaml"));
  filler = ns->fill();
  ChildProcess proc(ns->inside(machined));
  ASSERT_TRUE(proc.wait_for_output(std::regex("event=started "), kTimeout)) << proc.output();
  ASSERT_TRUE(proc.wait_for_output(
      std::regex("controller=cluster.NodeIdentityController stage=reconcile error=\"" +
                 regex_quote(state.string()) +
                 "/node-identity\\.yaml\\.tmp: No space left on device\""),
      kTimeout))
      << proc.output();
  EXPECT_FALSE(std::filesystem::exists(ns->outside(state / "node-identity.yaml")));
  EXPECT_FALSE(std::filesystem::exists(ns->outside(state / "node-identity.yaml.tmp")));
  std::filesystem::remove(filler);
  const auto id =
      proc.wait_for_output(std::regex("node identity established node_id=(\\S+)"), kTimeout);
  ASSERT_TRUE(id) << proc.output();
  EXPECT_EQ(read_file(ns->outside(state / "node-identity.yaml")), "nodeId: " + *id + "\n");
  proc.signal(SIGTERM);
  const auto status = proc.wait_exit(kTimeout);
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << proc.output();
}

// ---------------------------------------------------------------------------------------------
// Damaged snapshot headers.

struct HeaderDamage {
  int offset;         // the byte flipped
  std::string field;  // as the snapshot_damaged line names it
  int field_offset;   // where that field starts: the line's offset
  bool records_kept;
};

// Saves two clusters of affiliates (plain, or encrypted with `key_file`) and returns the file.
std::string saved_snapshot(const std::filesystem::path& dir, const std::string& key_file) {
  const auto path = dir / "pristine.binpb";
  std::vector<std::string> args = {DISCOVERY_SERVICE_BIN, "--addr",          "127.0.0.1:0",
                                   "--landing-addr=",     "--metrics-addr=", "--snapshot-path",
                                   path.string()};
  if (!key_file.empty()) args.insert(args.end(), {"--snapshot-key-file", key_file});
  ChildProcess proc(args);
  const auto port = proc.wait_for_listening_port(kTimeout);
  if (!port) {
    ADD_FAILURE() << proc.output();
    return {};
  }
  auto stub = pb::Cluster::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(*port),
                                                       grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(
        put_affiliate(*stub, "header-" + std::to_string(i % 2), "a" + std::to_string(i), 64).ok());
  }
  proc.signal(SIGTERM);
  const auto status = proc.wait_exit(kTimeout);
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << proc.output();
  return read_file(path);
}

// Starts a service on `bytes` with one header byte flipped and checks the log and what loads.
void expect_damage_handled(const std::filesystem::path& dir, const std::string& pristine,
                           const HeaderDamage& damage, const std::string& key_file) {
  SCOPED_TRACE("offset " + std::to_string(damage.offset) + " (" + damage.field + ")");
  const auto path = dir / ("damaged-" + std::to_string(damage.offset) + ".binpb");
  std::string bytes = pristine;
  bytes[damage.offset] = static_cast<char>(bytes[damage.offset] ^ 0x5a);
  write_file(path, bytes);
  std::vector<std::string> args = {DISCOVERY_SERVICE_BIN, "--addr",          "127.0.0.1:0",
                                   "--landing-addr=",     "--metrics-addr=", "--snapshot-path",
                                   path.string()};
  if (!key_file.empty()) args.insert(args.end(), {"--snapshot-key-file", key_file});
  ChildProcess proc(args);
  const std::string logged =
      "path=" + path.string() + " offset=" + std::to_string(damage.field_offset);
  if (!damage.records_kept && !key_file.empty()) {
    // Encrypted, a damaged file ID looks like a wrong key: refused, the file kept as it is.
    const auto status = proc.wait_exit(kTimeout);
    ASSERT_TRUE(status) << proc.output();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << proc.output();
    EXPECT_NE(proc.output().find("event=snapshot_refused path=" + path.string()), std::string::npos)
        << proc.output();
    EXPECT_NE(proc.output().find(damage.field), std::string::npos) << proc.output();
    EXPECT_EQ(read_file(path), bytes);
    return;
  }
  const auto port = proc.wait_for_listening_port(kTimeout);
  ASSERT_TRUE(port) << proc.output();
  EXPECT_NE(
      proc.output().find("event=snapshot_damaged " + logged + " field=" + damage.field + " error="),
      std::string::npos)
      << proc.output();
  auto stub = pb::Cluster::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(*port),
                                                       grpc::InsecureChannelCredentials()));
  const int expected = damage.records_kept ? 3 : 0;
  EXPECT_EQ(affiliate_count(*stub, "header-0"), expected) << proc.output();
  EXPECT_EQ(affiliate_count(*stub, "header-1"), expected) << proc.output();
  // Set aside, so the next save does not replace what could not be read.
  EXPECT_FALSE(std::filesystem::exists(path));
  bool set_aside = false;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(path.filename().string() + ".damaged-")) {
      set_aside = read_file(e.path()) == bytes;
    }
  }
  EXPECT_TRUE(set_aside) << "the damaged file was not set aside unchanged";
}

TEST(DamagedSnapshotHeader, PlainFileNamesTheFieldAndKeepsRecordsUnlessTheFileIdIsHit) {
  TempDir dir;
  const std::string pristine = saved_snapshot(dir.path(), "");
  ASSERT_GE(pristine.size(), 64u);
  for (const HeaderDamage& damage :
       {HeaderDamage{3, "magic", 0, true}, HeaderDamage{8, "version", 8, true},
        HeaderDamage{11, "reserved", 10, true}, HeaderDamage{20, "file_id", 12, false},
        HeaderDamage{30, "creation_time/tag", 28, true}, HeaderDamage{40, "nonce", 36, true},
        HeaderDamage{60, "creation_time/tag", 28, true}}) {
    expect_damage_handled(dir.path(), pristine, damage, "");
  }
}

TEST(DamagedSnapshotHeader, EncryptedFileKeepsRecordsOrIsRefusedOnADamagedFileId) {
  TempDir dir;
  const auto key = dir.path() / "snapshot.key";
  write_file(key, std::string(64, 'b') + "\n");
  std::filesystem::permissions(key, std::filesystem::perms::owner_read);
  const std::string pristine = saved_snapshot(dir.path(), key.string());
  ASSERT_GE(pristine.size(), 64u);
  for (const HeaderDamage& damage :
       {HeaderDamage{2, "magic", 0, true}, HeaderDamage{15, "file_id", 12, false},
        HeaderDamage{33, "creation_time/nonce/tag", 28, true},
        HeaderDamage{44, "creation_time/nonce/tag", 28, true}}) {
    expect_damage_handled(dir.path(), pristine, damage, key.string());
  }
}

// ---------------------------------------------------------------------------------------------
// kill -9 of machined during a config reload, a reset and a first start.

// The files machined keeps in its state dir, and what a complete one looks like.
const std::vector<std::pair<std::string, std::regex>>& node_state_files() {
  static const std::vector<std::pair<std::string, std::regex>> files = {
      {"node-identity.yaml", std::regex("nodeId: [0-9A-Za-z]{40,46}\n")},
      {"kubespan-identity.yaml",
       std::regex("privateKey: [A-Za-z0-9+/]{43}=\npublicKey: [A-Za-z0-9+/]{43}=\n")},
      {"api.crt", std::regex("-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+"
                             "-----END CERTIFICATE-----\n")},
      {"api.key", std::regex("-----BEGIN (EC )?PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+"
                             "-----END (EC )?PRIVATE KEY-----\n")},
  };
  return files;
}

using FileContents = std::map<std::string, std::optional<std::string>>;

class MachinedKill : public ::testing::Test {
 protected:
  enum class Fault { kReload, kReset, kFirstStart };

  std::filesystem::path state() const { return dir_.path() / "state"; }
  std::filesystem::path config() const { return dir_.path() / "config.yaml"; }

  // KubeSpan on or off; the discovery endpoint answers nothing, which machined retries quietly.
  static std::string config_text(bool kubespan) {
    std::ostringstream y;
    y << "version: v1alpha1\nmachine:\n  type: worker\n  network:\n    hostname: "
      << (kubespan ? "crash-b" : "crash-a")
      << "\n    kubespan:\n      enabled: " << (kubespan ? "true" : "false")
      << "\ncluster:\n  clusterName: crash\n"
      << "---\napiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: it\n"
      << "endpoint: http://127.0.0.1:1\n"
      << "---\napiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\n"
      << "clusterID: 8XuV9TZHW08DOk3bVxQjH9ih_TBKjnh-j44tsCLSBzo=\n"
      << "clusterSecret: kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=\n"
      << "---\napiVersion: v1alpha1\nkind: HostConfig\nnodename: crash\n"
      << "hardwareAddress: 02:00:00:00:00:01\n";
    return y.str();
  }

  std::unique_ptr<ChildProcess> start() const {
    return std::make_unique<ChildProcess>(std::vector<std::string>{
        MACHINED_BIN, "--state-dir", state().string(), "--config", config().string(), "--api-addr",
        "127.0.0.1:0", "--api-insecure", "--metrics-addr="});
  }

  FileContents snapshot() const {
    FileContents out;
    for (const auto& [name, _] : node_state_files()) {
      if (std::filesystem::exists(state() / name)) {
        out[name] = read_file(state() / name);
      } else {
        out[name] = std::nullopt;
      }
    }
    return out;
  }

  std::vector<std::string> temp_files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(state(), ec)) {
      if (e.path().extension() == ".tmp") out.push_back(e.path().filename().string());
    }
    return out;
  }

  TempDir dir_;
};

// Each file after the kill: as before, absent, or (where the fault may create it) complete.
// Returns a summary like "node-identity.yaml=old api.key=new".
std::string check_files(const FileContents& before, const FileContents& after,
                        const std::set<std::string>& may_be_created,
                        const std::set<std::string>& may_be_removed) {
  std::string summary;
  for (const auto& [name, pattern] : node_state_files()) {
    const auto& old = before.at(name);
    const auto& now = after.at(name);
    std::string outcome;
    if (now == old) {
      outcome = now ? "old" : "absent";
    } else if (!now) {
      outcome = "removed";
      EXPECT_TRUE(may_be_removed.contains(name)) << name << " was removed";
    } else {
      outcome = "new";
      EXPECT_TRUE(may_be_created.contains(name) && !old)
          << name << " changed:\n--- before\n"
          << old.value_or("(absent)") << "\n--- after\n"
          << *now;
      EXPECT_TRUE(std::regex_match(*now, pattern)) << name << " is not complete:\n" << *now;
    }
    summary += " " + name + "=" + outcome;
  }
  // The API pair is written key first and removed certificate first: a certificate without its
  // key is something no crash leaves.
  EXPECT_FALSE(after.at("api.crt") && !after.at("api.key")) << "api.crt without api.key";
  return summary;
}

TEST_F(MachinedKill, KillNineDuringReloadResetAndFirstStartLeavesWholeFiles) {
  std::mt19937_64 rng(seed_for("MachinedKill"));
  constexpr int kIterations = 30;
  std::map<std::string, int> outcomes;
  write_file(config(), config_text(false));
  for (int i = 0; i < kIterations; ++i) {
    const Fault fault = static_cast<Fault>(i % 3);
    const auto delay =
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 50'000)(rng));
    const char* fault_name = fault == Fault::kReload  ? "reload"
                             : fault == Fault::kReset ? "reset"
                                                      : "first start";
    SCOPED_TRACE("iteration " + std::to_string(i) + " (" + fault_name + ", kill after " +
                 std::to_string(delay.count()) + " us)");
    std::set<std::string> may_be_created;
    std::set<std::string> may_be_removed;
    FileContents before;
    std::unique_ptr<ChildProcess> proc;
    std::string config_before;

    if (fault == Fault::kReload) {
      // KubeSpan turned on by the reload: its key file is written then.
      std::filesystem::remove(state() / "kubespan-identity.yaml");
      write_file(config(), config_text(false));
      proc = start();
      ASSERT_TRUE(proc->wait_for_output(std::regex("node identity established"), kTimeout))
          << proc->output();
      before = snapshot();
      config_before = config_text(true);
      replace_file(config(), config_before);
      proc->signal(SIGHUP);
      std::this_thread::sleep_for(delay);
      proc->signal(SIGKILL);
      may_be_created = {"kubespan-identity.yaml"};
    } else if (fault == Fault::kReset) {
      write_file(config(), config_text(true));
      proc = start();
      ASSERT_TRUE(proc->wait_for_output(std::regex("kubespan identity established"), kTimeout))
          << proc->output();
      before = snapshot();
      config_before = config_text(true);
      const std::string socket = (state() / "machined.sock").string();
      std::thread reset([socket] {
        auto stub = ::machine::MachineService::NewStub(tds::test::unix_channel(socket));
        grpc::ClientContext ctx;
        ctx.set_deadline(SystemClock::now() + 5s);
        ::machine::ResetRequest request;
        request.set_graceful(false);
        ::machine::ResetResponse response;
        stub->Reset(&ctx, request, &response);
      });
      std::this_thread::sleep_for(delay);
      proc->signal(SIGKILL);
      reset.join();
      for (const auto& [name, _] : node_state_files()) may_be_removed.insert(name);
    } else {
      // What a finished reset leaves: no identity, no key pair.
      for (const auto& [name, _] : node_state_files()) std::filesystem::remove(state() / name);
      write_file(config(), config_text(true));
      config_before = config_text(true);
      before = snapshot();
      proc = start();
      std::this_thread::sleep_for(delay);
      proc->signal(SIGKILL);
      for (const auto& [name, _] : node_state_files()) may_be_created.insert(name);
    }
    ASSERT_TRUE(proc->wait_exit(kTimeout)) << proc->output();
    const std::string killed_output = proc->output();
    proc.reset();

    const FileContents after = snapshot();
    const std::string summary = check_files(before, after, may_be_created, may_be_removed);
    EXPECT_EQ(read_file(config()), config_before) << "machined never writes its config";
    const auto temps = temp_files();
    ++outcomes[std::string(fault_name) + ":" + summary];

    // Starts again with what is there: the same identity when its file survived.
    proc = start();
    const bool started =
        static_cast<bool>(proc->wait_for_output(std::regex("event=started "), kTimeout));
    const auto node_id = started
                             ? proc->wait_for_output(
                                   std::regex("node identity established node_id=(\\S+)"), kTimeout)
                             : std::nullopt;
    const auto public_key =
        started ? proc->wait_for_output(
                      std::regex("kubespan identity established public_key=(\\S+)"), kTimeout)
                : std::nullopt;
    std::cout << "[ fault    ] " << i << " " << fault_name << " killed after " << delay.count()
              << " us:" << summary << (temps.empty() ? "" : " temp files left:");
    for (const auto& t : temps) std::cout << " " << t;
    std::cout << (started ? "; starts again" : "; DOES NOT START") << std::endl;
    ASSERT_TRUE(started) << "machined does not start after the kill:\n"
                         << proc->output() << "\n--- the killed process:\n"
                         << tail(killed_output);
    ASSERT_TRUE(node_id) << proc->output();
    ASSERT_TRUE(public_key) << proc->output();
    if (after.at("node-identity.yaml")) {
      EXPECT_EQ(*after.at("node-identity.yaml"), "nodeId: " + *node_id + "\n");
    }
    if (after.at("kubespan-identity.yaml")) {
      EXPECT_NE(after.at("kubespan-identity.yaml")->find("publicKey: " + *public_key + "\n"),
                std::string::npos);
    }
    for (const auto& t : temp_files()) {
      EXPECT_NE(std::find(temps.begin(), temps.end(), t), temps.end())
          << "the restart left " << t << " behind";
    }
    proc->signal(SIGTERM);
    const auto status = proc->wait_exit(kTimeout);
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << proc->output();
  }
  std::cout << "[ fault    ] outcomes over " << kIterations << " kills:" << std::endl;
  for (const auto& [what, n] : outcomes)
    std::cout << "[ fault    ]   " << n << "x " << what << std::endl;
}

// The window the random kills above rarely hit: the first start writes api.key, then api.crt (with
// an fsync each), and a reset removes api.crt, then api.key. A kill in between leaves the key
// alone, and machined must start from that.
TEST_F(MachinedKill, StartsFromAKeyWithoutItsCertificate) {
  write_file(config(), config_text(false));
  auto proc = start();
  ASSERT_TRUE(proc->wait_for_output(std::regex("event=started "), kTimeout)) << proc->output();
  proc->signal(SIGKILL);
  ASSERT_TRUE(proc->wait_exit(kTimeout));
  const std::string key = read_file(state() / "api.key");
  // As the kill left it: the certificate's temp file half-written, no certificate.
  const std::string cert = read_file(state() / "api.crt");
  std::filesystem::remove(state() / "api.crt");
  write_file(state() / "api.crt.tmp", cert.substr(0, cert.size() / 2));

  proc = start();
  ASSERT_TRUE(proc->wait_for_output(std::regex("event=started "), kTimeout)) << proc->output();
  EXPECT_EQ(read_file(state() / "api.key"), key) << "the key must not be replaced";
  EXPECT_TRUE(std::regex_match(read_file(state() / "api.crt"), node_state_files()[2].second));
  EXPECT_FALSE(std::filesystem::exists(state() / "api.crt.tmp"));
  proc->signal(SIGTERM);
  const auto status = proc->wait_exit(kTimeout);
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << proc->output();
}

}  // namespace
