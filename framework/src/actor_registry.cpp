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
    a.reg_prev_ = nullptr;
    a.reg_next_ = sh.head;
    if (sh.head) sh.head->reg_prev_ = &a;
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
    if (a.reg_prev_)
      a.reg_prev_->reg_next_ = a.reg_next_;
    else
      sh.head = a.reg_next_;
    if (a.reg_next_) a.reg_next_->reg_prev_ = a.reg_prev_;
    a.reg_prev_ = a.reg_next_ = nullptr;
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
    for (actor_base* a = sh.head; a; a = a->reg_next_) {
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
