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
};

}  // namespace troupe::detail
