// actor_system_config: how an actor_system runs.
#pragma once

#include <spdlog/common.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace troupe {

class actor_system;
class scheduler;
class timer_service;

struct actor_system_config {
  /// Worker threads of the scheduler; 0 means one per hardware thread.
  std::size_t worker_count = 0;
  /// How many messages an actor may handle before the worker moves on to another ready actor
  /// (fairness). Larger is faster for busy actors, smaller spreads latency more evenly.
  std::size_t messages_per_activation = 64;
  /// Most threads of the blocking pool (troupe::run_blocking); started on demand.
  std::size_t blocking_threads = 4;
  /// Level of the system's logger ("troupe", to stderr). Dead letters log at debug.
  spdlog::level::level_enum log_level = spdlog::level::warn;
  /// Replaces the work-stealing pool (for tests: a deterministic scheduler). Called once by
  /// the actor_system constructor.
  std::function<std::unique_ptr<scheduler>(actor_system&)> scheduler_factory = {};
  /// Replaces the timer thread (for tests: troupe::testing::virtual_clock).
  std::function<std::unique_ptr<timer_service>(actor_system&)> timer_factory = {};
};

}  // namespace troupe
