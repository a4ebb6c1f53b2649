// Time vocabulary for troupe: the clock, durations, and "no timeout".
#pragma once

#include <chrono>

namespace troupe {

using clock = std::chrono::steady_clock;
using duration = clock::duration;
using time_point = clock::time_point;

/// A timeout that never expires. A request made with it still completes: with the reply, or
/// with an error when the receiver dies or the system shuts down.
inline constexpr duration infinite = duration::max();

}  // namespace troupe
