// write_private_file on a real directory: mode 0600, replaces the old file whole, and a failure
// names the file and leaves nothing behind. read_private_file: only files nobody else may access.
#include "platform/private_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <system_error>

#include "tests/machined/temp_dir.h"

namespace platform {
namespace {

using tds::test::read_file;

TEST(PrivateFile, WritesWithMode0600AndReplacesWhole) {
  tds::test::TempDir dir;
  const auto path = dir.path() / "secret.key";
  write_private_file(path, "first");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(path), "first");

  write_private_file(path, "second, longer than the first");
  EXPECT_EQ(read_file(path), "second, longer than the first");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST(PrivateFile, AStaleWorldReadableTempFileDoesNotLendItsMode) {
  tds::test::TempDir dir;
  const auto path = dir.path() / "secret.key";
  std::ofstream(path.string() + ".tmp") << "left by a crash";
  std::filesystem::permissions(path.string() + ".tmp", std::filesystem::perms::all);
  write_private_file(path, "fresh");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(path), "fresh");
}

TEST(PrivateFile, FailureNamesTheFileAndKeepsTheOldOne) {
  tds::test::TempDir dir;
  try {
    write_private_file(dir.path() / "missing-dir" / "secret.key", "x");
    FAIL() << "wrote into a missing directory";
  } catch (const std::system_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("missing-dir/secret.key"));
  }

  // The target is a directory: rename fails, the temp file is removed.
  const auto target = dir.path() / "occupied";
  std::filesystem::create_directory(target);
  EXPECT_THROW(write_private_file(target, "x"), std::system_error);
  EXPECT_TRUE(std::filesystem::is_directory(target));
  EXPECT_FALSE(std::filesystem::exists(target.string() + ".tmp"));
}

TEST(PrivateFile, ReadsOnlyWhatNobodyElseMayAccess) {
  tds::test::TempDir dir;
  const auto path = dir.path() / "secret.key";
  write_private_file(path, "secret");
  EXPECT_EQ(read_private_file(path, 64), "secret");

  std::filesystem::permissions(path, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  try {
    read_private_file(path, 64);
    FAIL() << "read a group-readable secret";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              path.string() +
                  " has mode 0640, which lets group or others access a secret; run "
                  "chmod 600 " +
                  path.string());
  }
}

TEST(PrivateFile, ReadRefusesWhatIsNotASmallRegularFile) {
  tds::test::TempDir dir;
  EXPECT_THROW(read_private_file(dir.path(), 64), std::runtime_error);
  try {
    read_private_file(dir.path() / "missing", 64);
    FAIL() << "read a missing file";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("cannot read " + (dir.path() / "missing").string()));
  }
  const auto big = dir.path() / "big";
  write_private_file(big, std::string(65, 'x'));
  EXPECT_THAT([&] { read_private_file(big, 64); },
              ::testing::ThrowsMessage<std::runtime_error>(
                  ::testing::HasSubstr(big.string() + " is larger than 64 bytes")));
  EXPECT_EQ(read_private_file(big, 65), std::string(65, 'x'));
}

}  // namespace
}  // namespace platform
