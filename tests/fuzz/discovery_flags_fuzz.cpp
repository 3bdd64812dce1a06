// libFuzzer target: what the discovery-service reads from its command line and its callers'
// headers. The first byte picks the surface:
//   0: durations (--gc-interval, --snapshot-interval);  1: --trusted-proxies
//   2: a call's address from its peer and its X-Real-IP / X-Forwarded-For headers
//   3: an IP address as text;  4: a gRPC peer URI
//   5: the --snapshot-key-file (contents and mode from the input), and secret files in general
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

#include "discovery/server/client_ip.h"
#include "discovery/server/duration.h"
#include "discovery/server/snapshot.h"
#include "platform/private_file.h"
#include "tests/fuzz/fuzz_input.h"
#include "values/base64.h"
#include "values/net.h"

namespace {

namespace ds = discovery::server;
namespace fs = std::filesystem;
using fuzz::check;
using fuzz::fail;
using std::chrono::nanoseconds;

void durations(fuzz::Input& in) {
  const std::string a = in.str();
  const std::string b = in.rest();
  const auto da = ds::parse_duration(a);
  if (da) {
    check(*da >= nanoseconds::zero(), "a duration is not negative", a);
    // Its exact value in nanoseconds reads back.
    check(ds::parse_duration(std::to_string(da->count()) + "ns") == da, "ns form", a);
  }
  const auto db = ds::parse_duration(b);
  if (!da || !db || a == "0" || b == "0") return;
  // Go's durations add up term by term: "1h" then "30m" is "1h30m".
  const auto joined = ds::parse_duration(a + b);
  if (da->count() > std::numeric_limits<std::int64_t>::max() - db->count()) {
    check(!joined, "an overflowing sum is refused", a + b);
  } else {
    check(joined == *da + *db, "durations add up term by term", a + b);
  }
}

void trusted_proxies(const std::string& list) {
  std::string error;
  const auto trusted = ds::TrustedProxies::parse(list, error);
  if (!trusted) {
    check(!error.empty(), "a refused list says why");
    return;
  }
  // Each entry's own address is inside its range.
  std::string_view rest = list;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (entry.empty()) continue;
    const std::string ip = ds::ip_from_text(entry.substr(0, entry.find('/')));
    check(!ip.empty(), "an accepted entry has an address", entry);
    check(trusted->contains(ip), "a range contains its own address", entry);
  }
}

void client_address(fuzz::Input& in) {
  std::string error;
  auto trusted = ds::TrustedProxies::parse(in.str(), error);
  if (!trusted) trusted = ds::TrustedProxies{};
  const std::string peer = ds::ip_from_text(in.str());
  const std::uint8_t which = in.u8();
  const std::string real = in.str();
  const std::string forwarded = in.str();
  const auto got = ds::client_ip(
      peer, (which & 1) ? std::optional<std::string_view>(real) : std::nullopt,
      (which & 2) ? std::optional<std::string_view>(forwarded) : std::nullopt, *trusted);
  if (got == peer) return;
  // Only a trusted proxy's headers count, and only for an address.
  check(!peer.empty() && trusted->contains(peer), "headers count only from a trusted peer");
  check(got.size() == 4 || got.size() == 16, "a reported address is an IP");
}

void ip_text(const std::string& text) {
  const std::string ip = ds::ip_from_text(text);
  if (ip.empty()) return;
  check(ip.size() == 4 || ip.size() == 16, "an address is 4 or 16 bytes", text);
  check(values::net::unmap(ip) == ip, "IPv4-mapped addresses are unmapped", text);
  check(ds::ip_from_text(values::net::ip_text(ip)) == ip, "an address prints and parses back");
}

void peer(const std::string& uri) {
  const std::string ip = ds::peer_ip_bytes(uri);
  check(ip.empty() || ip.size() == 4 || ip.size() == 16, "a peer address is an IP", uri);
  if (ip.empty()) return;
  const std::string text = values::net::ip_text(ip);
  const std::string again =
      ds::peer_ip_bytes(ip.size() == 4 ? "ipv4:" + text + ":1" : "ipv6:[" + text + "]:1");
  check(again == ip, "a peer URI of the address reads back", uri);
}

// A key file in a directory of this process's own, removed at exit. Never freed: the exit handler
// outlives every static.
const fs::path& key_path() {
  static const fs::path* const path = [] {
    std::string pattern = (fs::temp_directory_path() / "tds-key-fuzz.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) fail("cannot create a temporary directory");
    auto* file = new fs::path(fs::path(pattern) / "snapshot.key");
    std::atexit([] { fs::remove_all(key_path().parent_path()); });
    return file;
  }();
  return *path;
}

void key_file(fuzz::Input& in) {
  static const mode_t kModes[] = {0600, 0400, 0640, 0604, 0700};
  const mode_t mode = kModes[in.u8() % 5];
  const std::size_t limit = in.u16();
  const std::string contents = in.rest();
  {
    std::ofstream out(key_path(), std::ios::binary | std::ios::trunc);
    out << contents;
    check(static_cast<bool>(out), "the fuzzer can write its file");
  }
  check(::chmod(key_path().c_str(), mode) == 0, "the fuzzer can set the mode");
  const bool open_to_others = (mode & 077) != 0;
  try {
    const auto secret = platform::read_private_file(key_path(), limit);
    check(!open_to_others, "a secret readable by others is refused");
    check(secret == contents && secret.size() <= limit, "a secret reads back whole");
  } catch (const std::runtime_error& e) {
    check(open_to_others || contents.size() > limit, "a private file within the limit reads",
          e.what());
  }
  ds::SnapshotKey key;
  try {
    key = ds::read_snapshot_key(key_path().string());
  } catch (const std::runtime_error& e) {
    check(std::string(e.what()).find(key_path().string()) != std::string::npos,
          "a key file error names the file", e.what());
    return;
  }
  check(!open_to_others, "a key file readable by others is refused");
  const std::string bytes(key.begin(), key.end());
  std::string text = contents;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto decoded = values::base64_decode(text);
  check(contents == bytes || (decoded && *decoded == bytes) || text.size() == 64,
        "a key is the file's raw bytes, its hex or its base64");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  switch (in.u8() % 6) {
    case 0:
      durations(in);
      break;
    case 1:
      trusted_proxies(in.rest());
      break;
    case 2:
      client_address(in);
      break;
    case 3:
      ip_text(in.rest());
      break;
    case 4:
      peer(in.rest());
      break;
    case 5:
      key_file(in);
      break;
  }
  return 0;
}
