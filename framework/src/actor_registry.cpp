#include "actor_registry.hpp"

#include <troupe/detail/system_access.hpp>

#include <vector>

namespace troupe::detail {

using access = system_access;

bool actor_registry::add(actor_base& a) noexcept {
  access::weak_ref(a);
  auto& sh = shard_of(a);
  {
    std::lock_guard lock(sh.m);
    access::prev(a) = nullptr;
    access::next(a) = sh.head;
    if (sh.head) access::prev(*sh.head) = &a;
    sh.head = &a;
    size_.fetch_add(1, std::memory_order_acq_rel);
  }
  // Read after the insertion: shutdown_all sets the flag before it walks the shards, so an
  // actor either is seen by that walk or sees the flag here (and is stopped by its spawner).
  return !shutting_down_.load(std::memory_order_seq_cst);
}

void actor_registry::remove(actor_base& a) noexcept {
  auto& sh = shard_of(a);
  bool last;
  {
    std::lock_guard lock(sh.m);
    if (access::prev(a))
      access::next(*access::prev(a)) = access::next(a);
    else
      sh.head = access::next(a);
    if (access::next(a)) access::prev(*access::next(a)) = access::prev(a);
    access::prev(a) = access::next(a) = nullptr;
    last = size_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }
  if (last) {
    std::lock_guard lock(empty_m_);
    empty_cv_.notify_all();
  }
  access::weak_release(a);
}

void actor_registry::shutdown_all(scheduler& sched) noexcept {
  shutting_down_.store(true, std::memory_order_seq_cst);
  std::vector<actor_base*> targets;
  targets.reserve(size());
  for (auto& sh : shards_) {
    std::lock_guard lock(sh.m);
    for (actor_base* a = sh.head; a; a = access::next(*a)) {
      access::weak_ref(*a);  // keep it addressable after the lock is released
      targets.push_back(a);
    }
  }
  for (actor_base* a : targets) {
    access::enqueue(*a, new envelope(envelope_kind::shutdown));
    access::weak_release(*a);
  }
  await_empty(sched);
}

void actor_registry::await_empty(scheduler& sched) noexcept {
  sched.run_during_shutdown();
  std::unique_lock lock(empty_m_);
  empty_cv_.wait(lock, [this] { return size() == 0; });
}

}  // namespace troupe::detail
