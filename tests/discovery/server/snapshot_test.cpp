// Snapshot codec and file: round trips (plain and encrypted), upstream-format import built from
// the reference's field numbers, and every kind of damage reported with its offset.
#include "discovery/server/snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/discovery/server/manual_clock.h"

namespace discovery::server {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));

SnapshotKey key_of(unsigned char fill) {
  SnapshotKey key;
  key.fill(fill);
  return key;
}

std::string encode(const State& state, const SnapshotKey* key = nullptr) {
  std::string out;
  encode_snapshot(state, key, [&](std::string_view chunk) { out.append(chunk); });
  return out;
}

// cluster -> affiliate -> (data, endpoints)
using View = std::map<std::string, std::map<std::string, AffiliateRecord>>;

View view_of(const std::vector<ClusterExport>& clusters) {
  View out;
  for (const auto& c : clusters) {
    for (const auto& a : c.affiliates) out[c.id][a.record->id] = *a.record;
  }
  return out;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_.update({"c1", "a1", "data1", {"e1", "e2"}, minutes(10)});
    state_.update({"c1", "a2", "data2", {}, minutes(5)});
    state_.update({"c2", "b1", "", {"e3"}, minutes(1)});
  }

  const View expected_{{"c1",
                        {{"a1", {"a1", "data1", {"e1", "e2"}}}, {"a2", {"a2", "data2", {}}}}},
                       {"c2", {{"b1", {"b1", "", {"e3"}}}}}};
  test::ManualClock clock_;
  State state_{clock_};
};

TEST_F(SnapshotTest, RoundTripKeepsRecordsAndRemainingTtls) {
  std::string bytes = encode(state_);
  DecodedSnapshot decoded = decode_snapshot(bytes, nullptr, kNow);
  EXPECT_TRUE(decoded.problems.empty());
  EXPECT_FALSE(decoded.refused);
  EXPECT_FALSE(decoded.upstream_format);
  EXPECT_EQ(view_of(decoded.clusters), expected_);

  // Imported lifetimes are relative: after 5m + 1ns only a1 (10m) and its endpoints remain.
  test::ManualClock later;
  State restored(later);
  for (const auto& c : decoded.clusters) ASSERT_TRUE(restored.import_cluster(c));
  later.advance(minutes(5) + std::chrono::nanoseconds(1));
  restored.collect_garbage();
  auto left = restored.list("c1");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(*left[0], (AffiliateRecord{"a1", "data1", {"e1", "e2"}}));
  EXPECT_TRUE(restored.list("c2").empty());
}

TEST_F(SnapshotTest, EmptyStateIsWrittenAndReadsBackEmpty) {
  test::ManualClock clock;
  State empty(clock);
  std::string bytes = encode(empty);
  EXPECT_FALSE(bytes.empty());
  DecodedSnapshot decoded = decode_snapshot(bytes, nullptr, kNow);
  EXPECT_TRUE(decoded.problems.empty());
  EXPECT_TRUE(decoded.clusters.empty());
}

TEST_F(SnapshotTest, EncryptedRoundTripAndWrongKey) {
  const SnapshotKey key = key_of(7);
  std::string bytes = encode(state_, &key);
  EXPECT_EQ(bytes.find("data1"), std::string::npos) << "plaintext blob in an encrypted file";
  EXPECT_EQ(view_of(decode_snapshot(bytes, &key, kNow).clusters), expected_);

  const SnapshotKey wrong = key_of(8);
  DecodedSnapshot bad = decode_snapshot(bytes, &wrong, kNow);
  ASSERT_TRUE(bad.refused);
  EXPECT_NE(bad.refused->find("wrong key"), std::string::npos) << *bad.refused;
  EXPECT_TRUE(bad.clusters.empty());

  DecodedSnapshot keyless = decode_snapshot(bytes, nullptr, kNow);
  ASSERT_TRUE(keyless.refused);
  EXPECT_NE(keyless.refused->find("--snapshot-key-file"), std::string::npos);
}

TEST_F(SnapshotTest, TamperedRecordIsSkippedWithItsOffset) {
  for (bool encrypted : {false, true}) {
    const SnapshotKey key = key_of(1);
    std::string bytes = encode(state_, encrypted ? &key : nullptr);
    DecodedSnapshot clean = decode_snapshot(bytes, encrypted ? &key : nullptr, kNow);
    ASSERT_EQ(clean.clusters.size(), 2u);
    // Flip a byte inside the first record's payload (the header is 64 bytes, the record head 5).
    bytes[64 + 5 + 14] ^= 0x01;
    DecodedSnapshot decoded = decode_snapshot(bytes, encrypted ? &key : nullptr, kNow);
    ASSERT_EQ(decoded.problems.size(), 1u) << "encrypted=" << encrypted;
    EXPECT_EQ(decoded.problems[0].offset, 64u);
    EXPECT_EQ(decoded.clusters.size(), 1u) << "the intact record is still read";
  }
}

// The header field each byte belongs to, as problems name it. The tag covers the creation time
// (and, encrypted, the nonce) without telling which of them is damaged.
std::string field_at(std::size_t at, bool encrypted) {
  const std::string ambiguous = encrypted ? "creation_time/nonce/tag" : "creation_time/tag";
  if (at < 8) return "magic";
  if (at == 8) return "version";
  if (at == 9) return "cipher";
  if (at < 12) return "reserved";
  if (at < 28) return "file_id";
  if (at >= 36 && at < 48 && !encrypted) return "nonce";
  return ambiguous;
}

TEST_F(SnapshotTest, HeaderDamageCostsNoRecordUnlessInTheFileId) {
  const SnapshotKey key = key_of(5);
  for (bool encrypted : {false, true}) {
    const SnapshotKey* k = encrypted ? &key : nullptr;
    const std::string bytes = encode(state_, k);
    for (std::size_t at = 0; at < 64; ++at) {
      for (unsigned char mask : {0x01, 0x80, 0xff}) {
        std::string damaged = bytes;
        damaged[at] = static_cast<char>(damaged[at] ^ mask);
        const DecodedSnapshot decoded = decode_snapshot(damaged, k, kNow);
        const std::string where = "encrypted=" + std::to_string(encrypted) +
                                  " byte=" + std::to_string(at) + " mask=" + std::to_string(mask);
        const std::string field = field_at(at, encrypted);
        if (field == "file_id" && encrypted) {
          // Looks the same as a wrong key: refused, the file kept.
          ASSERT_TRUE(decoded.refused) << where;
          EXPECT_NE(decoded.refused->find("file_id"), std::string::npos) << *decoded.refused;
          EXPECT_TRUE(decoded.problems.empty()) << where;
          continue;
        }
        EXPECT_FALSE(decoded.refused) << where << ": " << *decoded.refused;
        // One problem, naming the field: a damaged file, which --snapshot-strict refuses.
        ASSERT_EQ(decoded.problems.size(), 1u) << where << ": " << decoded.problems[0].message;
        EXPECT_EQ(decoded.problems[0].field, field) << where << ": " << decoded.problems[0].message;
        EXPECT_NE(decoded.problems[0].message.find(field), std::string::npos)
            << decoded.problems[0].message;
        EXPECT_LT(decoded.problems[0].offset, 64u) << where;
        if (field == "file_id") {
          EXPECT_TRUE(decoded.clusters.empty()) << where;
        } else {
          EXPECT_EQ(view_of(decoded.clusters), expected_) << where;
        }
      }
    }
  }
}

TEST_F(SnapshotTest, NewerVersionWithAnIntactHeaderIsRefused) {
  std::string bytes = encode(state_);
  bytes[8] = 2;
  // A newer build's header: its checksum matches, so the version is meant, not damaged.
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), 36, digest);
  bytes.replace(48, 16, reinterpret_cast<const char*>(digest), 16);
  const DecodedSnapshot decoded = decode_snapshot(bytes, nullptr, kNow);
  ASSERT_TRUE(decoded.refused);
  EXPECT_NE(decoded.refused->find("format version 2 is not supported"), std::string::npos)
      << *decoded.refused;
  EXPECT_EQ(decoded.refused->find("damaged"), std::string::npos) << *decoded.refused;
  EXPECT_TRUE(decoded.clusters.empty());

  // Damaged beyond what restoring the version explains: still refused, with the doubt said.
  bytes[30] ^= 0x01;
  const DecodedSnapshot doubtful = decode_snapshot(bytes, nullptr, kNow);
  ASSERT_TRUE(doubtful.refused);
  EXPECT_NE(doubtful.refused->find("may also be damaged"), std::string::npos) << *doubtful.refused;
}

TEST_F(SnapshotTest, TruncatedFileKeepsCompleteRecords) {
  std::string bytes = encode(state_);
  // Cuts inside records, inside the end record and inside the header: each is reported as a
  // truncation at or before the cut.
  for (std::size_t cut : {bytes.size() - 1, bytes.size() - 30, std::size_t{70}, std::size_t{10}}) {
    DecodedSnapshot decoded =
        decode_snapshot(std::string_view(bytes).substr(0, cut), nullptr, kNow);
    ASSERT_FALSE(decoded.problems.empty()) << "cut=" << cut;
    EXPECT_LE(decoded.problems.back().offset, cut);
    EXPECT_NE(decoded.problems.back().message.find("truncated"), std::string::npos)
        << decoded.problems.back().message;
  }
  DecodedSnapshot header_only =
      decode_snapshot(std::string_view(bytes).substr(0, 64), nullptr, kNow);
  ASSERT_EQ(header_only.problems.size(), 1u);
  EXPECT_EQ(header_only.problems[0].offset, 64u);
}

// Upstream bytes built by hand from the reference's field numbers: StateSnapshot{1: clusters},
// ClusterSnapshot{1 id, 2 affiliates}, AffiliateSnapshot{1 id, 2 expiration, 3 data,
// 4 endpoints, 5 ttl}, EndpointSnapshot{1 expiration, 2 data, 3 ttl}.
std::string field(int number, int wire, const std::string& payload) {
  std::string out(1, static_cast<char>(number << 3 | wire));
  if (wire == 2) {
    std::size_t n = payload.size();
    do {
      out.push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
      n >>= 7;
    } while (n > 0);
  }
  return out + payload;
}

std::string varint_field(int number, std::uint64_t value) {
  std::string out(1, static_cast<char>(number << 3));
  do {
    out.push_back(static_cast<char>((value & 0x7f) | (value > 0x7f ? 0x80 : 0)));
    value >>= 7;
  } while (value > 0);
  return out;
}

// google.protobuf.Duration{1: seconds}
std::string duration(std::int64_t secs) {
  return varint_field(1, static_cast<std::uint64_t>(secs));
}

TEST(SnapshotUpstream, ImportsTtlAndLegacyExpiration) {
  const std::int64_t now_s = 1'700'000'000;
  std::string endpoint = field(2, 2, "ep1") + field(3, 2, duration(60));
  std::string legacy_endpoint = field(1, 2, varint_field(1, now_s + 120)) + field(2, 2, "ep2");
  std::string a1 = field(1, 2, "a1") + field(3, 2, "blob") + field(4, 2, endpoint) +
                   field(4, 2, legacy_endpoint) + field(5, 2, duration(300));
  std::string a2 = field(1, 2, "a2") + field(2, 2, varint_field(1, now_s + 600)) +
                   field(3, 2, "old-format");
  std::string a3 = field(1, 2, "a3") + field(3, 2, "no-expiry");  // epoch: already expired
  std::string file = field(1, 2, field(1, 2, "cluster") + field(2, 2, a1) + field(2, 2, a2) +
                                     field(2, 2, a3)) +
                     field(1, 2, field(1, 2, "empty"));

  DecodedSnapshot decoded = decode_snapshot(file, nullptr, kNow);
  EXPECT_TRUE(decoded.upstream_format);
  EXPECT_TRUE(decoded.problems.empty()) << decoded.problems[0].message;
  ASSERT_EQ(decoded.clusters.size(), 2u);
  std::map<std::string, AffiliateExport> by_id;
  for (const auto& a : decoded.clusters[0].affiliates) by_id[a.record->id] = a;
  ASSERT_EQ(by_id.size(), 3u);
  EXPECT_EQ(by_id["a1"].ttl, minutes(5));
  EXPECT_EQ(by_id["a1"].record->endpoints, (std::vector<std::string>{"ep1", "ep2"}));
  EXPECT_EQ(by_id["a1"].endpoint_ttls, (std::vector<std::chrono::nanoseconds>{seconds(60),
                                                                               seconds(120)}));
  EXPECT_EQ(by_id["a2"].ttl, minutes(10));
  EXPECT_LT(by_id["a3"].ttl, std::chrono::nanoseconds::zero());
  EXPECT_TRUE(decoded.clusters[1].affiliates.empty());
  // An empty upstream file is a valid empty state.
  DecodedSnapshot empty = decode_snapshot("", nullptr, kNow);
  EXPECT_TRUE(empty.problems.empty());
  EXPECT_TRUE(empty.clusters.empty());
}

TEST(SnapshotUpstream, DamageIsReportedWithOffsets) {
  std::string good = field(1, 2, field(1, 2, "c1"));
  // A wrong field tag stops reading there; what came before is kept.
  DecodedSnapshot bad_tag = decode_snapshot(good + "\x12\x00", nullptr, kNow);
  ASSERT_EQ(bad_tag.problems.size(), 1u);
  EXPECT_EQ(bad_tag.problems[0].offset, good.size());
  EXPECT_EQ(bad_tag.clusters.size(), 1u);
  // A record longer than the file is truncation.
  DecodedSnapshot truncated = decode_snapshot(good + "\x0a\x05" "ab", nullptr, kNow);
  ASSERT_EQ(truncated.problems.size(), 1u);
  EXPECT_NE(truncated.problems[0].message.find("truncated"), std::string::npos);
  // Limits are checked on load, and a repeated cluster ID is skipped.
  std::string too_long = field(1, 2, field(1, 2, std::string(257, 'x')));
  DecodedSnapshot invalid = decode_snapshot(good + too_long + good, nullptr, kNow);
  ASSERT_EQ(invalid.problems.size(), 2u);
  EXPECT_EQ(invalid.problems[0].offset, good.size());
  EXPECT_NE(invalid.problems[0].message.find("cluster ID is too long"), std::string::npos);
  EXPECT_EQ(invalid.clusters.size(), 1u);
}

class SnapshotFileTest : public SnapshotTest {
 protected:
  void SetUp() override {
    SnapshotTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() /
           ("snapshot-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "sub" / "state.bin").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SnapshotFileTest, SaveLoadWithPrivateMode) {
  const SnapshotKey key = key_of(3);
  SnapshotFile file(path_, key);
  SnapshotCounts saved = file.save(state_);
  EXPECT_EQ(saved.clusters, 2u);
  EXPECT_EQ(saved.affiliates, 3u);
  EXPECT_EQ(saved.endpoints, 3u);
  EXPECT_EQ(saved.bytes, std::filesystem::file_size(path_));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));

  test::ManualClock clock;
  State restored(clock);
  LoadResult loaded = file.load(restored);
  EXPECT_TRUE(loaded.found);
  EXPECT_TRUE(loaded.problems.empty());
  EXPECT_EQ(loaded.counts.affiliates, 3u);
  EXPECT_EQ(restored.list("c1").size(), 2u);
}

TEST_F(SnapshotFileTest, MissingFileIsAFreshStart) {
  LoadResult loaded = SnapshotFile(path_, std::nullopt).load(state_);
  EXPECT_FALSE(loaded.found);
  EXPECT_FALSE(loaded.refused);
}

TEST_F(SnapshotFileTest, EmptyStateReplacesAnOldSnapshot) {
  SnapshotFile file(path_, std::nullopt);
  file.save(state_);
  test::ManualClock clock;
  State empty(clock);
  file.save(empty);
  State restored(clock);
  file.load(restored);
  EXPECT_EQ(restored.stats().clusters, 0u) << "stale records came back from an old file";
}

TEST_F(SnapshotFileTest, FailedWriteLeavesTheOldFile) {
  SnapshotFile file(path_, std::nullopt);
  file.save(state_);
  const auto before = std::filesystem::file_size(path_);
  // The temp name is taken by a directory, so the new snapshot cannot be written.
  std::filesystem::create_directory(path_ + ".tmp");
  test::ManualClock clock;
  State other(clock);
  EXPECT_THROW(file.save(other), std::runtime_error);
  EXPECT_EQ(std::filesystem::file_size(path_), before);
  State restored(clock);
  EXPECT_TRUE(file.load(restored).problems.empty());
  EXPECT_EQ(restored.stats().affiliates, 3u);
}

TEST_F(SnapshotFileTest, PathThatIsNotAFileIsRefusedNamingIt) {
  std::filesystem::create_directories(path_);
  SnapshotFile file(path_, std::nullopt);
  LoadResult loaded = file.load(state_);
  ASSERT_TRUE(loaded.refused);
  EXPECT_EQ(*loaded.refused, path_ + " is a directory; the snapshot path must name a file");
  EXPECT_EQ(state_.stats().clusters, 2u) << "a refused load changes nothing";
  try {
    file.save(state_);
    ADD_FAILURE() << "saving over a directory succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(" to " + path_ + ": "), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::filesystem::is_directory(path_));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));

  // A FIFO would block a plain open; it is refused at once.
  std::filesystem::remove(path_);
  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  loaded = file.load(state_);
  ASSERT_TRUE(loaded.refused);
  EXPECT_EQ(*loaded.refused, path_ + " is not a regular file; the snapshot path must name a file");

  // A path under a file cannot be read either; the error names it.
  const std::string under_file = path_ + "/state.bin";
  loaded = SnapshotFile(under_file, std::nullopt).load(state_);
  ASSERT_TRUE(loaded.refused);
  EXPECT_EQ(*loaded.refused, "cannot read " + under_file + ": Not a directory");
}

TEST_F(SnapshotFileTest, SetAsideMovesTheDamagedFile) {
  SnapshotFile file(path_, std::nullopt);
  file.save(state_);
  std::string moved = file.set_aside();
  EXPECT_FALSE(std::filesystem::exists(path_));
  EXPECT_TRUE(std::filesystem::exists(moved));
  EXPECT_NE(moved.find(".damaged-"), std::string::npos);
}

TEST_F(SnapshotFileTest, KeyFileFormats) {
  std::filesystem::create_directories(dir_);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    std::filesystem::permissions(
        dir_ / name, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return (dir_ / name).string();
  };
  const SnapshotKey expected = key_of(0xab);
  EXPECT_EQ(read_snapshot_key(write("raw", std::string(32, '\xab'))), expected);
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "aB";
  EXPECT_EQ(read_snapshot_key(write("hex", hex + "\n")), expected);
  EXPECT_EQ(read_snapshot_key(write("b64", "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n")),
            expected);
  EXPECT_THROW(read_snapshot_key(write("short", "abc")), std::runtime_error);
  EXPECT_THROW(read_snapshot_key((dir_ / "missing").string()), std::runtime_error);
}

TEST_F(SnapshotFileTest, KeyFileOthersMayReadIsRefused) {
  std::filesystem::create_directories(dir_);
  const std::string path = (dir_ / "key").string();
  std::ofstream(path, std::ios::binary) << std::string(32, '\xab');
  for (auto mode : {0644, 0640, 0604, 0610, 0601}) {
    ASSERT_EQ(::chmod(path.c_str(), static_cast<mode_t>(mode)), 0);
    try {
      read_snapshot_key(path);
      ADD_FAILURE() << "accepted mode " << std::oct << mode;
    } catch (const std::runtime_error& e) {
      char expected[160];
      std::snprintf(expected, sizeof expected, "key file %s has mode %04o", path.c_str(), mode);
      EXPECT_THAT(e.what(), ::testing::StartsWith(expected));
      EXPECT_THAT(e.what(), ::testing::HasSubstr("chmod 600 " + path));
    }
  }
  for (auto mode : {0600, 0400}) {
    ASSERT_EQ(::chmod(path.c_str(), static_cast<mode_t>(mode)), 0);
    EXPECT_EQ(read_snapshot_key(path), key_of(0xab)) << std::oct << mode;
  }
  try {
    read_snapshot_key(dir_.string());
    ADD_FAILURE() << "accepted a directory";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "key file " + dir_.string() + " is a directory");
  }
}

}  // namespace
}  // namespace discovery::server
