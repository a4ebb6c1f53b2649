#include "timer_queue.hpp"

namespace troupe::detail {

void thread_timer_service::start() {
  thread_ = std::thread([this] { run(); });
}

void thread_timer_service::stop() noexcept {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (;;) {
    timer_node* n;
    {
      std::lock_guard lock(m_);
      if (heap_.empty()) break;
      n = &heap_.pop_front();
    }
    timer_heap::fire(*n, true);
  }
}

void thread_timer_service::arm(timer_node& node, time_point deadline) {
  timer_heap::claim(sys_, node, deadline);
  bool wake = false;
  bool stopped = false;
  {
    std::lock_guard lock(m_);
    stopped = stopping_;
    if (!stopped) {
      timer_queue_access::deadline(node) = deadline;
      wake = heap_.push(node);  // a new earliest deadline: the thread must re-plan
    }
  }
  if (stopped)
    timer_heap::fire(node, true);
  else if (wake)
    cv_.notify_one();
}

void thread_timer_service::cancel(timer_node& node) noexcept {
  {
    std::lock_guard lock(m_);
    if (!heap_.remove(node)) return;  // fired or being fired
  }
  timer_heap::release_cancelled(node);
}

std::size_t thread_timer_service::pending() const {
  std::lock_guard lock(m_);
  return heap_.size();
}

void thread_timer_service::run() {
  std::unique_lock lock(m_);
  while (!stopping_) {
    if (heap_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto next = heap_.front_deadline();
    if (clock::now() < next) {
      cv_.wait_until(lock, next);
      continue;
    }
    timer_node& n = heap_.pop_front();
    lock.unlock();
    timer_heap::fire(n, false);
    lock.lock();
  }
}

}  // namespace troupe::detail
