// A logger writing to a string stream, so that a test can read what troupe logged.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <ostream>
#include <string>

namespace troupe::test {

/// Each line is `pattern` (spdlog's: %l the level, %v the text); give it to
/// actor_system_config::logger.
inline std::shared_ptr<spdlog::logger> capture(std::ostream& out, const std::string& pattern = "%l|%v") {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern(pattern);
  return std::make_shared<spdlog::logger>("test", sink);
}

}  // namespace troupe::test
