// Node identity: generated once per state directory, reused across restarts; its file and the
// IDs in it.
#include "controllers/cluster/node_identity.h"

#include <openssl/rand.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "controllers/internal/base62.h"
#include "platform/private_file.h"

namespace controllers::cluster {
namespace {

constexpr std::size_t kIdentityBytes = 32;
constexpr std::uintmax_t kMaxFileBytes = 4096;

std::runtime_error file_error(const std::filesystem::path& p, const std::string& what) {
  return std::runtime_error(p.string() + ": " + what);
}

std::string read_id(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) throw file_error(p, "not a regular file");
  // The file holds one short line; anything much larger is not an identity Talos wrote.
  if (auto size = std::filesystem::file_size(p, ec); !ec && size > kMaxFileBytes) {
    throw file_error(p, std::to_string(size) + " bytes, too large for a node identity; remove it "
                        "to generate a new identity");
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) throw file_error(p, std::string("cannot read: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  std::string id;
  try {
    YAML::Node doc = YAML::Load(text.str());
    if (doc.IsMap() && doc["nodeId"] && doc["nodeId"].IsScalar()) id = doc["nodeId"].Scalar();
  } catch (const YAML::Exception& e) {
    throw file_error(p, "not valid YAML (" + e.msg + "); remove it to generate a new identity");
  }
  if (id.empty()) {
    throw file_error(p, "nodeId is missing or empty; remove the file to generate a new identity");
  }
  std::size_t bytes = 0;
  try {
    bytes = internal::base62_decode(id).size();
  } catch (const std::invalid_argument& e) {
    throw file_error(p, std::string("nodeId: ") + e.what());
  }
  if (bytes != kIdentityBytes) {
    throw file_error(p, "nodeId: " + std::to_string(bytes) + " bytes, expected " +
                            std::to_string(kIdentityBytes));
  }
  return id;
}

}  // namespace

std::string generate_node_id() {
  std::string bytes(kIdentityBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), kIdentityBytes) != 1) {
    throw std::runtime_error("node identity: the random number generator failed");
  }
  return internal::base62_encode(bytes);
}

std::string load_or_create_node_id(const std::filesystem::path& dir) {
  const auto p = dir / kNodeIdentityFile;
  std::error_code ec;
  if (std::filesystem::exists(p, ec)) return read_id(p);
  if (ec) throw file_error(p, ec.message());
  auto id = generate_node_id();
  // Whole or not at all: a half-written file would be refused on the next start.
  platform::write_private_file(p, "nodeId: " + id + "\n");
  return id;
}

std::string machine_id(const std::string& node_id) {
  auto bytes = internal::base62_decode(node_id);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 16 && i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace controllers::cluster
