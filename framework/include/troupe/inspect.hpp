// The inspector: a live view of a running actor system (docs/inspector.md).
//
//   troupe::actor_system_config cfg;
//   cfg.inspect.listen = "127.0.0.1:0";   // or run with TROUPE_INSPECT=127.0.0.1:0
//   troupe::actor_system sys{cfg};
//
// Off by default. When on, the system records what its actors do, as tracing does (its cost
// is tracing's: each thread writes records into a ring of its own, with no lock), and the
// inspector keeps a live model of it: actors with their mailbox depth, load and handler
// times, the supervision tree, who talks to whom, dead letters, and lints that point at bugs.
#pragma once

#include <troupe/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace troupe {

struct inspect_config {
  /// "HOST:PORT" to serve on (port 0: any free one); empty (the default) leaves the inspector
  /// off, unless the environment variable TROUPE_INSPECT gives an address.
  std::string listen;
  /// What every request must carry (`Authorization: Bearer TOKEN`, or `?token=TOKEN`); empty:
  /// a random one, printed in the log line that gives the inspector's address.
  std::string token;

  // Lints: what counts as a problem.
  /// A handler that ran longer than this blocked its worker.
  duration slow_handler = std::chrono::milliseconds(100);
  /// A mailbox deeper than this that grew at each of the last five lint ticks (one a second).
  std::uint32_t growing_mailbox = 100;
  /// A request answered after more than this fraction of its timeout.
  double slow_request = 0.5;
  /// Dead letters per second above this.
  double dead_letters_per_second = 10;
  /// This many failed children under one supervisor within `restart_window`.
  std::uint32_t restart_storm = 5;
  duration restart_window = std::chrono::seconds(10);
  /// An actor alive this long that has received messages but never sent, replied or exited.
  duration idle_leak = std::chrono::seconds(60);

  // Memory.
  /// Actors followed one by one (more are only counted, as `untracked`).
  std::size_t max_actors = 100'000;
  /// Exited actors kept in the view (the most recent).
  std::size_t keep_exited = 1'000;
  /// Runs each followed actor keeps for its detail view.
  std::size_t recent_runs = 16;
};

}  // namespace troupe
