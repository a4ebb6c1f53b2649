#include "timer_queue.hpp"

#include <troupe/actor_system.hpp>

namespace troupe::detail {

// The one place that reads timer_node's private fields.
class timer_queue_access {
 public:
  static time_point& deadline(timer_node& n) { return n.deadline_; }
  static std::size_t& index(timer_node& n) { return n.heap_index_; }
  static std::atomic<actor_system*>& system(timer_node& n) { return n.system_; }
  static const ref_counted* owner(timer_node& n) { return n.owner_; }
};
using access = timer_queue_access;

timer_queue::timer_queue(actor_system& sys) : sys_(sys) {}

timer_queue::~timer_queue() { stop(); }

void timer_queue::start() {
  thread_ = std::thread([this] { run(); });
}

void timer_queue::stop() noexcept {
  {
    std::lock_guard lock(m_);
    if (stopping_ && !thread_.joinable() && heap_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (;;) {
    timer_node* n;
    {
      std::lock_guard lock(m_);
      if (heap_.empty()) break;
      n = pop_front_locked();
    }
    fire(n, true);
  }
}

void timer_queue::arm(timer_node& node, time_point deadline) {
  access::owner(node)->add_ref();
  bool wake = false;
  bool stopped = false;
  {
    std::lock_guard lock(m_);
    stopped = stopping_;
    if (!stopped) {
      access::deadline(node) = deadline;
      access::system(node).store(&sys_, std::memory_order_release);
      push_heap_locked(&node);
      wake = access::index(node) == 0;  // new earliest deadline: the thread must re-plan
    }
  }
  if (stopped)
    fire(&node, true);
  else if (wake)
    cv_.notify_one();
}

void timer_queue::cancel(timer_node& node) noexcept {
  {
    std::lock_guard lock(m_);
    if (access::index(node) == timer_node::not_queued) return;  // fired or being fired
    remove_locked(&node);
    access::system(node).store(nullptr, std::memory_order_release);
  }
  access::owner(node)->release();
}

std::size_t timer_queue::pending() const {
  std::lock_guard lock(m_);
  return heap_.size();
}

void timer_queue::run() {
  std::unique_lock lock(m_);
  while (!stopping_) {
    if (heap_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto next = access::deadline(*heap_.front());
    if (clock::now() < next) {
      cv_.wait_until(lock, next);
      continue;
    }
    timer_node* n = pop_front_locked();
    lock.unlock();
    fire(n, false);
    lock.lock();
  }
}

void timer_queue::fire(timer_node* n, bool cancelled) noexcept {
  access::system(*n).store(nullptr, std::memory_order_release);
  const ref_counted* owner = access::owner(*n);
  n->on_timer(cancelled);
  owner->release();
}

void timer_queue::push_heap_locked(timer_node* n) {
  heap_.push_back(n);
  access::index(*n) = heap_.size() - 1;
  sift_up(heap_.size() - 1);
}

timer_node* timer_queue::pop_front_locked() {
  timer_node* n = heap_.front();
  remove_locked(n);
  return n;
}

void timer_queue::remove_locked(timer_node* n) {
  std::size_t i = access::index(*n);
  access::index(*n) = timer_node::not_queued;
  timer_node* last = heap_.back();
  heap_.pop_back();
  if (last == n) return;
  place(i, last);
  sift_up(i);
  sift_down(access::index(*last));
}

void timer_queue::place(std::size_t i, timer_node* n) {
  heap_[i] = n;
  access::index(*n) = i;
}

void timer_queue::sift_up(std::size_t i) {
  timer_node* n = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!(access::deadline(*n) < access::deadline(*heap_[parent]))) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void timer_queue::sift_down(std::size_t i) {
  timer_node* n = heap_[i];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && access::deadline(*heap_[child + 1]) < access::deadline(*heap_[child])) ++child;
    if (!(access::deadline(*heap_[child]) < access::deadline(*n))) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, n);
}

void arm_timer(actor_system& sys, timer_node& node, duration after) {
  if (after == infinite) return;
  auto now = clock::now();
  time_point deadline = after >= time_point::max() - now ? time_point::max() : now + after;
  sys.timers().arm(node, deadline);
}

void cancel_timer(timer_node& node) noexcept {
  if (actor_system* sys = timer_queue_access::system(node).load(std::memory_order_acquire))
    sys->timers().cancel(node);
}

}  // namespace troupe::detail
