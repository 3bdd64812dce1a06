// Signals a daemon's main thread waits for with sigwait() instead of handling them.
#pragma once

#include <signal.h>

#include <initializer_list>

namespace platform {

// Blocks `signals` in the calling thread and returns them as a set for sigwait(). Call it before
// any thread starts: threads inherit the mask, so no other thread takes these signals.
sigset_t block_signals(std::initializer_list<int> signals);

}  // namespace platform
