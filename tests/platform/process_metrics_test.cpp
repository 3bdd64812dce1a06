// The process_* families: parsed back from the rendered text, with this test process's own
// figures checked for plausibility.
#include "platform/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>

namespace platform {
namespace {

struct Family {
  std::string type;
  std::string help;
  std::string value;
};

// name -> family, from lines "# HELP n h", "# TYPE n t", "n v"; fails on anything else.
std::map<std::string, Family> parse(const std::string& text) {
  std::map<std::string, Family> families;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first, name;
    words >> first;
    if (first == "#") {
      std::string kind;
      words >> kind >> name;
      std::string rest;
      std::getline(words >> std::ws, rest);
      if (kind == "HELP") {
        families[name].help = rest;
      } else if (kind == "TYPE") {
        families[name].type = rest;
      } else {
        ADD_FAILURE() << "unexpected comment: " << line;
      }
    } else {
      EXPECT_TRUE(families.count(first)) << "sample before its HELP/TYPE: " << line;
      words >> families[first].value;
      std::string extra;
      EXPECT_FALSE(words >> extra) << line;
    }
  }
  return families;
}

TEST(ProcessMetrics, RendersTheStandardFamiliesWithPlausibleValues) {
  auto text = render_process_metrics();
  ASSERT_FALSE(text.empty()) << "/proc/self not readable";
  auto families = parse(text);

  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"process_cpu_seconds_total",
       {"counter", "Total user and system CPU time spent in seconds."}},
      {"process_max_fds", {"gauge", "Maximum number of open file descriptors."}},
      {"process_open_fds", {"gauge", "Number of open file descriptors."}},
      {"process_resident_memory_bytes", {"gauge", "Resident memory size in bytes."}},
      {"process_start_time_seconds",
       {"gauge", "Start time of the process since unix epoch in seconds."}},
      {"process_virtual_memory_bytes", {"gauge", "Virtual memory size in bytes."}},
  };
  ASSERT_EQ(families.size(), expected.size()) << text;
  for (const auto& [name, type_help] : expected) {
    ASSERT_TRUE(families.count(name)) << name;
    EXPECT_EQ(families[name].type, type_help.first) << name;
    EXPECT_EQ(families[name].help, type_help.second) << name;
  }

  auto value = [&](const std::string& name) { return std::stod(families[name].value); };
  EXPECT_GE(value("process_cpu_seconds_total"), 0);
  EXPECT_GT(value("process_resident_memory_bytes"), 0);
  EXPECT_GE(value("process_virtual_memory_bytes"), value("process_resident_memory_bytes"));
  EXPECT_GE(value("process_open_fds"), 3) << "stdin, stdout and stderr at least";
  EXPECT_GE(value("process_max_fds"), value("process_open_fds"));
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(value("process_start_time_seconds"), now + 1);
  EXPECT_GT(value("process_start_time_seconds"), now - 24 * 3600);
}

TEST(ProcessMetrics, OpenFdsFollowsTheProcess) {
  auto before = read_process_stats();
  ASSERT_TRUE(before.has_value());
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto during = read_process_stats();
  ::close(fd);
  ASSERT_TRUE(during.has_value());
  EXPECT_EQ(during->open_fds, before->open_fds + 1);
}

TEST(ProcessMetrics, UnlimitedMaxFdsRendersAsInfinity) {
  ProcessStats stats;
  stats.resident_memory_bytes = 4096;
  stats.start_time_seconds = 1700000000.5;
  auto families = parse(render_process_metrics(stats));
  EXPECT_EQ(families["process_max_fds"].value, "+Inf");
  EXPECT_EQ(families["process_resident_memory_bytes"].value, "4096");
  EXPECT_EQ(families["process_start_time_seconds"].value, "1700000000.50");
}

}  // namespace
}  // namespace platform
