// The house log line: `ts=… level=… event=…`, and the fatal line every daemon ends with.
#include "platform/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>

namespace platform {
namespace {

using ::testing::MatchesRegex;

TEST(Logging, FatalLineIsStructuredAndEscaped) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_st>(captured)));
  setup_logging({.level = "warn"});
  spdlog::info("quiet");  // below the level
  log_fatal("config.yaml: 2 errors:\n\"a\"");
  spdlog::set_default_logger(previous);
  EXPECT_THAT(captured.str(),
              MatchesRegex("ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ level=error event=fatal "
                           "error=\"config.yaml: 2 errors:\\\\n\\\\\"a\\\\\"\"\n"));
}

}  // namespace
}  // namespace platform
