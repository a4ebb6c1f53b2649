// Logging: troupe's own level enum and a small facade, so that the public headers do not pull
// in spdlog or fmt (they cost seconds of compile time per file).
//
// Every actor_system logs through one spdlog logger: by default a logger named "troupe" that
// writes to stderr at actor_system_config::log_level (warn). Pass your own in
// actor_system_config::logger to route troupe's messages into your application's logging;
// actor_system::logger() returns it (include <spdlog/logger.h> to call it). Code that does not
// use spdlog logs through actor_system::log(level, text).
//
// What troupe logs: at error, a handler or on_exit that threw, a blocking get() in an actor;
// at warn, the first dead letter of each (receiver type, message type, reason) (rate-limited;
// later ones at debug), a failed future dropped unconsumed, a spawn refused by a stopped system,
// a supervisor giving up, a refused or dropped network connection (troupe::net).
//
// To pass a logger of your own, your target needs spdlog itself (troupe links it privately):
// find_package(spdlog) and target_link_libraries(app PRIVATE spdlog::spdlog).
#pragma once

#include <cstdint>

namespace spdlog {
class logger;
}

namespace troupe {

/// The severity of a log message; the same order (and values) as spdlog's levels.
enum class log_level : std::uint8_t { trace, debug, info, warn, error, critical, off };

}  // namespace troupe
