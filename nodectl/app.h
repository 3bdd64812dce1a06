// The nodectl command line: `get`, `reset` and `gen config`.
#pragma once

#include <ostream>

namespace nodectl {

// Where machined's read-write socket is when neither --socket nor --endpoint is given.
inline constexpr char kDefaultSocket[] = "/var/lib/machined/machined.sock";

// Parses the arguments, runs the subcommand and returns the process exit code: 0 on success,
// 1 when the command failed (message on `err`), 2 for bad usage.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace nodectl
