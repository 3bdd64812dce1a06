// Node identity: created once (mode 0600), reused after restart, never replaced when broken.
#include "controllers/cluster/node_identity.h"
#include "controllers/cluster/controllers.h"
#include "controllers/internal/base62.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "resources/cluster/cluster.h"
#include "tests/controllers/harness.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
using ::testing::HasSubstr;

class NodeIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tds-node-identity-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(dir_ / kNodeIdentityFile) << text; }
  std::string read() {
    std::ifstream in(dir_ / kNodeIdentityFile);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path dir_;
};

TEST_F(NodeIdentity, CreatesThenReuses) {
  auto id = load_or_create_node_id(dir_);
  EXPECT_EQ(read(), "nodeId: " + id + "\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / kNodeIdentityFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(load_or_create_node_id(dir_), id);
}

TEST_F(NodeIdentity, LoadsTalosFile) {
  write("nodeId: gvqfS27LxD58lPlASmpaueeRVzuof16iXoieRgEvBWaE\n");
  EXPECT_EQ(load_or_create_node_id(dir_), "gvqfS27LxD58lPlASmpaueeRVzuof16iXoieRgEvBWaE");
}

TEST_F(NodeIdentity, EmptyOrCorruptFileIsAnErrorAndKept) {
  for (const std::string& text : {std::string(""), std::string("nodeId: \"\"\n"),
                                  std::string("nodeId: [\n"), std::string("nodeId: a-b\n")}) {
    write(text);
    try {
      load_or_create_node_id(dir_);
      FAIL() << "accepted: " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("node-identity.yaml")) << text;
    }
    EXPECT_EQ(read(), text);
  }
}

// What is not an identity Talos could have written is refused with the reason, and kept.
TEST_F(NodeIdentity, OversizedWrongLengthOrDirectoryIsRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nodeId: " + std::string(100'000, 'a') + "\n", "too large for a node identity"},
      {"nodeId: " + internal::base62_encode(std::string(16, '\x07')) + "\n",
       "16 bytes, expected 32"},
  };
  for (const auto& [text, why] : cases) {
    write(text);
    try {
      load_or_create_node_id(dir_);
      ADD_FAILURE() << "accepted: " << why;
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(why));
    }
    EXPECT_EQ(read(), text);
  }
  std::filesystem::remove(dir_ / kNodeIdentityFile);
  std::filesystem::create_directory(dir_ / kNodeIdentityFile);
  try {
    load_or_create_node_id(dir_);
    ADD_FAILURE() << "a directory was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not a regular file"));
  }
}

TEST_F(NodeIdentity, ControllerPublishesTheStoredId) {
  write("nodeId: sou7yy34ykX3n373Zw1DXKb8zD7UnyKT6HT3QDsGH6L\n");
  testing::Harness h;
  h.add(make_node_identity_controller(dir_));
  h.start();
  auto spec = h.wait_for<rc::IdentitySpec>(
      {"cluster", std::string(rc::kIdentityType), "local"});
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->node_id(), "sou7yy34ykX3n373Zw1DXKb8zD7UnyKT6HT3QDsGH6L");
}

}  // namespace
}  // namespace controllers::cluster
