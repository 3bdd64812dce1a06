// The open-descriptor limit of a daemon that serves many connections.
#pragma once

#include <cstdint>

namespace platform {

// Raises the soft RLIMIT_NOFILE to the hard limit, as Go's runtime does at start, so that the
// default soft limit of 1024 does not cap the connections a daemon can hold. Returns the soft
// limit in force afterwards; on failure it is the unchanged one.
std::uint64_t raise_fd_limit();

}  // namespace platform
