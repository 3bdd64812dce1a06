// watch_file on a real directory: a new file, an in-place write and a rename into place (how
// editors save) each notify; files with other names in the same directory do not.
#include "machined/file_watch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/machined/temp_dir.h"
#include "tests/runtime/controller/test_util.h"

namespace machined {
namespace {

using runtime::controller::testing::eventually;
using runtime::controller::testing::IoThreads;
using namespace std::chrono_literals;

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// config.yaml in a fresh directory, watched with a short settle time, counting notifications.
class FileWatchTest : public ::testing::Test {
 protected:
  tds::test::TempDir dir_;
  const std::filesystem::path path_ = dir_.path() / "config.yaml";
  IoThreads io_{1};
  std::atomic<int> changes_{0};
  std::unique_ptr<FileWatch> watch_ = watch_file(io_.executor(), path_, [this] { ++changes_; }, 10ms);
};

TEST_F(FileWatchTest, CreationsWritesAndRenamesNotify) {
  write(path_, "a");  // created
  ASSERT_TRUE(eventually([&] { return changes_ >= 1; }));
  const int after_create = changes_;
  write(path_, "b");  // written in place
  ASSERT_TRUE(eventually([&] { return changes_ > after_create; }));
  const int after_write = changes_;
  write(dir_.path() / "config.yaml.new", "c");
  std::filesystem::rename(dir_.path() / "config.yaml.new", path_);  // replaced
  ASSERT_TRUE(eventually([&] { return changes_ > after_write; }));
}

TEST_F(FileWatchTest, OtherFilesInTheDirectoryDoNotNotify) {
  write(dir_.path() / "config.yaml.bak", "x");
  write(dir_.path() / "other.yaml", "y");
  // Far longer than the settle time; a slow machine can only make this pass wrongly, not fail.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(changes_, 0);
  write(path_, "z");
  EXPECT_TRUE(eventually([&] { return changes_ == 1; }));
}

TEST(FileWatch, MissingDirectoryIsAClearError) {
  IoThreads io{1};
  try {
    watch_file(io.executor(), "/nonexistent-dir/config.yaml", [] {});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace machined
