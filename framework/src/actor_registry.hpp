// actor_registry: the set of live local actors of one system, so that shutdown can reach all
// of them. Sharded by actor id (spawn-heavy loads on several workers rarely meet on a lock);
// each shard is an intrusive doubly-linked list under its own mutex: add/remove are O(1) and
// allocate nothing. The registry holds a weak reference on each member.
#pragma once

#include <troupe/actor_base.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace troupe::detail {

class actor_registry {
 public:
  /// Adds `a`; returns false if the system is shutting down (the caller then stops `a`).
  bool add(actor_base& a) noexcept;
  void remove(actor_base& a) noexcept;
  std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }

  /// Tells every actor (also those spawned meanwhile) to quit, lets `sched` run them if it
  /// has no threads of its own, and returns once none is left.
  void shutdown_all(scheduler& sched) noexcept;
  /// Returns once no actor is left, forcing none.
  void await_empty(scheduler& sched) noexcept;

 private:
  struct shard {
    std::mutex m;
    actor_base* head = nullptr;
  };
  static constexpr std::size_t shard_count = 16;
  shard& shard_of(const actor_base& a) noexcept { return shards_[a.id() % shard_count]; }

  std::array<shard, shard_count> shards_;
  std::atomic<std::size_t> size_{0};
  std::atomic<bool> shutting_down_{false};
  std::mutex empty_m_;  // with empty_cv_: waiting for size_ to reach 0
  std::condition_variable empty_cv_;
};

}  // namespace troupe::detail
