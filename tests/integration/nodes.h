// What the machined process tests share: running nodectl, and machine configs with an OS CA
// (tests/support/ca_config.h).
// NODECTL_BIN is defined by the test's CMake target.
#pragma once

#include <string>
#include <vector>

#include "tests/support/ca_config.h"
#include "tests/support/child_process.h"

namespace tds::test {

inline RunResult nodectl(std::vector<std::string> args) {
  args.insert(args.begin(), NODECTL_BIN);
  return run_to_exit(std::move(args), std::chrono::seconds(30));
}

}  // namespace tds::test
