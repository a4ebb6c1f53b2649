// timer_node: an entry in the actor system's timer service (see troupe/timer_service.hpp).
//
// A node is embedded in the object it times (a future's state, a delay), so arming allocates
// nothing. Protocol: arm_timer() takes a reference on `owner`; exactly one of "fires" (the
// service calls on_timer() and releases) or "cancel_timer() wins" (the canceller releases)
// happens. At shutdown every armed node fires with `cancelled == true`.
#pragma once

#include <troupe/detail/ref_counted.hpp>
#include <troupe/detail/trace_hooks.hpp>
#include <troupe/time.hpp>

#include <atomic>
#include <cstddef>

namespace troupe {
class actor_system;
}

namespace troupe::detail {

class timer_node {
 public:
  static constexpr std::size_t not_queued = static_cast<std::size_t>(-1);

  explicit timer_node(const ref_counted* owner) noexcept : owner_(owner) {}
  timer_node(const timer_node&) = delete;
  timer_node& operator=(const timer_node&) = delete;

  /// Called once, on the timer thread, without locks held. `cancelled` is true when the
  /// system is shutting down rather than the deadline having passed.
  virtual void on_timer(bool cancelled) noexcept = 0;

  /// The deadline it was last armed with (time_point::max() if never). Written by arming only.
  time_point armed_deadline() const noexcept { return deadline_; }

  /// True while queued; lets a canceller skip the service (and its lock) when already done.
  bool armed() const noexcept { return system_.load(std::memory_order_acquire) != nullptr; }

#if TROUPE_TRACE_HOOKS
  /// The causal context where it was armed, restored while it fires (tracing on only): what
  /// the timer completes or sends belongs to the chain that armed it. `cause` is the arming
  /// event's id. A request's timeout is `quiet`: it records no timer events of its own.
  std::uint64_t trace_trace = 0;
  std::uint64_t trace_cause = 0;
  bool trace_quiet = false;
#endif

 protected:
  virtual ~timer_node() = default;

 private:
  friend class timer_queue_access;
  const ref_counted* owner_;
  time_point deadline_ = time_point::max();
  std::size_t heap_index_ = not_queued;
  std::atomic<actor_system*> system_{nullptr};
};

/// Queues `node` to fire after `after` (ignored when `after` is troupe::infinite); returns the
/// deadline (time_point::max() for none).
time_point arm_timer(actor_system& sys, timer_node& node, duration after);
/// Removes `node` if still queued. Safe to call from any thread, any number of times.
void cancel_timer(timer_node& node) noexcept;

}  // namespace troupe::detail
