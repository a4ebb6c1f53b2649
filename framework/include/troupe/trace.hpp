// Tracing: what actors do, recorded to a file that troupe-trace reads (docs/tracing.md).
//
//   troupe::actor_system_config cfg;
//   cfg.trace.path = "run.trace";            // or run with TROUPE_TRACE=run.trace
//   troupe::actor_system sys{cfg};
//   ...                                      // the file is complete when the system shuts down
//
//   $ troupe-trace summary run.trace         # per actor and message type: counts, latencies
//   $ troupe-trace chrome run.trace -o run.json   # open in ui.perfetto.dev
//
// What is recorded: actors spawned (type and given name, see actor_base::set_name), every
// message run (sender, receiver, type, when it was sent, how long it waited in the mailbox and
// how long its handler ran, the mailbox depth), continuations and coroutine resumptions,
// coroutine suspensions, replies and timeouts of requests, system signals (link, monitor,
// exit, down), exits with their reason, dead letters, and delays and delayed sends (armed,
// fired). Every message carries a causal context, the run that sent it and the chain (trace)
// that run belongs to, through requests, continuations, coroutines, delegation, response
// promises and timers, so that troupe-trace can follow one request through the system.
//
// Cost. Off (the default), every hook is one load of a process-wide counter and a branch. On,
// each thread writes fixed-size records into its own ring buffer, with no lock and no
// allocation; a writer thread drains the buffers to the file every `flush_interval` (and when
// one is half full), so a crashed process leaves a readable prefix. When a buffer is full its
// thread drops the record and counts it; the count is in the file and in troupe-trace summary.
// The build option TROUPE_TRACE_HOOKS=OFF compiles the hooks out entirely.
#pragma once

#include <troupe/time.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace troupe {

struct trace_config {
  /// The file to write; empty (the default) turns tracing off, unless the environment variable
  /// TROUPE_TRACE names a file. "{pid}" and "{node}" in the path are replaced by the process id
  /// and the system's node id; when a second system of the same process would write to a file
  /// another one writes, "-<node>" is appended to its name.
  std::string path;
  /// Sampling. Empty lists (the default) record everything. Otherwise only chains started by a
  /// message of one of these types, or sent by an actor of one of these names (set_name) or
  /// types, are recorded: a message sent from outside any recorded chain starts a chain when
  /// it matches, and everything caused by it (down the request tree, through replies,
  /// continuations and timers) is recorded with it. Lifecycle events (spawn, exit, dead
  /// letters) are always recorded. A name matches in full ("bank::account") or by its last
  /// component ("account").
  std::vector<std::string> sample_types;
  std::vector<std::string> sample_actors;
  /// Bytes of each thread's ring buffer (rounded up to a power of two, at least 64 KiB).
  std::size_t buffer_bytes = std::size_t{8} << 20;
  /// How often the writer thread drains the buffers to the file.
  duration flush_interval = std::chrono::milliseconds(100);
};

/// What a recorder did so far (actor_system::trace_stats()).
struct trace_stats {
  bool enabled = false;
  std::string path;              // the file being written
  std::size_t dropped = 0;       // records dropped because a thread's buffer was full
  std::size_t bytes = 0;         // bytes written to the file
};

}  // namespace troupe
