// The clock seam: every timer of an actor system (request timeouts, delays, delayed and
// periodic sends, idle timeouts) goes through its timer_service.
//
// Production uses a thread that sleeps until the earliest deadline of a binary min-heap (no
// polling, no thread per timer, O(log n) arm and cancel). Tests plug in
// troupe::testing::virtual_clock (actor_system_config::timer_factory), whose time moves only
// when the test advances it, so timeouts are deterministic and instant.
//
// Contract for implementations (all functions thread-safe):
//   * arm(node, deadline) queues the node; when `now()` reaches the deadline the service calls
//     node.on_timer(false) once, without holding its locks. arm takes a reference on the node's
//     owner and drops it after firing or a successful cancel.
//   * cancel(node) removes a queued node; a node already fired (or firing) is left alone.
//   * stop() fires every queued node with cancelled == true, so nothing waits forever; arming
//     after stop() fires the node (cancelled) at once.
#pragma once

#include <troupe/detail/timer.hpp>
#include <troupe/time.hpp>

#include <cstddef>

namespace troupe {

class timer_service {
 public:
  virtual ~timer_service() = default;
  virtual time_point now() const noexcept = 0;
  virtual void start() {}
  virtual void stop() noexcept = 0;
  virtual void arm(detail::timer_node& node, time_point deadline) = 0;
  virtual void cancel(detail::timer_node& node) noexcept = 0;
  /// Timers queued and not yet fired.
  virtual std::size_t pending() const = 0;
};

}  // namespace troupe
