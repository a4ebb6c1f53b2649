// work_stealing_scheduler: the production scheduler, a fixed pool of workers.
//
// Each worker owns a FIFO run queue and a one-entry LIFO slot. An actor made ready by the actor
// a worker is running goes into that worker's LIFO slot and runs next, on the same core, with
// no wake-up of anyone (the message it was just sent is still in cache): ping-pong and ring
// hops stay on one worker and cost no syscall. An actor displaced from the LIFO slot, one that
// used up its message budget, or one made ready outside any worker goes to a queue, and a
// sleeping worker (if any) is woken to take it. Idle workers steal from the others' queues.
// To keep the LIFO slot from starving the queue, a worker runs at most `max_lifo_streak` LIFO
// hand-offs in a row while its queue holds work.
//
// Parking (no polling): a worker that finds no work takes the park lock, registers as a
// sleeper (an RMW on sleepers_), re-checks every queue under that lock, and only then waits on
// the condition variable. A producer pushes, then reads sleepers_ with an RMW, and if it sees a
// sleeper, takes the park lock and notifies one. The two RMWs are ordered in sleepers_'s
// modification order, so either the sleeper's re-check sees the push, or the producer sees the
// sleeper: no lost wake-up, and no timed wake-ups when the system is idle.
//
// Shutdown protocol (stop()):
//   1. set stopping_ under the park lock and wake every worker;
//   2. a worker exits once stopping_ is set and it finds no work (it drains first);
//   3. stop() joins the workers, then runs whatever was scheduled after they exited.
#pragma once

#include <troupe/scheduler.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace troupe::detail {

class work_stealing_scheduler final : public scheduler {
 public:
  work_stealing_scheduler(std::size_t workers, std::size_t messages_per_activation);
  ~work_stealing_scheduler() override;

  void start() override;
  void schedule(resumable* r) noexcept override;
  void stop() noexcept override;
  std::size_t worker_count() const noexcept override { return workers_.size(); }

 private:
  static constexpr unsigned max_lifo_streak = 64;
  // Without this a worker whose local queue never empties (an actor that keeps sending to
  // itself) would never serve work injected from outside.
  static constexpr unsigned global_check_interval = 31;

  struct worker {
    std::size_t index = 0;
    resumable* lifo = nullptr;
    unsigned lifo_streak = 0;
    unsigned ticks = 0;  // jobs taken; every global_check_interval-th looks at the global queue first
    std::mutex m;
    std::deque<resumable*> queue;               // guarded by m
    std::atomic<std::size_t> queued{0};         // queue.size(), readable without m (a hint)
    std::thread thread;
  };

  void run(worker& w) noexcept;
  resumable* next_job(worker& w) noexcept;
  resumable* pop_front(worker& w) noexcept;
  resumable* pop_global() noexcept;
  resumable* steal(worker& thief) noexcept;
  bool any_work() noexcept;
  bool park(worker& w) noexcept;
  void push_local(worker& w, resumable* r) noexcept;
  void notify_one() noexcept;
  void execute(worker* w, resumable* r) noexcept;

  std::size_t budget_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::mutex global_m_;
  std::deque<resumable*> global_;
  std::mutex park_m_;
  std::condition_variable park_cv_;
  std::atomic<std::size_t> sleepers_{0};
  bool stopping_ = false;  // guarded by park_m_
  std::atomic<bool> stopped_{false};
};

}  // namespace troupe::detail
