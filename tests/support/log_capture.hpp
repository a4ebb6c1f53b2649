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

#include <spdlog/sinks/base_sink.h>
#include <support/probe.hpp>

#include <mutex>

namespace troupe::test {

/// A logger that pushes each line ("level|text") into `lines`, so that a test can wait for a
/// line to be logged (probe::pop_until) instead of polling.
inline std::shared_ptr<spdlog::logger> log_to(probe_ptr<std::string> lines) {
  struct sink final : spdlog::sinks::base_sink<std::mutex> {
    explicit sink(probe_ptr<std::string> l) : lines(std::move(l)) {}
    probe_ptr<std::string> lines;

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      lines->push(std::string(spdlog::level::to_string_view(msg.level).data(), spdlog::level::to_string_view(msg.level).size()) +
                  "|" + std::string(msg.payload.data(), msg.payload.size()));
    }
    void flush_() override {}
  };
  return std::make_shared<spdlog::logger>("test", std::make_shared<sink>(std::move(lines)));
}

}  // namespace troupe::test
