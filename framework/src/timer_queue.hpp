// timer_queue: the actor system's timers: one thread, one binary min-heap by deadline.
//
// Shutdown protocol (stop()):
//   1. set stopping_ under the lock and wake the thread;
//   2. the thread exits its loop; stop() joins it;
//   3. stop() then drains the heap, firing every node with cancelled == true, so that whatever
//      waits on a timer (a request timeout, a delay) completes with an error instead of never.
// Arming after stop() fires the node (cancelled) at once.
#pragma once

#include <troupe/detail/timer.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace troupe::detail {

class timer_queue {
 public:
  explicit timer_queue(actor_system& sys);
  ~timer_queue();

  void start();
  void stop() noexcept;

  void arm(timer_node& node, time_point deadline);
  void cancel(timer_node& node) noexcept;
  std::size_t pending() const;

 private:
  void run();
  void push_heap_locked(timer_node* n);
  timer_node* pop_front_locked();
  void remove_locked(timer_node* n);
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void place(std::size_t i, timer_node* n);
  static void fire(timer_node* n, bool cancelled) noexcept;

  actor_system& sys_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<timer_node*> heap_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace troupe::detail
