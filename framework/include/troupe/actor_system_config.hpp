// actor_system_config: how an actor_system runs.
#pragma once

#include <spdlog/common.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace troupe {

class actor_system;
class scheduler;

struct actor_system_config {
  /// Worker threads of the scheduler; 0 means one per hardware thread.
  std::size_t worker_count = 0;
  /// How many messages an actor may handle before the worker moves on to another ready actor
  /// (fairness). Larger is faster for busy actors, smaller spreads latency more evenly.
  std::size_t messages_per_activation = 64;
  /// Level of the system's logger ("troupe", to stderr). Dead letters log at debug.
  spdlog::level::level_enum log_level = spdlog::level::warn;
  /// Replaces the work-stealing pool (for tests: a deterministic scheduler). Called once by
  /// the actor_system constructor.
  std::function<std::unique_ptr<scheduler>(actor_system&)> scheduler_factory = {};
};

}  // namespace troupe
