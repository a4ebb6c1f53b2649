// thread_timer_service: production timers. One thread sleeps on a condition variable until the
// earliest deadline of the heap (or until a new earliest timer is armed); no polling.
//
// Shutdown protocol (stop()):
//   1. set stopping_ under the lock and wake the thread;
//   2. the thread exits its loop; stop() joins it;
//   3. stop() drains the heap, firing every node with cancelled == true, so that whatever
//      waits on a timer (a request timeout, a delay) completes with an error instead of never.
#pragma once

#include "timer_heap.hpp"

#include <troupe/timer_service.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace troupe::detail {

class thread_timer_service final : public timer_service {
 public:
  explicit thread_timer_service(actor_system& sys) : sys_(sys) {}
  ~thread_timer_service() override { stop(); }

  time_point now() const noexcept override { return clock::now(); }
  void start() override;
  void stop() noexcept override;
  void arm(timer_node& node, time_point deadline) override;
  void cancel(timer_node& node) noexcept override;
  std::size_t pending() const override;

 private:
  void run();

  actor_system& sys_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  timer_heap heap_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace troupe::detail
