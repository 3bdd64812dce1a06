// Parsing through CLI11 with `--name=` rewritten first, and CLI11's errors reduced to one line.
#include "platform/command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "platform/connection_limits.h"
#include "platform/listen_address.h"
#include "platform/logging.h"

namespace platform {
namespace {

// Whether `name` ("--x") is an option taking a value in `app` or one of its subcommands.
bool takes_value(CLI::App& app, const std::string& name) {
  if (const CLI::Option* option = app.get_option_no_throw(name)) {
    return option->get_items_expected_max() > 0;
  }
  const auto subcommands = app.get_subcommands([](CLI::App*) { return true; });
  return std::any_of(subcommands.begin(), subcommands.end(),
                     [&name](CLI::App* sub) { return takes_value(*sub, name); });
}

// One line: CLI11 messages may hold newlines.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

}  // namespace

std::optional<int> parse_command_line(CLI::App& app, int argc, const char* const* argv,
                                      std::ostream& out, std::ostream& err) {
  const std::string program =
      argc > 0 ? std::filesystem::path(argv[0]).filename().string() : app.get_name();
  if (app.get_name().empty()) app.name(program);  // help's usage line, as CLI11 would set it
  // CLI11 wants the arguments last to first.
  std::vector<std::string> args;
  bool options_ended = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    options_ended = options_ended || arg == "--";
    if (!options_ended && arg.starts_with("--") && arg.find('=') == arg.size() - 1 &&
        takes_value(app, arg.substr(0, arg.size() - 1))) {
      arg.pop_back();
      args.push_back(std::move(arg));
      args.emplace_back();
    } else {
      args.push_back(std::move(arg));
    }
  }
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << program << ": " << one_line(e.what()) << "; see --help\n";
    return 2;
  }
  return std::nullopt;
}

std::optional<int> parse_daemon_command_line(CLI::App& app, int argc, const char* const* argv) {
  LogOptions log;
  add_log_flags(app, log);
  if (auto exit_code = parse_command_line(app, argc, argv, std::cout, std::cerr)) return exit_code;
  setup_logging(log);
  return std::nullopt;
}

CLI::Validator optional_listen_address() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.empty()) return {};
        try {
          parse_listen_address(value);
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
        return {};
      },
      "ADDRESS");
}

void add_connection_limit_flags(CLI::App& app, ConnectionLimits& limits, const std::string& prefix,
                                const std::string& what) {
  app.add_option("--" + prefix + "max-connections", limits.total,
                 "open " + what + " connections at most, and never more than the descriptor "
                 "limit less 1024 (0: that many)")
      ->capture_default_str();
  app.add_option("--" + prefix + "max-connections-per-address", limits.per_address,
                 "open " + what + " connections per client address at most; 0: no cap")
      ->capture_default_str();
}

}  // namespace platform
