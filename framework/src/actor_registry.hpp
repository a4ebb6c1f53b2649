// actor_registry: the set of live local actors of one system, so that shutdown can reach all
// of them. An intrusive doubly-linked list under one mutex: add/remove are O(1) and allocate
// nothing; the registry holds a weak reference on each member.
#pragma once

#include <troupe/actor_base.hpp>

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace troupe::detail {

class actor_registry {
 public:
  /// Adds `a`; returns false if the system is shutting down (the caller then stops `a`).
  bool add(actor_base& a) noexcept;
  void remove(actor_base& a) noexcept;
  std::size_t size() const noexcept;

  /// Tells every actor (also those spawned meanwhile) to quit, lets `sched` run them if it
  /// has no threads of its own, and returns once none is left.
  void shutdown_all(scheduler& sched) noexcept;
  /// Returns once no actor is left, forcing none.
  void await_empty(scheduler& sched) noexcept;

 private:
  mutable std::mutex m_;
  std::condition_variable empty_cv_;
  actor_base* head_ = nullptr;
  std::size_t size_ = 0;
  bool shutting_down_ = false;
};

}  // namespace troupe::detail
