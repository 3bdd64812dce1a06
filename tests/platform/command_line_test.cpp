// Command-line parsing as the binaries use it: `--flag=` is the empty value, errors are one line
// and exit status 2, --help is exit status 0.
#include "platform/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "platform/logging.h"

namespace platform {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Flags {
  std::string landing = ":3001";
  std::string metrics = ":2122";
  bool enabled = true;
  std::string sub_value = "default";
  LogOptions log;
};

struct Parsed {
  std::optional<int> exit_code;
  std::string out;
  std::string err;
};

// A command line like the daemons': two address options, a flag, --log-level and a subcommand.
Parsed parse(Flags& flags, std::vector<const char*> args) {
  CLI::App app{"test program"};
  app.add_option("--landing-addr", flags.landing)->check(optional_listen_address());
  app.add_option("--metrics-addr", flags.metrics)->check(optional_listen_address());
  app.add_flag("--enabled", flags.enabled);
  add_log_flags(app, flags.log);
  app.add_subcommand("sub", "a subcommand")->add_option("--value", flags.sub_value);
  args.insert(args.begin(), "/usr/bin/prog");
  std::ostringstream out, err;
  const auto exit_code =
      parse_command_line(app, static_cast<int>(args.size()), args.data(), out, err);
  return {exit_code, out.str(), err.str()};
}

TEST(CommandLine, EqualsWithNothingAfterItIsTheEmptyValue) {
  Flags flags;
  const Parsed r = parse(flags, {"--landing-addr=", "--metrics-addr=", "--log-level", "debug"});
  EXPECT_EQ(r.exit_code, std::nullopt) << r.err;
  EXPECT_EQ(flags.landing, "") << "the next argument is not taken as the value";
  EXPECT_EQ(flags.metrics, "");
  EXPECT_EQ(flags.log.level, "debug");
}

TEST(CommandLine, OtherSpellingsStillWork) {
  Flags flags;
  const Parsed r = parse(flags, {"--landing-addr", "127.0.0.1:1", "--metrics-addr=[::1]:2",
                                 "--enabled=false", "sub", "--value="});
  EXPECT_EQ(r.exit_code, std::nullopt) << r.err;
  EXPECT_EQ(flags.landing, "127.0.0.1:1");
  EXPECT_EQ(flags.metrics, "[::1]:2");
  EXPECT_FALSE(flags.enabled);
  EXPECT_EQ(flags.sub_value, "") << "subcommand options get the empty value too";
}

TEST(CommandLine, ErrorsAreOneLineAndStatusTwo) {
  const struct {
    std::vector<const char*> args;
    const char* named;  // the error names this flag
  } cases[] = {
      {{"--nope"}, "--nope"},
      {{"--log-level=loud"}, "--log-level"},
      {{"--log-level="}, "--log-level"},
      {{"--landing-addr", "nowhere"}, "--landing-addr"},
      {{"--metrics-addr"}, "--metrics-addr"},
  };
  for (const auto& c : cases) {
    Flags flags;
    const Parsed r = parse(flags, c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0];
    EXPECT_THAT(r.err, StartsWith("prog: ")) << c.args[0];
    EXPECT_THAT(r.err, HasSubstr(c.named));
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(CommandLine, HelpIsStatusZeroOnStdout) {
  Flags flags;
  const Parsed r = parse(flags, {"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--landing-addr"));
  EXPECT_THAT(r.out, HasSubstr("prog"));
  EXPECT_EQ(r.err, "");
}

TEST(CommandLine, OptionalListenAddress) {
  CLI::Validator check = optional_listen_address();
  std::string empty, good = ":80", bad = "80";
  EXPECT_EQ(check(empty), "");
  EXPECT_EQ(check(good), "");
  EXPECT_THAT(check(bad), HasSubstr("\"80\""));
}

}  // namespace
}  // namespace platform
