// Command lines as users of the Go originals expect them: `--flag=` sets the empty value, and a
// bad command line is one line on stderr and exit status 2.
#pragma once

#include <optional>
#include <ostream>
#include <string>

namespace CLI {
class App;
class Validator;
}  // namespace CLI

namespace platform {

struct ConnectionLimits;

// Parses `argv` into `app` as CLI11 would, except that `--name=` gives a value-taking option
// `name` (of `app` or any subcommand) the empty value; CLI11 alone would take the next argument
// instead. Returns nullopt when the program should go on, otherwise its exit status: 0 after
// printing the help asked for to `out`, 2 after printing `<program>: <problem>; see --help` to
// `err`, where <program> is the file name of argv[0].
std::optional<int> parse_command_line(CLI::App& app, int argc, const char* const* argv,
                                      std::ostream& out, std::ostream& err);

// A daemon's command line: adds --log-level to `app`, parses as parse_command_line (on stdout
// and stderr) and sets up logging. Returns the exit status when the program should end now.
std::optional<int> parse_daemon_command_line(CLI::App& app, int argc, const char* const* argv);

// A check for a listen-address flag whose empty value turns the listener off: the empty value
// and what parse_listen_address accepts.
CLI::Validator optional_listen_address();

// `--<prefix>max-connections` and `--<prefix>max-connections-per-address` into `limits`, for a
// gRPC listener that `what` names in the help ("gRPC", "--api-addr").
void add_connection_limit_flags(CLI::App& app, ConnectionLimits& limits, const std::string& prefix,
                                const std::string& what);

}  // namespace platform
