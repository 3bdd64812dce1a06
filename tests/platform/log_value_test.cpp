#include "platform/log_value.h"

#include <gtest/gtest.h>

namespace platform {
namespace {

TEST(LogValue, EscapesWhatWouldBreakTheLineOrTheQuotes) {
  EXPECT_EQ(log_value("plain text: 1, 2"), "plain text: 1, 2");
  EXPECT_EQ(log_value("config.yaml: 2 errors occurred:\n\t* a\n\t* b"),
            "config.yaml: 2 errors occurred:\\n\\t* a\\n\\t* b");
  EXPECT_EQ(log_value(R"(say "hi" \ bye)"), R"(say \"hi\" \\ bye)");
  EXPECT_EQ(log_value("a\r\nb"), "a\\r\\nb");
  EXPECT_EQ(log_value(""), "");
}

}  // namespace
}  // namespace platform
