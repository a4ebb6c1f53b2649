#include "actor_registry.hpp"

#include "system_access.hpp"

#include <vector>

namespace troupe::detail {

using access = system_access;

bool actor_registry::add(actor_base& a) noexcept {
  a.weak_ref();
  std::lock_guard lock(m_);
  access::prev(a) = nullptr;
  access::next(a) = head_;
  if (head_) access::prev(*head_) = &a;
  head_ = &a;
  ++size_;
  return !shutting_down_;
}

void actor_registry::remove(actor_base& a) noexcept {
  {
    std::lock_guard lock(m_);
    if (access::prev(a))
      access::next(*access::prev(a)) = access::next(a);
    else
      head_ = access::next(a);
    if (access::next(a)) access::prev(*access::next(a)) = access::prev(a);
    access::prev(a) = access::next(a) = nullptr;
    if (--size_ == 0) empty_cv_.notify_all();
  }
  a.weak_release();
}

std::size_t actor_registry::size() const noexcept {
  std::lock_guard lock(m_);
  return size_;
}

void actor_registry::shutdown_all(scheduler& sched) noexcept {
  std::vector<actor_base*> targets;
  {
    std::lock_guard lock(m_);
    shutting_down_ = true;
    targets.reserve(size_);
    for (actor_base* a = head_; a; a = access::next(*a)) {
      a->weak_ref();  // keep it addressable after the lock is released
      targets.push_back(a);
    }
  }
  for (actor_base* a : targets) {
    a->enqueue(new envelope(envelope_kind::shutdown));
    a->weak_release();
  }
  sched.run_during_shutdown();
  std::unique_lock lock(m_);
  empty_cv_.wait(lock, [this] { return size_ == 0; });
}

}  // namespace troupe::detail

namespace troupe::detail {

void actor_registry::await_empty(scheduler& sched) noexcept {
  sched.run_during_shutdown();
  std::unique_lock lock(m_);
  empty_cv_.wait(lock, [this] { return size_ == 0; });
}

}  // namespace troupe::detail
