// libFuzzer target: the files a node keeps its identity in and the encodings around them. The
// first byte picks the surface:
//   0: <state dir>/node-identity.yaml with the rest of the input as its contents
//   1: <state dir>/kubespan-identity.yaml likewise
//   2: base62 text (node IDs);  3: base62 of raw bytes
//   4: a KubeSpan address from a cluster ID and a MAC;  5: a WireGuard private key
// A file is never changed by loading it; what loads is a usable identity.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "controllers/cluster/node_identity.h"
#include "controllers/internal/base62.h"
#include "controllers/kubespan/identity.h"
#include "tests/fuzz/fuzz_input.h"
#include "values/base64.h"

namespace {

namespace fs = std::filesystem;
using fuzz::check;
using fuzz::fail;

// A state directory of this process's own, removed at exit. Never freed: the exit handler
// outlives every static.
const fs::path& state_dir() {
  static const fs::path* const dir = [] {
    std::string pattern = (fs::temp_directory_path() / "tds-identity-fuzz.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) fail("cannot create a temporary directory");
    auto* path = new fs::path(pattern);
    std::atexit([] { fs::remove_all(state_dir()); });
    return path;
  }();
  return *dir;
}

void write(const fs::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  check(static_cast<bool>(out), "the fuzzer can write its file");
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void node_identity(const std::string& contents) {
  const fs::path file = state_dir() / controllers::cluster::kNodeIdentityFile;
  write(file, contents);
  std::string id;
  try {
    id = controllers::cluster::load_or_create_node_id(state_dir());
  } catch (const std::runtime_error& e) {
    check(std::string(e.what()).find(file.string()) == 0, "an identity error names the file",
          e.what());
    check(read(file) == contents, "a refused identity file is left as it is");
    return;
  }
  check(read(file) == contents, "loading an identity leaves its file as it is");
  check(controllers::internal::base62_decode(id).size() == 32, "a node ID is 32 bytes", id);
  const std::string machine = controllers::cluster::machine_id(id);
  check(machine.size() == 32 && lower_hex(machine), "a machine ID is 32 hex digits", machine);
}

void kubespan_identity(const std::string& contents) {
  const fs::path file = state_dir() / std::string(controllers::kubespan::kIdentityFile);
  write(file, contents);
  controllers::kubespan::WireguardKey key;
  try {
    key = controllers::kubespan::load_or_create_wireguard_key(state_dir());
  } catch (const std::runtime_error& e) {
    check(std::string(e.what()).find(file.string()) == 0, "a key error names the file", e.what());
    check(read(file) == contents, "a refused key file is left as it is");
    return;
  }
  check(read(file) == contents, "loading a key leaves its file as it is");
  const auto raw = values::base64_decode(key.private_key);
  check(raw && raw->size() == 32, "a loaded private key is 32 bytes");
  check(controllers::kubespan::wireguard_public_key(key.private_key) == key.public_key,
        "a loaded key pair belongs together");
}

void base62_text(const std::string& text) {
  std::string bytes;
  try {
    bytes = controllers::internal::base62_decode(text);
  } catch (const std::invalid_argument&) {
    return;
  }
  const std::string again = controllers::internal::base62_encode(bytes);
  check(controllers::internal::base62_decode(again) == bytes,
        "decoded base62 encodes to text that decodes the same");
}

void base62_bytes(const std::string& bytes) {
  const std::string text = controllers::internal::base62_encode(bytes);
  check(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
            std::string::npos,
        "base62 uses its alphabet");
  check(controllers::internal::base62_decode(text) == bytes, "base62 round-trips bytes", text);
}

void kubespan_address(fuzz::Input& in) {
  const std::string cluster_id = in.str();
  const std::string mac = in.rest();
  controllers::kubespan::KubeSpanAddress addr;
  try {
    addr = controllers::kubespan::kubespan_address(cluster_id, mac);
  } catch (const std::invalid_argument&) {
    check(mac.size() != 6, "only a MAC of the wrong size is refused");
    return;
  }
  check(mac.size() == 6, "a KubeSpan address needs a 6-byte MAC");
  const std::string& subnet = addr.subnet.ip();
  const std::string& address = addr.address.ip();
  check(subnet.size() == 16 && address.size() == 16, "KubeSpan addresses are IPv6");
  check(addr.subnet.prefix_length() == 64 && addr.address.prefix_length() == 128,
        "a /64 subnet and a /128 address");
  check(static_cast<unsigned char>(subnet[0]) == 0xfd, "the subnet is a ULA");
  check(subnet.compare(0, 8, address, 0, 8) == 0, "the address is in the subnet");
  check(subnet.find_first_not_of('\0', 8) == std::string::npos, "the subnet is masked");
}

void wireguard_key(const std::string& text) {
  try {
    const std::string pub = controllers::kubespan::wireguard_public_key(text);
    const auto raw = values::base64_decode(pub);
    check(raw && raw->size() == 32, "a public key is base64 of 32 bytes");
  } catch (const std::invalid_argument&) {
    const auto raw = values::base64_decode(text);
    check(!raw || raw->size() != 32, "only a key that is not base64 of 32 bytes is refused");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  switch (in.u8() % 6) {
    case 0:
      node_identity(in.rest());
      break;
    case 1:
      kubespan_identity(in.rest());
      break;
    case 2:
      base62_text(in.rest());
      break;
    case 3:
      base62_bytes(in.rest());
      break;
    case 4:
      kubespan_address(in);
      break;
    case 5:
      wireguard_key(in.rest());
      break;
  }
  return 0;
}
