// Plugins in the machined executable itself: it links libstdc++, yaml-cpp and gRPC statically and
// exports only the plugin ABI (cmd/machined/plugin_abi.list), so these check that a real plugin
// finds every symbol it needs there, runs, and that its exceptions reach machined's handlers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "tests/integration/nodes.h"
#include "tests/machined/temp_dir.h"
#include "tests/support/child_process.h"

namespace {

using tds::test::ChildProcess;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::vector<std::string> machined_with_plugins(const std::filesystem::path& dir) {
  return {MACHINED_BIN,
          "--state-dir",
          (dir / "state").string(),
          "--plugin-dir",
          (dir / "plugins").string(),
          "--api-addr",
          "127.0.0.1:0",
          "--api-insecure",
          "--metrics-addr="};
}

void install_plugin(const std::filesystem::path& dir, const std::filesystem::path& plugin) {
  std::filesystem::create_directories(dir / "plugins");
  std::filesystem::copy_file(plugin, dir / "plugins" / plugin.filename());
}

TEST(MachinedPlugins, TheExamplePluginRunsInTheDaemon) {
  tds::test::TempDir dir;
  install_plugin(dir.path(), MEMBER_SUMMARY_PLUGIN);
  ChildProcess machined(machined_with_plugins(dir.path()));
  ASSERT_TRUE(machined.wait_for_output(std::regex("event=started"), 30s)) << machined.output();

  const std::string socket = (dir.path() / "state" / "machined.sock").string();
  // The summary is written by the plugin's controller with yaml-cpp's emitter and read back
  // through the type and print columns it registered.
  std::string output;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    const auto r = tds::test::nodectl({"--socket", socket, "get", "membersummaries"});
    output = r.output;
    if (r.exit_code == 0 && output.find("members") != std::string::npos) break;
  }
  EXPECT_THAT(output, ::testing::StartsWith(
                          "NODE   NAMESPACE   TYPE            ID        VERSION   TOTAL   "
                          "CONTROL PLANES   WORKERS\n"));
  EXPECT_TRUE(std::regex_search(
      output, std::regex("cluster +MemberSummary +members +[0-9]+ +[0-9]+ +0 +[0-9]+\n")))
      << output;
}

TEST(MachinedPlugins, AnExceptionFromAPluginStopsTheStartWithItsMessage) {
  tds::test::TempDir dir;
  install_plugin(dir.path(), THROWING_PLUGIN);
  const auto r = tds::test::run_to_exit(machined_with_plugins(dir.path()), 30s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(std::filesystem::path(THROWING_PLUGIN).filename().string()));
  EXPECT_THAT(r.output, HasSubstr("boom"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state" / "machined.sock"));
}

}  // namespace
