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

/// "The system's default": a request given this timeout (or none) waits for
/// actor_system_config::request_timeout.
inline constexpr duration default_timeout = duration::min();

}  // namespace troupe
