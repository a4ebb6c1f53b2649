// actor_system_config: how an actor_system runs.
#pragma once

#include <troupe/abstract_actor.hpp>
#include <troupe/inspect.hpp>
#include <troupe/log.hpp>
#include <troupe/time.hpp>
#include <troupe/trace.hpp>

#include <cstddef>
#include <functional>
#include <memory>

namespace troupe {

class actor_system;
class scheduler;
class timer_service;

struct actor_system_config {
  /// The system's node id; node_id{} (the default) draws a random one, unique in the process.
  /// Deterministic tests derive it from their seed (troupe::testing::test_system does), so that
  /// everything hashed by node id replays the same way.
  node_id node = {};
  /// Worker threads of the scheduler; 0 means one per hardware thread.
  std::size_t worker_count = 0;
  /// How many messages an actor may handle before the worker moves on to another ready actor
  /// (fairness). Larger is faster for busy actors, smaller spreads latency more evenly.
  std::size_t messages_per_activation = 64;
  /// The timeout of a request made without one (troupe::request(to, msg), self.request<R>(to,
  /// msg)). troupe::infinite: such requests wait until answered or until the receiver dies.
  duration request_timeout = std::chrono::seconds(30);
  /// Most threads of the blocking pool (troupe::run_blocking); started on demand.
  std::size_t blocking_threads = 4;
  /// Level of the system's logger (see log.hpp). Applied to `logger` too when one is given.
  troupe::log_level log_level = troupe::log_level::warn;
  /// The spdlog logger troupe writes to; empty: a logger named "troupe" writing to stderr.
  /// (spdlog is only forward-declared here: include <spdlog/logger.h> to make one.)
  std::shared_ptr<spdlog::logger> logger = {};
  /// Replaces the work-stealing pool (for tests: a deterministic scheduler). Called once by
  /// the actor_system constructor.
  std::function<std::unique_ptr<scheduler>(actor_system&)> scheduler_factory = {};
  /// Replaces the timer thread (for tests: troupe::testing::virtual_clock).
  std::function<std::unique_ptr<timer_service>(actor_system&)> timer_factory = {};
  /// Tracing (see trace.hpp): off unless `trace.path` or the environment variable TROUPE_TRACE
  /// names a file.
  trace_config trace = {};
  /// The inspector (see inspect.hpp, docs/inspector.md): a live web view of this system and
  /// Prometheus metrics, off unless `inspect.listen` or the environment variable
  /// TROUPE_INSPECT gives an address.
  inspect_config inspect = {};
};

}  // namespace troupe
