// system_access: the runtime's private door into actor_base (registry links, start-up).
#pragma once

#include <troupe/actor_base.hpp>

namespace troupe::detail {

class system_access {
 public:
  static actor_base*& prev(actor_base& a) noexcept { return a.reg_prev_; }
  static actor_base*& next(actor_base& a) noexcept { return a.reg_next_; }
  /// Runs make_behavior on the calling thread. Throws what make_behavior throws, after
  /// terminating the actor.
  static void initialize(actor_base& a) { a.initialize(); }
  /// For an actor spawned on a system that is shutting down or shut down: terminates it at
  /// once, unstarted (no make_behavior, no hooks), so that everything sent to it bounces.
  static void refuse_start(actor_base& a) noexcept { a.refuse_start(); }
};

}  // namespace troupe::detail
