// libFuzzer target: what a replica makes of the etcd store, whoever wrote it. A fake etcd (a map)
// is the model; the input is a program of changes to it, each delivered to the mirror as a watch
// event, or made silently and followed by a compaction that forces a relist. Keys and values come
// from the input (raw bytes, or well-formed ones built here with the product's encoder), so every
// path of key parsing and value decoding is reached. Ops (a byte op-code, then its fields):
//   0: put raw key/value;  1: put a well-formed affiliate;  2: delete a key;  3: silent change,
//   then a compaction;  4: a cancelled watch;  5: a progress notification
// After every op the State must equal the model: exactly the keys that parse, whose values decode
// with the key's affiliate ID, with their records.
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <string>

#include "discovery/server/etcd_layout.h"
#include "discovery/server/etcd_mirror.h"
#include "discovery/server/etcd_stats.h"
#include "discovery/server/state.h"
#include "tests/discovery/server/fake_etcd_client.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

namespace ds = discovery::server;
using fuzz::check;
using namespace std::chrono_literals;

const ds::EtcdKeys kKeys("/p/");

std::string cluster_tag(fuzz::Input& in) {
  static const std::string tags[] = {ds::EtcdKeys::cluster_tag("c0"),
                                     ds::EtcdKeys::cluster_tag("c1")};
  return tags[in.below(2)];
}

std::string affiliate_key(fuzz::Input& in) {
  const std::uint8_t choice = in.u8();
  if (choice < 0x20) return kKeys.affiliates() + in.str();  // anything under the prefix
  const std::string id = choice < 0x40 ? in.str() : "node-" + std::to_string(choice % 8);
  return kKeys.affiliate(cluster_tag(in), id);
}

std::string well_formed(fuzz::Input& in, const std::string& key) {
  ds::StoredAffiliate value;
  auto parsed = kKeys.parse_affiliate(key);
  value.record.id = parsed ? parsed->affiliate_id : in.str();
  if (in.flag()) value.record.id = in.str();  // maybe not the key's
  value.record.data = in.str();
  const auto now = std::chrono::system_clock::now();
  value.times.expiration = now + std::chrono::seconds(static_cast<std::int8_t>(in.u8()));
  for (std::size_t n = in.below(5); n > 0; --n) {
    value.record.endpoints.push_back(in.str());
    value.times.endpoint_expiry.push_back(now + std::chrono::seconds(in.u8()));
  }
  return ds::encode_stored(value);
}

// The records the State must hold for `store`: per cluster tag, ID -> record.
std::map<std::string, std::map<std::string, ds::AffiliateRecord>> expected(
    const std::map<std::string, std::string>& store) {
  std::map<std::string, std::map<std::string, ds::AffiliateRecord>> out;
  std::map<std::string, std::size_t> sizes;
  for (const auto& [key, value] : store) {
    auto parsed = kKeys.parse_affiliate(key);
    if (!parsed) continue;
    std::string error;
    auto decoded = ds::decode_stored(value, error);
    if (!decoded) check(!error.empty(), "a refused value says why");
    if (!decoded || decoded->record.id != parsed->affiliate_id) continue;
    out[parsed->cluster_tag][parsed->affiliate_id] = decoded->record;
  }
  return out;
}

void check_equal(const ds::State& state, const std::map<std::string, std::string>& store) {
  const auto want = expected(store);
  std::size_t clusters = 0;
  for (const auto& [tag, records] : want) {
    auto listed = state.list(tag);
    check(listed.size() == records.size(), "the State holds every stored affiliate", tag);
    for (const auto& record : listed) {
      auto it = records.find(record->id);
      check(it != records.end(), "the State holds nothing the store lacks", record->id);
      check(it->second == *record, "records equal the stored values", record->id);
    }
    clusters++;
  }
  check(state.cluster_ids().size() == clusters, "no cluster beyond the store's");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  ds::SteadyClock clock;
  ds::State state(clock);
  ds::EtcdStats stats;
  ds::test::FakeEtcdClient client;
  std::map<std::string, std::string> store;
  std::int64_t revision = 1;
  client.set_store(store, revision);
  ds::EtcdMirror mirror(client, kKeys, state, stats);
  int watches = 1;
  auto wait_for_watch = [&] {
    check(mirror.wait_applied(revision, 10s), "the mirror lists the store");
    for (int i = 0; i < 100000 && client.watches() < watches; ++i) std::this_thread::yield();
    check(client.watches() >= watches, "the mirror watches after listing");
  };
  wait_for_watch();
  for (int steps = 0; !in.empty() && steps < 64; ++steps) {
    const std::uint8_t op = in.u8() % 6;
    etcd::WatchResponse response;
    response.revision = ++revision;
    switch (op) {
      case 0:
      case 1: {
        const std::string key = affiliate_key(in);
        const std::string value = op == 0 ? in.str16() : well_formed(in, key);
        store[key] = value;
        response.events.push_back(
            {etcd::Event::Type::kPut, {key, value, revision, revision, 1, 0}, std::nullopt});
        break;
      }
      case 2: {
        const std::string key = affiliate_key(in);
        store.erase(key);
        response.events.push_back(
            {etcd::Event::Type::kDelete, {key, "", 0, revision, 0, 0}, std::nullopt});
        break;
      }
      case 3:
      case 4: {
        for (std::size_t n = in.below(4); n > 0; --n) {
          const std::string key = affiliate_key(in);
          if (in.flag()) {
            store.erase(key);
          } else {
            store[key] = well_formed(in, key);
          }
        }
        if (op == 3) response.compact_revision = revision;
        response.canceled = op == 4;
        break;
      }
      case 5:
        break;  // a progress notification: nothing changes
    }
    client.set_store(store, revision);
    check(client.deliver(response), "the watch is live");
    if (op == 3 || op == 4) {
      watches++;
      wait_for_watch();
    }
    check(mirror.wait_applied(revision, 10s), "the mirror reaches the revision");
    check_equal(state, store);
  }
  return 0;
}
