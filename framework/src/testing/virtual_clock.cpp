#include <troupe/testing/virtual_clock.hpp>

#include "../timer_heap.hpp"

namespace troupe::testing {

using detail::timer_heap;

struct virtual_clock::impl {
  timer_heap heap;
};

// Starts at an arbitrary, fixed point, so runs are reproducible.
virtual_clock::virtual_clock(actor_system& sys)
    : sys_(sys), impl_(new impl), now_(time_point() + std::chrono::hours(24)) {}

virtual_clock::~virtual_clock() {
  stop();
  delete impl_;
}

time_point virtual_clock::now() const noexcept {
  std::lock_guard lock(m_);
  return now_;
}

void virtual_clock::stop() noexcept {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  for (;;) {
    detail::timer_node* n;
    {
      std::lock_guard lock(m_);
      if (impl_->heap.empty()) break;
      n = &impl_->heap.pop_front();
    }
    timer_heap::fire(*n, true);
  }
}

void virtual_clock::arm(detail::timer_node& node, time_point deadline) {
  timer_heap::claim(sys_, node, deadline);
  bool stopped;
  {
    std::lock_guard lock(m_);
    stopped = stopping_;
    if (!stopped) {
      detail::timer_queue_access::deadline(node) = deadline < now_ ? now_ : deadline;
      impl_->heap.push(node);
    }
  }
  if (stopped) timer_heap::fire(node, true);
}

void virtual_clock::cancel(detail::timer_node& node) noexcept {
  {
    std::lock_guard lock(m_);
    if (!impl_->heap.remove(node)) return;
  }
  timer_heap::release_cancelled(node);
}

std::size_t virtual_clock::pending() const {
  std::lock_guard lock(m_);
  return impl_->heap.size();
}

std::size_t virtual_clock::advance(duration d) { return advance_to(now() + d); }

std::size_t virtual_clock::advance_to(time_point t) {
  std::size_t fired = 0;
  for (;;) {
    detail::timer_node* n;
    {
      std::lock_guard lock(m_);
      if (impl_->heap.empty() || impl_->heap.front_deadline() > t) {
        if (t > now_) now_ = t;
        return fired;
      }
      now_ = impl_->heap.front_deadline();
      n = &impl_->heap.pop_front();
    }
    timer_heap::fire(*n, false);
    ++fired;
  }
}

bool virtual_clock::fire_next() {
  auto next = next_deadline();
  if (!next) return false;
  advance_to(*next);
  return true;
}

std::optional<time_point> virtual_clock::next_deadline() const {
  std::lock_guard lock(m_);
  if (impl_->heap.empty()) return std::nullopt;
  return impl_->heap.front_deadline();
}

}  // namespace troupe::testing
