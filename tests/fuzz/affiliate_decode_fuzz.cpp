// libFuzzer target: what a node makes of the discovery service's Watch messages (the client's
// real decoding: AES-GCM affiliate data, AES-ECB endpoints, the protobuf inside), over a sequence
// of messages, plus the ciphers alone. All under one cluster key, so seeds encrypted with it reach
// the decrypted paths. Ops (a byte op-code, then its fields):
//   0: a Watch message as wire bytes;  1: a message built here, its data sealed and its endpoints
//   encrypted from input bytes;  2: a blob opened and decrypted as it is;  3: a sealed blob with
//   one byte changed;  4: a plaintext sealed and encrypted, and back
// The view never holds the node itself, a snapshot replaces it, and only what decrypts enters it.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <set>
#include <string>

#include "discovery/client/watch_view.h"
#include "discovery/crypto/affiliate_codec.h"
#include "discovery/crypto/cipher.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

namespace client = discovery::client;
namespace crypto = discovery::crypto;
namespace spb = ::sidero::discovery::server;
using fuzz::check;
using google::protobuf::util::MessageDifferencer;

// The key the seeds are encrypted with (tests/fuzz/make_seeds.cpp).
const std::string kKey(32, '\x42');
constexpr std::string_view kSelf = "self";

const crypto::Cipher& cipher() {
  static const crypto::Cipher c(kKey);
  return c;
}

std::string affiliate_id(fuzz::Input& in) {
  const std::uint8_t a = in.u8();
  if (a == 0xff) return in.str();
  if (a % 16 == 15) return std::string(kSelf);
  return "node-" + std::to_string(a % 16);
}

// Applies one message and checks the view against what the message says.
void apply(std::shared_ptr<const client::AffiliateMap>& view, const spb::WatchResponse& msg,
           bool snapshot) {
  auto next = client::apply_watch_message(*view, msg, snapshot, cipher(), kSelf);
  check(next != nullptr, "a message gives a view");
  check(!next->count(kSelf), "the view never holds the node itself");
  std::set<std::string> named;
  for (const auto& a : msg.affiliates()) named.insert(a.id());
  for (const auto& [id, affiliate] : *next) {
    check(affiliate != nullptr, "a view entry holds an affiliate", id);
    const bool carried = !snapshot && view->count(id) && next->at(id) == view->at(id);
    if (carried) continue;
    // New or replaced: by a record of this message whose data decrypts to it.
    check(named.count(id) && !msg.deleted(), "only this message's records enter the view", id);
    // The last record of the ID whose data decrypts wins.
    const spb::Affiliate* record = nullptr;
    for (const auto& a : msg.affiliates()) {
      if (a.id() == id && !a.data().empty() && crypto::open_affiliate(cipher(), a.data()).ok()) {
        record = &a;
      }
    }
    check(record != nullptr, "a view entry comes from a record that decrypts", id);
    const auto opened = crypto::open_affiliate(cipher(), record->data());
    check(MessageDifferencer::Equals(opened.value(), affiliate->data),
          "a view entry is its record's decrypted data", id);
    check(affiliate->endpoints.size() <= static_cast<std::size_t>(record->endpoints_size()),
          "a view entry has at most its record's endpoints", id);
  }
  if (msg.deleted()) {
    for (const auto& id : named) check(!next->count(id), "a deletion removes", id);
  }
  if (snapshot) {
    for (const auto& [id, a] : *next) check(named.count(id), "a snapshot replaces the view", id);
  }
  view = std::move(next);
}

void crypto_round_trips(const std::string& plain) {
  const auto sealed = cipher().seal(plain);
  check(sealed.size() == plain.size() + crypto::kNonceSize + crypto::kTagSize, "sealed size");
  const auto opened = cipher().open(sealed);
  check(opened.ok() && opened.value() == plain, "open(seal(x)) is x");
  if (plain.size() <= 255) {
    const auto blocks = cipher().encrypt_blocks(plain);
    check(blocks.size() % crypto::kBlockSize == 0 && !blocks.empty(), "whole blocks");
    check(blocks == cipher().encrypt_blocks(plain), "endpoint encryption is deterministic");
    const auto back = cipher().decrypt_blocks(blocks);
    check(back.ok() && back.value() == plain, "decrypt_blocks(encrypt_blocks(x)) is x");
  }
  sidero::discovery::client::Affiliate affiliate;
  if (affiliate.ParseFromString(plain)) {
    affiliate.DiscardUnknownFields();
    const auto back = crypto::open_affiliate(cipher(), crypto::seal_affiliate(cipher(), affiliate));
    check(back.ok() && MessageDifferencer::Equals(back.value(), affiliate),
          "an affiliate survives sealing");
  }
  sidero::discovery::client::Endpoint endpoint;
  if (endpoint.ParseFromString(plain) && endpoint.ByteSizeLong() <= 255) {
    endpoint.DiscardUnknownFields();
    const auto back =
        crypto::decrypt_endpoint(cipher(), crypto::encrypt_endpoint(cipher(), endpoint));
    check(back.ok() && MessageDifferencer::Equals(back.value(), endpoint),
          "an endpoint survives encryption");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // skipped records are logged as warnings
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  std::shared_ptr<const client::AffiliateMap> view = std::make_shared<client::AffiliateMap>();
  for (int steps = 0; !in.empty() && steps < 64; ++steps) {
    switch (in.u8() % 5) {
      case 0: {
        const bool snapshot = in.flag();
        spb::WatchResponse msg;
        if (msg.ParseFromString(in.str16())) apply(view, msg, snapshot);
        break;
      }
      case 1: {
        const std::uint8_t shape = in.u8();
        spb::WatchResponse msg;
        msg.set_deleted((shape & 0x80) != 0);
        for (int i = 0; i < shape % 4; ++i) {
          auto* a = msg.add_affiliates();
          a->set_id(affiliate_id(in));
          const std::uint8_t how = in.u8();
          const std::string plain = in.str();
          // Mostly sealed with the cluster key; sometimes the bytes as they are.
          if (how % 4 != 3) a->set_data(how % 4 == 2 ? std::string() : cipher().seal(plain));
          if (how % 4 == 3) a->set_data(plain);
          for (int e = 0; e < (how >> 2) % 4; ++e) {
            const std::string endpoint = in.str();
            a->add_endpoints((how & 0x80) ? endpoint : cipher().encrypt_blocks(endpoint));
          }
        }
        apply(view, msg, (shape & 0x40) != 0);
        break;
      }
      case 2: {
        const std::string blob = in.str16();
        const auto opened = cipher().open(blob);
        if (opened.ok()) check(opened.value().size() + 28 == blob.size(), "opened size");
        const auto blocks = cipher().decrypt_blocks(blob);
        if (blocks.ok()) check(blocks.value().size() < blob.size(), "decrypted size");
        crypto::open_affiliate(cipher(), blob);
        crypto::decrypt_endpoint(cipher(), blob);
        break;
      }
      case 3: {
        const std::string plain = in.str();
        std::string sealed = cipher().seal(plain);
        const std::size_t at = in.u8() % sealed.size();
        const auto flip = static_cast<char>(in.u8() | 1);
        sealed[at] = static_cast<char>(sealed[at] ^ flip);
        check(!cipher().open(sealed).ok(), "a changed byte fails authentication");
        break;
      }
      case 4:
        crypto_round_trips(in.str16());
        break;
    }
  }
  return 0;
}
