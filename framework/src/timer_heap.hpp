// timer_heap: the binary min-heap of timer nodes by deadline that both timer services share.
// Not synchronised: each service guards it with its own lock. Each node knows its index, so
// removal (cancel) is O(log n) and needs no search.
#pragma once

#include <troupe/detail/timer.hpp>

#include <atomic>
#include <vector>

namespace troupe::detail {

// The one place that reads timer_node's private fields.
class timer_queue_access {
 public:
  static time_point& deadline(timer_node& n) noexcept { return n.deadline_; }
  static std::size_t& index(timer_node& n) noexcept { return n.heap_index_; }
  static std::atomic<actor_system*>& system(timer_node& n) noexcept { return n.system_; }
  static const ref_counted* owner(timer_node& n) noexcept { return n.owner_; }
};

class timer_heap {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  timer_node& front() const noexcept { return *heap_.front(); }
  time_point front_deadline() const noexcept { return timer_queue_access::deadline(*heap_.front()); }

  /// Queues `n` (deadline already set); returns true if it became the earliest.
  bool push(timer_node& n);
  timer_node& pop_front() noexcept;
  /// Removes `n` if queued; returns whether it was.
  bool remove(timer_node& n) noexcept;

  /// Marks a node as handed to the service, taking the owner's reference.
  static void claim(actor_system& sys, timer_node& n, time_point deadline) noexcept;
  /// Fires a node taken out of the heap, then drops the reference claim() took.
  static void fire(timer_node& n, bool cancelled) noexcept;
  /// Drops the reference of a node removed by cancel.
  static void release_cancelled(timer_node& n) noexcept;

 private:
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void place(std::size_t i, timer_node* n) noexcept;
  std::vector<timer_node*> heap_;
};

}  // namespace troupe::detail
