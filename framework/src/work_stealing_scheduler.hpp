// work_stealing_scheduler: the production scheduler, a fixed pool of workers.
//
// Each worker owns a FIFO run queue and a one-entry LIFO slot. An actor made ready by the actor
// a worker is running goes into that worker's LIFO slot and runs next, on the same core, with
// no wake-up of anyone (the message it was just sent is still in cache): ping-pong and ring
// hops stay on one worker and cost no syscall. An actor displaced from the LIFO slot, one that
// used up its message budget, or one made ready outside any worker goes to a queue (its
// worker's, or the global one), and a sleeping worker (if any) is woken to take it. Idle
// workers steal from the others' queues.
//
// Fairness: which job a worker runs next (next_job), in order of precedence:
//   1. Every `global_check_interval`-th job (61, as Go does) it takes from the global queue
//      first, if that holds anything: actors woken from outside the workers (the application's
//      threads, the timer thread) are never starved by work the workers hand to each other.
//      Every job counts, LIFO hand-offs included.
//   2. The LIFO slot, unless `max_lifo_streak` (32) LIFO jobs ran in a row while other work is
//      visible (this worker's queue or the global queue); then the LIFO actor goes to the back
//      of the queue (as tokio bounds its LIFO slot), so a ping-pong pair cannot starve others.
//   3. Its own queue, then the global queue, then stealing from the other workers' queues.
//   Within a job an actor runs at most `messages_per_activation` messages (its budget).
//
// Stalls: a handler that runs long (say 300 ms) would leave the actor in its worker's LIFO slot
// waiting, while other workers sleep. So the LIFO slot can be stolen, but only from a stalled
// worker: while some worker is busy and others are parked, one parked worker (the watcher)
// sleeps with a timeout of `stall_check` (1 ms) instead of indefinitely; when it wakes and finds
// a worker that has started no job since the last check and whose LIFO slot is full, it takes
// that actor and runs it. The slot is an atomic pointer: the owner fills an empty slot with a
// plain store (a thief only ever empties it) and empties it with an exchange, so a hand-off
// costs one atomic read-modify-write. A worker that leaves the parked set while no one watches
// wakes a sleeper to take that role. When every worker is parked nobody watches: an idle system
// has no timed wake-ups.
//
// Parking (no polling): a worker that finds no work takes the park lock, registers as a
// sleeper (an RMW on sleepers_), re-checks every queue under that lock, and only then waits on
// the condition variable. A producer pushes, then reads sleepers_ with an RMW, and if it sees a
// sleeper, takes the park lock and notifies one. The two RMWs are ordered in sleepers_'s
// modification order, so either the sleeper's re-check sees the push, or the producer sees the
// sleeper: no lost wake-up.
//
// Shutdown protocol (stop()):
//   1. set stopping_ under the park lock and wake every worker;
//   2. a worker exits once stopping_ is set and it finds no work (it drains first);
//   3. stop() joins the workers, then runs whatever was scheduled after they exited.
#pragma once

#include <troupe/scheduler.hpp>

#include <atomic>
#include <chrono>
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
  static constexpr unsigned max_lifo_streak = 32;
  static constexpr unsigned global_check_interval = 61;
  static constexpr std::chrono::milliseconds stall_check{1};

  struct worker {
    std::size_t index = 0;
    std::atomic<resumable*> lifo{nullptr};  // filled only by the owner; emptied by owner or watcher
    unsigned lifo_streak = 0;
    unsigned ticks = 0;                      // jobs taken (owner only)
    std::atomic<std::uint64_t> jobs{0};      // jobs started, for the watcher
    std::uint64_t jobs_seen = 0;             // the watcher's last look (the watcher only)
    std::mutex m;
    std::deque<resumable*> queue;            // guarded by m
    std::atomic<std::size_t> queued{0};      // queue.size(), readable without m (a hint)
    std::thread thread;
  };

  void run(worker& w) noexcept;
  resumable* next_job(worker& w) noexcept;
  resumable* take_lifo(worker& w) noexcept;
  resumable* pop_front(worker& w) noexcept;
  resumable* pop_global() noexcept;
  resumable* steal(worker& thief) noexcept;
  resumable* steal_stalled_lifo(worker& thief) noexcept;
  bool any_work() noexcept;
  bool park(worker& w, resumable*& stolen) noexcept;
  void push_local(worker& w, resumable* r) noexcept;
  void notify_one() noexcept;
  void execute(worker* w, resumable* r) noexcept;

  std::size_t budget_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::mutex global_m_;
  std::deque<resumable*> global_;
  std::atomic<std::size_t> global_size_{0};  // global_.size(), readable without global_m_ (a hint)
  std::mutex park_m_;
  std::condition_variable park_cv_;
  std::atomic<std::size_t> sleepers_{0};
  bool watching_ = false;  // a parked worker is the watcher (guarded by park_m_)
  bool stopping_ = false;  // guarded by park_m_
  std::atomic<bool> stopped_{false};
};

}  // namespace troupe::detail
